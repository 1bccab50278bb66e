// Batches as peers of a swarm publish them, for the coordinator's re-scoring tests: the sender's real tasks for the
// round, `correct` of each group's G completions right, the others wrong, claims equal to the re-score.
import { roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { generateTask, scoreCompletion, type TaskMix } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import type { RoundShape } from '../../../src/worker/rescore.ts';

export const MIX: readonly TaskMix[] = [{ family: 'basic_arithmetic', difficulty: 1 }];
export const shapeFor = (swarmId: string): RoundShape => ({ swarmId, tasks: MIX, questions: 2, completions: 4, maxNewTokens: 24 });

export function honestBatch(shape: RoundShape, round: number, peerId: string, correct: number): RolloutBatch {
  const rollouts = roundTaskRefs(shape.swarmId, round, peerId, shape.tasks, shape.questions).map((ref) => {
    const task = generateTask(ref);
    return {
      task: ref,
      completions: Array.from({ length: shape.completions }, (_, i) => {
        // right answers well formed; wrong ones alternate between a wrong answer block and no block at all
        const text = i < correct ? `<answer>${task.answer}</answer>` : i % 2 ? `<answer>${task.answer}9</answer>` : 'no idea';
        return { text, reward: scoreCompletion(task, text).reward };
      }),
    };
  });
  return { v: 1, swarmId: shape.swarmId, round, peerId, rollouts };
}

/** The mean reward the tab's round runner computes over its own completions (runner.ts meanReward). */
export function meanReward(batch: RolloutBatch): number {
  const all = batch.rollouts.flatMap((r) => r.completions);
  return all.reduce((s, c) => s + c.reward, 0) / all.length;
}

/** An in-memory rollout source: what a coordinator following gossip would hold per swarm round. */
export class MemorySource {
  round = 0;
  readonly batches = new Map<number, RolloutBatch[]>();
  currentRound(): number {
    return this.round;
  }
  receivedRollouts(round: number): RolloutBatch[] {
    return [...(this.batches.get(round) ?? [])];
  }
  publish(batch: RolloutBatch): void {
    this.batches.set(batch.round, [...(this.batches.get(batch.round) ?? []), batch]);
  }
}
