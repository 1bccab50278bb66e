// One walk over a peer's batch of rollouts, as any receiver re-checks it: each group's task must be one of the
// sender's tasks for the round (roundTaskRefs at the levels the batch claims, never chosen by the sender), the
// task must be generable, and every completion's claimed reward must equal our own re-score. Two callers with
// different stakes share it so they can never disagree on which completion is forged:
// - the gossip validator's content check (src/worker/rescore.ts rolloutRules), on one message of a batch;
// - the reward re-score for the chain (src/worker/reward-rescore.ts rescoreBatch), on a whole batch, which adds
//   exact counts, distinct tasks and integer-unit sums through the hooks.
// It lives in rl because it needs only the task families and round refs; both callers sit above it.
import { assignedTaskKeys, taskRefKey } from './round-tasks.ts';
import { generateTask, scoreCompletion, type Score, type Task, type TaskMix } from './tasks/index.ts';
import type { PublishedCompletion, PublishedRollout } from './transport.ts';

/** a claimed reward this far from ours is a lie, not rounding (the gossip validator and the reward re-score) */
export const CLAIM_TOLERANCE = 1e-6;

/** What the walk reads of a batch or of one message of it. */
export interface WalkedBatch {
  round: number;
  peerId: string;
  rollouts: readonly PublishedRollout[];
}

export interface TaskWalkRules {
  swarmId: string;
  tasks: readonly TaskMix[];
  /**
   * where peers draw from mixes of their own (peers.ts peerMix, RunnerConfig.peerEmphasis), the mix a given
   * sender draws from, re-derived from its id, as SAPO intake's RoundExpectation.mixFor; absent = `tasks`
   */
  mixFor?: (peerId: string) => readonly TaskMix[];
  /** B: how many refs the sender was assigned */
  questions: number;
  /**
   * Refuse a task held twice. A whole batch can be held to it; the validator sees one message at a time and
   * never has, so it does not ask for it (the walk changes no caller's verdict).
   */
  distinct?: boolean;
  /** before a group's completions are scored (its task already checked): a reason refuses the batch */
  group?(key: string, rollout: PublishedRollout): string | null;
  /** before a completion is scored: a reason refuses the batch */
  completion?(key: string, completion: PublishedCompletion): string | null;
  /** each completion whose claim held, with our own score */
  scored?(score: Score, completion: PublishedCompletion): void;
}

/** Where the walk stopped: the first fault in batch order, with the group and completion it is in. */
export interface TaskWalkFault {
  reason: string;
  group: number;
  /** null when the fault is the group's (its task, its count) rather than one completion's */
  completion: number | null;
}

/**
 * Walks the batch's groups in order and stops at the first fault. Work is at most one roundTaskRefs draw plus
 * one generateTask per group and one verifier call per completion; the caller bounds the counts.
 */
export function walkBatchTasks(batch: WalkedBatch, rules: TaskWalkRules): TaskWalkFault | null {
  const mix = rules.mixFor?.(batch.peerId) ?? rules.tasks;
  const assigned = assignedTaskKeys(rules.swarmId, batch.round, batch.peerId, mix, rules.questions, batch.rollouts.map((r) => r?.task));
  const seen = new Set<string>();
  for (let g = 0; g < batch.rollouts.length; g++) {
    const rollout = batch.rollouts[g];
    const key = rollout?.task ? taskRefKey(rollout.task) : '?';
    const fault = (reason: string, completion: number | null = null): TaskWalkFault => ({ reason, group: g, completion });
    if (!assigned.has(key) || (rules.distinct && seen.has(key))) return fault(`task ${key} is not one of the sender's tasks for round ${batch.round}`);
    seen.add(key);
    let task: Task;
    try {
      task = generateTask(rollout.task);
    } catch {
      return fault(`task ${key} cannot be generated`);
    }
    const groupProblem = rules.group?.(key, rollout) ?? null;
    if (groupProblem !== null) return fault(groupProblem);
    for (let i = 0; i < rollout.completions.length; i++) {
      const c = rollout.completions[i];
      const problem = rules.completion?.(key, c) ?? null;
      if (problem !== null) return fault(problem, i);
      const score = scoreCompletion(task, c.text);
      // a claim that is not a number is as forged as a wrong one (the wire schema already refuses it on gossip)
      if (typeof c.reward !== 'number' || Math.abs(c.reward - score.reward) > CLAIM_TOLERANCE) {
        return fault(`claimed reward ${c.reward} for a completion that scores ${score.reward}`, i);
      }
      rules.scored?.(score, c);
    }
  }
  return null;
}
