// Which tasks a peer answers in a round: B refs drawn from the swarm's mix with seed(swarmId, round, peerId).
// A module of its own (not in runner.ts) because the sampler, the receivers' SAPO check and the scripted
// lab traffic all derive the same refs, and sapo.ts must import it without importing the runner.
import { mixLevels, trainingTask } from './heldout.ts';
import { roundSeed, Rng } from './rng.ts';
import type { TaskMix } from './tasks/index.ts';
import type { TaskRef } from './transport.ts';

export class TaskMixError extends Error {
  override name = 'TaskMixError';
}

/**
 * B task refs drawn from the mix with the round's seed: identical for anyone who re-derives them.
 * Content reserved for evaluation (heldout.ts) is re-drawn from the same stream, so receivers re-derive
 * the re-draws too. `levels` (family -> level, from a curriculum) picks each family's difficulty within its
 * entry's [difficulty, maxDifficulty]; without it every entry draws at its base difficulty.
 */
export function roundTaskRefs(
  swarmId: string, round: number, peerId: string, mix: readonly TaskMix[], count: number,
  levels?: Readonly<Record<string, number>>,
): TaskRef[] {
  if (mix.length === 0) throw new TaskMixError('task mix is empty');
  const rng = new Rng(roundSeed(swarmId, round, peerId));
  const total = mix.reduce((s, m) => s + (m.weight ?? 1), 0);
  const refs: TaskRef[] = [];
  for (let i = 0; i < count; i++) {
    let x = rng.next() * total;
    const m = mix.find((entry) => (x -= entry.weight ?? 1) < 0) ?? mix[mix.length - 1];
    const range = mixLevels(m);
    const wanted = levels?.[m.family] ?? m.difficulty;
    const difficulty = Math.min(range[range.length - 1], Math.max(range[0], Math.round(wanted)));
    const { seed } = trainingTask(m.family, difficulty, () => rng.nextU32());
    refs.push({ family: m.family, difficulty, seed });
  }
  return refs;
}

/**
 * The curriculum levels a sender's refs claim: for each family whose mix entry has a level range, the first
 * in-range level it is claimed at. A sender may choose its level (a curriculum), never its questions: family
 * and seed still come from the round seed, so roundTaskRefs at these levels is what it must have sent.
 */
export function claimedLevels(refs: readonly (TaskRef | undefined)[], mix: readonly TaskMix[]): Record<string, number> {
  const levels: Record<string, number> = {};
  for (const ref of refs) {
    if (typeof ref?.family !== 'string' || Object.hasOwn(levels, ref.family)) continue;
    const entry = mix.find((m) => m.family === ref.family && (m.maxDifficulty ?? m.difficulty) > m.difficulty && mixLevels(m).includes(ref.difficulty));
    if (entry) levels[ref.family] = ref.difficulty;
  }
  return levels;
}

/**
 * The task keys a sender was assigned for a round, at the levels its own refs claim (claimedLevels): the set
 * every receiver-side walk over a batch (SAPO intake, the gossip validator, the reward re-score) checks
 * each group's task against. A sender picks its level per ranged family, never its questions.
 */
export function assignedTaskKeys(
  swarmId: string, round: number, peerId: string, mix: readonly TaskMix[], count: number, refs: readonly (TaskRef | undefined)[],
): Set<string> {
  return new Set(roundTaskRefs(swarmId, round, peerId, mix, count, claimedLevels(refs, mix)).map(taskRefKey));
}

/**
 * What a receiver checks of a sender's whole batch of refs: exactly roundTaskRefs for (swarm, round, sender,
 * mix, count) at the levels the refs themselves claim, one level per family, each within the family's mix
 * range. null when they are, else the reason.
 */
export function checkRoundTaskRefs(refs: readonly TaskRef[], swarmId: string, round: number, peerId: string, mix: readonly TaskMix[], count: number): string | null {
  if (refs.length !== count) return `expected ${count} task refs, got ${refs.length}`;
  const levels: Record<string, number> = {};
  for (const ref of refs) {
    const entries = mix.filter((m) => m.family === ref.family);
    if (entries.length === 0) return `family ${String(ref.family).slice(0, 64)} is not in the mix`;
    if (!entries.some((m) => mixLevels(m).includes(ref.difficulty))) return `${entries[0].family} level ${String(ref.difficulty).slice(0, 16)} is outside the mix's levels`;
    // only a ranged (curriculum) entry lets the sender choose a level; a fixed one always draws its own
    if (!entries.some((m) => (m.maxDifficulty ?? m.difficulty) > m.difficulty)) continue;
    if ((levels[ref.family] ??= ref.difficulty) !== ref.difficulty) return `${entries[0].family} is claimed at two levels`;
  }
  const expected = roundTaskRefs(swarmId, round, peerId, mix, count, levels);
  const i = expected.findIndex((e, k) => e.family !== refs[k].family || e.seed !== refs[k].seed || e.difficulty !== refs[k].difficulty);
  return i < 0 ? null : `task ref ${i} is not the one the round seed draws`;
}

/** one string per ref, for set membership and de-duplication */
export function taskRefKey(ref: TaskRef): string {
  return `${ref.family}/${ref.difficulty}/${ref.seed}`;
}
