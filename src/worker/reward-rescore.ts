// A peer's reward for one swarm round, re-scored from its gossiped batch as any receiver can: what the coordinator
// service puts on chain (relay/coordinator/verified.ts) and what a tab attests for its peers (k-of-n attestations,
// src/app/identity/attester.ts) must be the same number, so both use this one function.
import { walkBatchTasks } from '../rl/batch-walk.ts';
import type { RolloutBatch } from '../rl/transport.ts';
import { completionCharCap, type RoundShape } from './rescore.ts';
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
  const charCap = completionCharCap(shape.maxNewTokens);
  let units = 0;
  let completions = 0;
  // the gossip validator's walk (same tasks, same claims), held to a whole batch: distinct tasks, exact counts
  const fault = walkBatchTasks(batch, {
    swarmId: shape.swarmId,
    tasks: shape.tasks,
    questions: shape.questions,
    distinct: true,
    group: (key, rollout) => Array.isArray(rollout.completions) && rollout.completions.length === shape.completions
      ? null
      : `task ${key} has ${Array.isArray(rollout.completions) ? rollout.completions.length : 'no'} completions, an honest group ${shape.completions}`,
    completion: (key, c) => typeof c?.text === 'string' && c.text.length <= charCap ? null : `a completion of task ${key} is not text of at most ${charCap} characters`,
    scored: (score) => {
      // whole units per completion, summed as integers: the total does not depend on the order parts arrived in
      units += Math.round(score.reward * REWARD_SCALE);
      completions++;
    },
  });
  return fault ? { ok: false, reason: fault.reason } : { ok: true, units, completions };
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
