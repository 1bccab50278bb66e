// Gossip load probe for the simulation and the benchmark: each peer publishes a realistic rollouts message
// every `intervalMs` and records, for every one it receives, the one-way latency (receive time minus the
// sender's timestamp: exact when peers share a clock, as on one machine) and the rollouts it carried.
import { demoRollouts } from './rounds.ts';
import type { Swarm } from './swarm.ts';

export interface ProbeStats {
  sent: number;
  received: number;
  rolloutsReceived: number;
  latenciesMs: number[];
}

export class GossipProbe {
  private stats: ProbeStats = { sent: 0, received: 0, rolloutsReceived: 0, latenciesMs: [] };
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly unsubscribe: () => void;
  /** arrivals count only for messages sent inside [since, until) */
  private since = 0;
  private until = Infinity;

  constructor(
    private readonly swarm: Swarm,
    private readonly options: { intervalMs: number; questions?: number; completions?: number },
  ) {
    this.unsubscribe = swarm.onMessage(({ message, receivedAt }) => {
      if (message.kind !== 'rollouts' || message.ts < this.since || message.ts >= this.until) return;
      this.stats.received++;
      this.stats.rolloutsReceived += message.rollouts.length;
      this.stats.latenciesMs.push(receivedAt - message.ts);
    });
  }

  start(): void {
    if (this.timer) return;
    const { swarm } = this;
    let seq = 0;
    this.timer = setInterval(() => {
      const round = swarm.clock.currentRound();
      // a different seed each time so the bytes differ message to message, as real rollouts do
      const rollouts = demoRollouts(swarm.config.swarmId, round, `${swarm.peerId}/${seq++}`, this.options.questions ?? 4, this.options.completions ?? 4);
      // counted when handed to gossipsub (a failed publish counts as sent, and so as lost), using the clock
      // reading that becomes the message's timestamp in the same synchronous step, as receivers judge it
      const at = swarm.clock.now();
      if (at >= this.since && at < this.until) this.stats.sent++;
      swarm.publish({ kind: 'rollouts', rollouts, part: 0, parts: 1 }).catch(() => undefined);
    }, this.options.intervalMs);
  }

  /** stop publishing and close the window: messages sent before now still count when they arrive */
  pause(untilMs = this.swarm.clock.now()): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.until = untilMs;
  }

  /** zero the counters and open the measurement window at `sinceMs` (the same instant for every peer) */
  reset(sinceMs = this.swarm.clock.now()): void {
    this.stats = { sent: 0, received: 0, rolloutsReceived: 0, latenciesMs: [] };
    this.since = sinceMs;
    this.until = Infinity;
  }

  read(): ProbeStats {
    return { ...this.stats, latenciesMs: [...this.stats.latenciesMs] };
  }

  stop(): void {
    this.pause();
    this.unsubscribe();
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface LoadSummary {
  peers: number;
  windowS: number;
  sent: number;
  expected: number;
  received: number;
  lossPct: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
  rolloutsPerS: number;
  messagesPerS: number;
}

/** combines every peer's probe stats; each message is expected at each of the other peers */
export function summarizeLoad(all: ProbeStats[], windowS: number): LoadSummary {
  const peers = all.length;
  const sent = all.reduce((a, s) => a + s.sent, 0);
  const expected = sent * (peers - 1);
  const received = all.reduce((a, s) => a + s.received, 0);
  const latencies = all.flatMap((s) => s.latenciesMs);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    peers,
    windowS: round1(windowS),
    sent,
    expected,
    received,
    lossPct: expected === 0 ? 0 : round1(Math.max(0, 100 * (1 - received / expected))),
    latencyP50Ms: percentile(latencies, 50),
    latencyP95Ms: percentile(latencies, 95),
    latencyMaxMs: latencies.length ? Math.max(...latencies) : NaN,
    rolloutsPerS: round1(all.reduce((a, s) => a + s.rolloutsReceived, 0) / windowS),
    messagesPerS: round1(received / windowS),
  };
}
