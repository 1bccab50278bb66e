// A per-family difficulty curriculum, like RL Swarm's proposer: each family's level moves so that this
// peer's sampled success stays low but non-zero — the regime where many local groups are all-wrong and a
// peer's external groups are what carries signal. The level drawn is carried in each TaskRef and lies in
// the mix entry's [difficulty, maxDifficulty]; receivers re-derive the task at that level and check the
// rest against the round seed (runner.checkRoundTaskRefs), so the level is the only thing a sender picks.
import { mixLevels } from './heldout.ts';
import type { RolloutGroup } from './sapo.ts';
import type { TaskMix } from './tasks/index.ts';

export interface CurriculumConfig {
  /** groups of one family averaged before a level may change */
  window: number;
  /** success above this → one level harder */
  raiseAbove: number;
  /** success below this → one level easier */
  lowerBelow: number;
}

export const CURRICULUM_DEFAULTS: CurriculumConfig = { window: 6, raiseAbove: 0.45, lowerBelow: 0.04 };

export class Curriculum {
  private readonly range = new Map<string, { lo: number; hi: number }>();
  private readonly level = new Map<string, number>();
  private readonly recent = new Map<string, number[]>();

  constructor(mix: readonly TaskMix[], readonly config: CurriculumConfig = CURRICULUM_DEFAULTS) {
    for (const m of mix) {
      const levels = mixLevels(m);
      const r = this.range.get(m.family);
      const lo = Math.min(r?.lo ?? Infinity, levels[0]);
      const hi = Math.max(r?.hi ?? -Infinity, levels[levels.length - 1]);
      this.range.set(m.family, { lo, hi });
      this.level.set(m.family, lo);
    }
  }

  /** family → level, for roundTaskRefs */
  levels(): Record<string, number> {
    return Object.fromEntries(this.level);
  }

  /** feed this round's local groups (their verifier-correct rate; the format term does not count) */
  update(groups: readonly RolloutGroup[]): void {
    for (const g of groups) {
      const family = g.task.family;
      const range = this.range.get(family);
      if (!range || g.task.difficulty !== this.level.get(family) || g.completions.length === 0) continue;
      const rates = this.recent.get(family) ?? [];
      rates.push(g.completions.filter((c) => c.correct).length / g.completions.length);
      if (rates.length > this.config.window) rates.shift();
      this.recent.set(family, rates);
      if (rates.length < this.config.window) continue;
      const success = rates.reduce((s, x) => s + x, 0) / rates.length;
      const current = this.level.get(family)!;
      const next = success > this.config.raiseAbove ? current + 1 : success < this.config.lowerBelow ? current - 1 : current;
      if (next !== current && next >= range.lo && next <= range.hi) {
        this.level.set(family, next);
        this.recent.set(family, []);
      }
    }
  }
}
