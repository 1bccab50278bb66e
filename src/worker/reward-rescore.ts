// A peer's reward for one swarm round, re-scored from its gossiped batch as any receiver can: what the coordinator
// service puts on chain (relay/coordinator/verified.ts) and what a tab attests for its peers (k-of-n attestations,
// src/app/identity/attester.ts) must be the same number, so both use this one function.
import { claimedLevels, roundTaskRefs, taskRefKey } from '../rl/round-tasks.ts';
import { generateTask, scoreCompletion, type Task } from '../rl/tasks/index.ts';
import type { RolloutBatch } from '../rl/transport.ts';
import { CLAIM_TOLERANCE, completionCharCap, type RoundShape } from './rescore.ts';
import { REWARD_SCALE } from '../identity/coordinator.ts';

/** One peer's re-scored round: the sum of its completions' rewards in units, and how many completions. */
export interface RescoredRound {
  units: number;
  completions: number;
}

export type RescoreVerdict = ({ ok: true } & RescoredRound) | { ok: false; reason: string };

/**
 * Re-scores one peer's batch for one swarm round, as any receiver would: the tasks must be exactly the sender's
 * B tasks for the round (re-derived from (swarm, round, peer), never chosen by it), each with G completions
 * (a partial batch could leave out the groups it did badly on), and every claimed reward must equal the
 * re-score (a forged claim is a provable fault: the round earns nothing). Work is at most B x G verifier calls.
 */
export function rescoreBatch(batch: RolloutBatch, shape: RoundShape): RescoreVerdict {
  if (batch?.swarmId !== shape.swarmId) return { ok: false, reason: 'batch of another swarm' };
  if (!Array.isArray(batch.rollouts) || batch.rollouts.length !== shape.questions) {
    return { ok: false, reason: `batch holds ${Array.isArray(batch?.rollouts) ? batch.rollouts.length : 'no'} groups, an honest one ${shape.questions}` };
  }
  const levels = claimedLevels(batch.rollouts.map((r) => r.task), shape.tasks);
  const assigned = new Set(roundTaskRefs(shape.swarmId, batch.round, batch.peerId, shape.tasks, shape.questions, levels).map(taskRefKey));
  const seen = new Set<string>();
  const charCap = completionCharCap(shape.maxNewTokens);
  let units = 0;
  let completions = 0;
  for (const rollout of batch.rollouts) {
    const key = rollout?.task ? taskRefKey(rollout.task) : '?';
    if (!assigned.has(key) || seen.has(key)) return { ok: false, reason: `task ${key} is not one of the sender's tasks for round ${batch.round}` };
    seen.add(key);
    let task: Task;
    try {
      task = generateTask(rollout.task);
    } catch {
      return { ok: false, reason: `task ${key} cannot be generated` };
    }
    if (!Array.isArray(rollout.completions) || rollout.completions.length !== shape.completions) {
      return { ok: false, reason: `task ${key} has ${Array.isArray(rollout.completions) ? rollout.completions.length : 'no'} completions, an honest group ${shape.completions}` };
    }
    for (const c of rollout.completions) {
      if (typeof c?.text !== 'string' || c.text.length > charCap) return { ok: false, reason: `a completion of task ${key} is not text of at most ${charCap} characters` };
      const reward = scoreCompletion(task, c.text).reward;
      if (typeof c.reward !== 'number' || Math.abs(c.reward - reward) > CLAIM_TOLERANCE) return { ok: false, reason: `claimed reward ${c.reward} for a completion that scores ${reward}` };
      // whole units per completion, summed as integers: the total does not depend on the order parts arrived in
      units += Math.round(reward * REWARD_SCALE);
      completions++;
    }
  }
  return { ok: true, units, completions };
}

/** The reward of a slot from its rounds: the mean units per completion, rounded; null with no completion. */
export function slotReward(rounds: readonly RescoredRound[]): bigint | null {
  let units = 0;
  let completions = 0;
  for (const r of rounds) {
    units += r.units;
    completions += r.completions;
  }
  return completions === 0 ? null : BigInt(Math.round(units / completions));
}
