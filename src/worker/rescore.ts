// How well the swarm's peers did this round, by our own verifiers: every completion a peer published is
// re-scored against the task re-derived from its ref (claimed rewards are never trusted). Unlike SAPO's
// selection for training, groups with no advantage count here: they are part of how the swarm is doing.
import { generateTask, scoreCompletion, type Task } from '../rl/tasks/index.ts';
import type { RolloutBatch } from '../rl/transport.ts';

export interface SwarmScore {
  /** mean re-scored reward over peers' completions; null when none was usable */
  reward: number | null;
  accuracy: number | null;
  /** peers whose batch for the round was considered */
  peers: number;
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
