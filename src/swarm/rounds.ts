// A round loop on the network alone: at each round boundary, produce this peer's rollouts and publish them
// through the Transport; report what arrived from peers for the previous round. What it publishes is the
// caller's: the lab's scripted rollouts live in src/app/lab/demo-rollouts.ts (lab swarms only), so the
// network layer knows nothing of tasks or the RL runner.
import type { PublishedRollout, RolloutBatch, Transport } from '../rl/transport.ts';
import type { RoundClock } from './clock.ts';

export type RolloutProducer = (round: number) => PublishedRollout[] | Promise<PublishedRollout[]>;

export interface RoundReport {
  round: number;
  published: number;
  /** peers whose rollouts for `round` arrived before the next round began */
  received: RolloutBatch[];
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
