// Peers that differ, deterministically from their peer id (so a receiver can re-derive a sender's mix
// and check its task refs): a sampling temperature spread around the base, and an emphasis on a few
// families. Evaluation always stays on the full mix; the emphasis only shapes what a peer trains on.
import { hashParts, Rng } from './rng.ts';
import type { TaskMix } from './tasks/index.ts';

/** base × (1 ± spread), uniform in between, from the peer id */
export function peerTemperature(peerId: string, base: number, spread: number): number {
  if (!(base > 0) || !(spread >= 0 && spread < 1)) throw new RangeError(`temperature base must be > 0 and spread in [0, 1), got ${base}, ${spread}`);
  const u = new Rng(hashParts('tabswarm/peer-temperature', peerId)).next() * 2 - 1;
  return base * (1 + spread * u);
}

/** the mix with `count` families (chosen from the peer id) weighted `factor` times more */
export function emphasisedMix(mix: readonly TaskMix[], peerId: string, factor: number, count: number): TaskMix[] {
  if (!(factor > 0) || !Number.isInteger(count) || count < 0) throw new RangeError(`emphasis factor must be > 0 and count a non-negative integer, got ${factor}, ${count}`);
  const families = [...new Set(mix.map((m) => m.family))];
  const chosen = new Set(new Rng(hashParts('tabswarm/peer-emphasis', peerId)).sample(families, count));
  return mix.map((m) => (chosen.has(m.family) ? { ...m, weight: (m.weight ?? 1) * factor } : { ...m }));
}

/**
 * A swarm rule by which peers differ in what they draw: every peer's mix is emphasisedMix(mix, its id,
 * factor, count). A rule, not a per-peer setting, so a receiver re-derives any sender's mix from the
 * sender's id and checks its task refs against that (sapo.ts RoundExpectation.mixFor); checked against the
 * receiver's own emphasised mix instead, most of an honest sender's refs would be refused as off-seed.
 */
export interface PeerEmphasis {
  /** weight multiplier on the chosen families */
  factor: number;
  /** how many families each peer emphasises */
  count: number;
}

/** the mix a peer draws from under the rule (the swarm's mix itself when there is none) */
export function peerMix(mix: readonly TaskMix[], peerId: string, emphasis?: PeerEmphasis): readonly TaskMix[] {
  return emphasis ? emphasisedMix(mix, peerId, emphasis.factor, emphasis.count) : mix;
}
