// A round loop on the network alone: at each round boundary, produce this peer's rollouts and publish them
// through the Transport; report what arrived from peers for the previous round. The lab page, the headless
// peer and the load simulation run it with demo rollouts until they are given the RL round runner's.
import type { PublishedRollout, RolloutBatch, Transport } from '../rl/transport.ts';
import { roundTaskRefs } from '../rl/runner.ts';
import { generateTask, scoreCompletion, type TaskMix } from '../rl/tasks/index.ts';
import type { RoundClock } from './clock.ts';

export type RolloutProducer = (round: number) => PublishedRollout[] | Promise<PublishedRollout[]>;

export interface RoundReport {
  round: number;
  published: number;
  /** peers whose rollouts for `round` arrived before the next round began */
  received: RolloutBatch[];
}

/**
 * Scripted rollouts for the network alone (no model): this round's real tasks, derived from (swarm, round,
 * peer) exactly as the RL runner derives them, answered right or wrong in turn and scored by the real
 * verifier, so receivers can re-derive and re-score them and gossip carries realistic bytes.
 */
export function demoRollouts(
  swarmId: string,
  round: number,
  peerId: string,
  questions = 2,
  completions = 4,
  mix: readonly TaskMix[] = [{ family: 'basic_arithmetic', difficulty: 1 }],
): PublishedRollout[] {
  return roundTaskRefs(swarmId, round, peerId, mix, questions).map((ref) => {
    const task = generateTask(ref);
    return {
      task: ref,
      completions: Array.from({ length: completions }, (_, i) => {
        const text = i % 2 === 0 ? `<think>${task.prompt.slice(0, 200)}</think><answer>${task.answer}</answer>` : `<answer>${task.answer}${i}</answer>`;
        return { text, reward: scoreCompletion(task, text).reward };
      }),
    };
  });
}

export interface RoundLoopOptions {
  transport: Transport;
  clock: RoundClock;
  swarmId: string;
  produce: RolloutProducer;
  onRound?: (report: RoundReport) => void;
  onError?: (error: Error) => void;
}

/** Runs until the returned stop function is called. Never waits on peers: a round with nobody is a solo round. */
export function runRoundLoop(options: RoundLoopOptions): () => void {
  const { transport, clock } = options;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let published = 0;
  let round = clock.currentRound();
  const firstRound = round;

  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      const previous = round - 1;
      if (previous >= firstRound) {
        options.onRound?.({ round: previous, published, received: transport.receivedRollouts(previous) });
        transport.prune(previous - 1);
      }
      const rollouts = await options.produce(round);
      published = rollouts.length;
      if (rollouts.length > 0) {
        await transport.publishRollouts({ v: 1, swarmId: options.swarmId, round, peerId: transport.peerId, rollouts });
      }
    } catch (error) {
      options.onError?.(error as Error);
    }
    if (stopped) return;
    round = Math.max(round + 1, clock.currentRound());
    // publish shortly after the boundary so a peer whose clock runs a little behind already counts the round
    timer = setTimeout(() => void tick(), clock.msUntilRound(round) + 50);
  }

  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
