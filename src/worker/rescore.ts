// What the page checks of peers' rollouts, by our own verifiers and the swarm's rules. Two jobs:
// - `rolloutRules`: at gossip time, a rollouts message must be the shape an honest peer of this swarm sends
//   (B groups of G completions), on the sender's own roundTaskRefs, with claimed rewards equal to our
//   re-score. Anything else is a provable fault of its author: refused (and so never forwarded), and its
//   author's score drops. Work per message is at most B x G verifier calls, and the rollouts rate budget
//   bounds messages per (peer, round).
// - `rescorePeers`: how well the swarm's peers did this round, re-scored (claimed rewards are never
//   trusted). Unlike SAPO's selection for training, groups with no advantage count here.
import { CLAIM_TOLERANCE, walkBatchTasks } from '../rl/batch-walk.ts';
import { generateTask, scoreCompletion, type Task, type TaskMix } from '../rl/tasks/index.ts';
import type { RolloutBatch } from '../rl/transport.ts';
import type { RolloutsMessage } from '../swarm/messages.ts';
import type { RolloutContentCheck, RolloutShape } from '../swarm/validator.ts';

export interface SwarmScore {
  /** mean re-scored reward over peers' completions; null when none was usable */
  reward: number | null;
  accuracy: number | null;
  /** peers whose batch for the round was considered */
  peers: number;
}

/** The round shape every honest peer of a swarm runs (the worker's runner config, or the lab's script). */
export interface RoundShape {
  swarmId: string;
  tasks: readonly TaskMix[];
  /** B */
  questions: number;
  /** G */
  completions: number;
  maxNewTokens: number;
}

/** the same character cap SAPO applies to external completions */
export function completionCharCap(maxNewTokens: number): number {
  return Math.max(64, maxNewTokens * 16);
}

/** the validator and the reward re-score share the walk's tolerance (src/rl/batch-walk.ts) */
export { CLAIM_TOLERANCE };

/** The validator's rollout rules for a swarm whose peers run `shape`. */
export function rolloutRules(shape: RoundShape): { rolloutShape: RolloutShape; rolloutCheck: RolloutContentCheck } {
  const rolloutShape = { questions: shape.questions, completions: shape.completions, completionChars: completionCharCap(shape.maxNewTokens) };
  // one message of a batch, already held to the shape: its tasks and claims, by the walk the re-score uses too
  const rolloutCheck: RolloutContentCheck = (m: RolloutsMessage) => walkBatchTasks(m, { swarmId: shape.swarmId, tasks: shape.tasks, questions: shape.questions })?.reason ?? null;
  return { rolloutShape, rolloutCheck };
}

/** Bounds the work one round of hostile batches can cost. */
export const RESCORE_LIMITS = { batches: 64, groupsPerBatch: 64, completionsPerGroup: 32, completionChars: 4096 } as const;

export function rescorePeers(batches: readonly RolloutBatch[], expect: { swarmId: string; round: number; selfPeerId: string }): SwarmScore {
  let sum = 0;
  let correct = 0;
  let n = 0;
  const peers = new Set<string>();
  for (const batch of batches.slice(0, RESCORE_LIMITS.batches)) {
    if (batch?.swarmId !== expect.swarmId || batch.round !== expect.round || batch.peerId === expect.selfPeerId || peers.has(batch.peerId)) continue;
    if (!Array.isArray(batch.rollouts)) continue;
    peers.add(batch.peerId);
    for (const rollout of batch.rollouts.slice(0, RESCORE_LIMITS.groupsPerBatch)) {
      let task: Task;
      try {
        task = generateTask(rollout.task);
      } catch {
        continue; // a bad ref costs its group, never the round
      }
      if (!Array.isArray(rollout.completions)) continue;
      for (const c of rollout.completions.slice(0, RESCORE_LIMITS.completionsPerGroup)) {
        if (typeof c?.text !== 'string' || c.text.length > RESCORE_LIMITS.completionChars) continue;
        const score = scoreCompletion(task, c.text);
        sum += score.reward;
        if (score.correct) correct++;
        n++;
      }
    }
  }
  return n === 0 ? { reward: null, accuracy: null, peers: peers.size } : { reward: sum / n, accuracy: correct / n, peers: peers.size };
}
