// A round loop on the network alone: at each round boundary, produce this peer's rollouts and publish them
// through the Transport; report what arrived from peers for the previous round. The lab page, the headless
// peer and the load simulation run it with demo rollouts until they are given the RL round runner's.
import type { PublishedRollout, RolloutBatch, Transport } from '../rl/transport.ts';
import type { RoundClock } from './clock.ts';

export type RolloutProducer = (round: number) => PublishedRollout[] | Promise<PublishedRollout[]>;

export interface RoundReport {
  round: number;
  published: number;
  /** peers whose rollouts for `round` arrived before the next round began */
  received: RolloutBatch[];
}

/** FNV-1a: a small deterministic hash for demo seeds (not security relevant). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Demo rollouts: addition questions derived from (swarm, round, peer) as the design's task seeds are, with
 * `completions` answers each, some right. Real text of realistic size, so gossip carries realistic bytes.
 */
export function demoRollouts(swarmId: string, round: number, peerId: string, questions = 2, completions = 4): PublishedRollout[] {
  const out: PublishedRollout[] = [];
  for (let q = 0; q < questions; q++) {
    const seed = fnv1a(`${swarmId}/${round}/${peerId}/${q}`);
    const a = seed % 1000;
    const b = (seed >>> 10) % 1000;
    out.push({
      task: { family: 'demo-add', seed, difficulty: 1 },
      completions: Array.from({ length: completions }, (_, i) => {
        const answer = a + b + (i % 2 === 0 ? 0 : i);
        return { text: `<think>${a} plus ${b}: add the units, then tens, then hundreds.</think><answer>${answer}</answer>`, reward: answer === a + b ? 1 : 0 };
      }),
    });
  }
  return out;
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

  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      const previous = round - 1;
      if (previous >= 0) {
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
