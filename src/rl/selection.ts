// Which external groups a peer prefers (SAPO's mechanism made explicit): an external group is worth most
// on a family where this peer's own groups carried no signal this round (all right or all wrong, so its
// own GRPO step learns nothing there). Such groups get `boost` times the weight of the others; the
// experiment's preference arm measures this against SAPO's uniform draw.
import { hasAdvantage } from './grpo.ts';
import type { RolloutGroup } from './sapo.ts';

export const DEFAULT_PREFERENCE_BOOST = 4;

/** families in which none of this peer's local groups had advantage (families it did not sample count too) */
export function familiesWithSignal(local: readonly RolloutGroup[]): Set<string> {
  return new Set(local.filter((g) => hasAdvantage(g.completions.map((c) => c.reward))).map((g) => g.task.family));
}

export function zeroSignalPreference(local: readonly RolloutGroup[], boost = DEFAULT_PREFERENCE_BOOST): (g: RolloutGroup) => number {
  if (!(boost >= 0) || !Number.isFinite(boost)) throw new RangeError(`preference boost must be a finite non-negative number, got ${boost}`);
  const withSignal = familiesWithSignal(local);
  return (g) => (withSignal.has(g.task.family) ? 1 : boost);
}
