// SAPO mixing: which groups one GRPO step trains on. I local groups + J external groups, where the
// external ones come from peers' published rollouts: each task is re-derived from its TaskRef (never the
// sender's answer key), each completion re-scored here (never the sender's claimed reward), malformed
// ones dropped, groups without advantage dropped, and the rest sampled uniformly.
import { groupAdvantages, hasAdvantage } from './grpo.ts';
import type { Rng } from './rng.ts';
import { checkTaskRef, generateTask, scoreCompletion, type Score, type Task } from './tasks/index.ts';
import type { RolloutBatch, TaskRef } from './transport.ts';

export interface ScoredCompletion extends Score {
  text: string;
  /** sampled tokens (stop token included) for local completions; external ones are re-encoded later */
  tokens?: number[];
  /** sampler logprobs, only for local completions */
  oldLogprobs?: number[];
}

export interface RolloutGroup {
  source: 'local' | 'external';
  /** who sampled it */
  peerId: string;
  ref: TaskRef;
  task: Task;
  completions: ScoredCompletion[];
  advantages: number[];
}

export interface ExternalLimits {
  /** completions longer than this (characters) are malformed */
  maxCompletionChars: number;
  /** a group needs at least this many valid completions to have a meaningful advantage */
  minCompletions: number;
  /** at most this many completions per group are read */
  maxCompletions: number;
  /** at most this many groups are read per peer batch */
  maxGroupsPerBatch: number;
}

export const EXTERNAL_DEFAULTS: ExternalLimits = { maxCompletionChars: 1024, minCompletions: 2, maxCompletions: 32, maxGroupsPerBatch: 64 };

export interface ExternalDrops {
  /** batches for another swarm or round, from this peer itself, or a repeat from the same peer */
  batches: number;
  /** groups with a bad task ref or too few usable completions */
  malformedGroups: number;
  /** completions that are not strings or too long */
  malformedCompletions: number;
  /** groups whose re-scored rewards are all equal */
  zeroAdvantage: number;
  /** completions whose claimed reward differs from the local re-score */
  claimMismatches: number;
}

export function emptyDrops(): ExternalDrops {
  return { batches: 0, malformedGroups: 0, malformedCompletions: 0, zeroAdvantage: 0, claimMismatches: 0 };
}

export function makeGroup(source: RolloutGroup['source'], peerId: string, ref: TaskRef, task: Task, completions: ScoredCompletion[]): RolloutGroup {
  return { source, peerId, ref, task, completions, advantages: groupAdvantages(completions.map((c) => c.reward)) };
}

/** Turn what peers published for this round into re-derived, re-scored groups that carry signal. */
export function collectExternalGroups(
  batches: readonly RolloutBatch[],
  expect: { swarmId: string; round: number; selfPeerId: string },
  limits: ExternalLimits = EXTERNAL_DEFAULTS,
): { groups: RolloutGroup[]; drops: ExternalDrops } {
  const drops = emptyDrops();
  const groups: RolloutGroup[] = [];
  const seenPeers = new Set<string>();
  for (const batch of batches) {
    if (
      typeof batch !== 'object' || batch === null || batch.swarmId !== expect.swarmId || batch.round !== expect.round ||
      typeof batch.peerId !== 'string' || batch.peerId === expect.selfPeerId || seenPeers.has(batch.peerId) ||
      !Array.isArray(batch.rollouts)
    ) {
      drops.batches++;
      continue;
    }
    seenPeers.add(batch.peerId);
    for (const rollout of batch.rollouts.slice(0, limits.maxGroupsPerBatch)) {
      const ref = rollout?.task;
      if (checkTaskRef(ref) !== null || !Array.isArray(rollout.completions)) {
        drops.malformedGroups++;
        continue;
      }
      let task: Task;
      try {
        task = generateTask(ref);
      } catch {
        // a generator bug on some seed must cost one group, not the round
        drops.malformedGroups++;
        continue;
      }
      const completions: ScoredCompletion[] = [];
      for (const c of rollout.completions.slice(0, limits.maxCompletions)) {
        if (typeof c?.text !== 'string' || c.text.length > limits.maxCompletionChars) {
          drops.malformedCompletions++;
          continue;
        }
        const score = scoreCompletion(task, c.text);
        if (typeof c.reward !== 'number' || Math.abs(c.reward - score.reward) > 1e-6) drops.claimMismatches++;
        completions.push({ ...score, text: c.text });
      }
      if (completions.length < limits.minCompletions) {
        drops.malformedGroups++;
        continue;
      }
      if (!hasAdvantage(completions.map((c) => c.reward))) {
        drops.zeroAdvantage++;
        continue;
      }
      groups.push(makeGroup('external', batch.peerId, { family: ref.family, seed: ref.seed, difficulty: ref.difficulty }, task, completions));
    }
  }
  return { groups, drops };
}

/**
 * The training batch: up to I local groups and up to J external groups, each chosen uniformly among
 * those with signal. When fewer qualify, fewer are used (no padding with signal-free groups).
 * `preference` (a non-negative weight per group) biases which external groups are drawn; without it the
 * draw is uniform. (Placeholder body: engineer B's peer-fair version applies the weight only among one
 * peer's groups, keeping the draw across peers uniform.)
 */
export function selectTrainingGroups(
  rng: Rng, local: readonly RolloutGroup[], external: readonly RolloutGroup[], I: number, J: number,
  preference?: (g: RolloutGroup) => number,
): RolloutGroup[] {
  const usefulLocal = local.filter((g) => hasAdvantage(g.completions.map((c) => c.reward)));
  return [...rng.sample(usefulLocal, I), ...(preference ? weightedSample(rng, external, J, preference) : rng.sample(external, J))];
}

/** k distinct items, each draw proportional to its weight; uniform among the rest once all weights left are 0 */
export function weightedSample<T>(rng: Rng, items: readonly T[], k: number, weight: (item: T) => number): T[] {
  const pool = items.map((item) => ({ item, w: Math.max(0, Number(weight(item)) || 0) }));
  const out: T[] = [];
  while (out.length < k && pool.length > 0) {
    const total = pool.reduce((s, p) => s + p.w, 0);
    let i: number;
    if (total > 0) {
      let x = rng.next() * total;
      i = pool.findIndex((p) => (x -= p.w) < 0);
      if (i < 0) i = pool.length - 1;
    } else {
      i = rng.int(0, pool.length - 1);
    }
    out.push(pool[i].item);
    pool.splice(i, 1);
  }
  return out;
}
