// Gossip load probe for the simulation and the benchmark. Each peer publishes a realistic rollouts message
// every `intervalMs` and records, for every one it receives, the one-way latency (receive time minus the
// sender's timestamp: exact only when peers share a clock, as on one machine) and the rollouts it carried.
// Beside that load it measures round trips, which need no shared clock: peers take turns to publish a
// `ping` (one ping in the whole swarm per `pingSpacingMs`, so echoes do not queue behind each other); every
// other peer's Swarm answers with an `echo`, and the pinger times publish -> each echo on its own clock.
import type { PublishedRollout } from '../rl/transport.ts';
import type { Swarm } from './swarm.ts';

export interface ProbeStats {
  sent: number;
  received: number;
  rolloutsReceived: number;
  latenciesMs: number[];
  /** pings this peer published inside the window */
  pingsSent: number;
  /** echoes of those pings, one per answering peer */
  echoesReceived: number;
  /** publish -> echo, for every echo */
  rttsMs: number[];
  /** publish -> first echo, one per answered ping */
  firstRttsMs: number[];
}

/** Ping spacing across the whole swarm: with the lab's heartbeats and 2 rollouts/s, echoes stay in the rate budget. */
export const PING_SPACING_MS = 1_000;

/**
 * Pure bookkeeping of pings and their echoes, times in ms on the pinger's clock. An echo counts once per
 * (answering peer, ping) and only for a ping we sent; figures are read for pings sent inside a window, so
 * a window opened a little after its start time (as the benchmark's pages are told late) still sees them.
 */
export class RttTracker {
  private readonly pings = new Map<number, { at: number; answeredBy: Set<string> }>();
  private pingTimes: number[] = [];
  private echoes: { pingAt: number; rttMs: number; first: boolean }[] = [];
  /** echoes that named no ping of ours or repeated one: not figures, kept to show in diagnostics */
  unmatched = 0;

  constructor(private readonly keepPings = 256) {}

  sent(nonce: number, at: number): void {
    this.pings.set(nonce, { at, answeredBy: new Set() });
    this.pingTimes.push(at);
    // old pings whose echoes never came are forgotten (insertion order is age order)
    while (this.pings.size > this.keepPings) this.pings.delete(this.pings.keys().next().value as number);
  }

  /** records an echo from `from` of our ping `nonce`; returns the round trip, or null when it does not count */
  echo(from: string, nonce: number, receivedAt: number): number | null {
    const ping = this.pings.get(nonce);
    if (!ping || ping.answeredBy.has(from) || receivedAt < ping.at) {
      this.unmatched++;
      return null;
    }
    ping.answeredBy.add(from);
    const rttMs = receivedAt - ping.at;
    this.echoes.push({ pingAt: ping.at, rttMs, first: ping.answeredBy.size === 1 });
    return rttMs;
  }

  /** drops figures for pings sent before `at` (bounds memory across windows) */
  forgetBefore(at: number): void {
    this.pingTimes = this.pingTimes.filter((t) => t >= at);
    this.echoes = this.echoes.filter((e) => e.pingAt >= at);
  }

  /** figures for pings sent inside [since, until) */
  read(since = -Infinity, until = Infinity): Pick<ProbeStats, 'pingsSent' | 'echoesReceived' | 'rttsMs' | 'firstRttsMs'> {
    const inside = (t: number) => t >= since && t < until;
    const echoes = this.echoes.filter((e) => inside(e.pingAt));
    return {
      pingsSent: this.pingTimes.filter(inside).length,
      echoesReceived: echoes.length,
      rttsMs: echoes.map((e) => e.rttMs),
      firstRttsMs: echoes.filter((e) => e.first).map((e) => e.rttMs),
    };
  }
}

/**
 * Whose turn it is to ping in time slot `slot`: peers take slots in peer-id order, so each peer works it
 * out alone from the peers it sees and the shared clock, and pings do not pile up.
 */
export function pingTurn(slot: number, peerIds: readonly string[]): string | null {
  if (peerIds.length === 0) return null;
  const sorted = [...new Set(peerIds)].sort();
  return sorted[((slot % sorted.length) + sorted.length) % sorted.length];
}

export class GossipProbe {
  /** swarm times of our rollouts publishes, and arrivals keyed by the sender's timestamp: the window is
   * applied when reading, so messages sent between the window's start and the moment we are told of it count */
  private sentAt: number[] = [];
  private arrivals: { ts: number; latencyMs: number; rollouts: number }[] = [];
  private readonly rtt = new RttTracker();
  private timer: ReturnType<typeof setInterval> | null = null;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly unsubscribe: () => void;
  /** arrivals count only for messages sent inside [since, until) */
  private since = 0;
  private until = Infinity;
  private readonly pingSpacingMs: number;

  constructor(
    private readonly swarm: Swarm,
    private readonly options: {
      intervalMs: number;
      /** what each probe message carries (the lab's scripted rollouts for the round) */
      produce: (round: number) => PublishedRollout[];
      pingSpacingMs?: number;
    },
  ) {
    this.pingSpacingMs = options.pingSpacingMs ?? PING_SPACING_MS;
    this.unsubscribe = swarm.onMessage(({ message, receivedAt }) => {
      if (message.kind === 'echo') {
        for (const e of message.echoes) if (e.peerId === swarm.peerId) this.rtt.echo(message.peerId, e.nonce, receivedAt);
        return;
      }
      if (message.kind !== 'rollouts' || message.ts < this.since) return;
      this.arrivals.push({ ts: message.ts, latencyMs: receivedAt - message.ts, rollouts: message.rollouts.length });
    });
  }

  start(): void {
    if (this.timer) return;
    const { swarm } = this;
    this.timer = setInterval(() => {
      const round = swarm.clock.currentRound();
      // this round's own tasks (receivers check them against the sender's); the header's nonce and time
      // still make every message's bytes differ
      const rollouts = this.options.produce(round);
      // counted when handed to gossipsub (a failed publish counts as sent, and so as lost), using the clock
      // reading that becomes the message's timestamp in the same synchronous step, as receivers judge it
      this.sentAt.push(swarm.clock.now());
      swarm.publish({ kind: 'rollouts', rollouts, part: 0, parts: 1 }).catch(() => undefined);
    }, this.options.intervalMs);
    this.schedulePing();
  }

  /** wakes in the middle of each slot (clear of its edges, where peers' readings could disagree) */
  private schedulePing(): void {
    const spacing = this.pingSpacingMs;
    const now = this.swarm.clock.now();
    const wait = spacing - (now % spacing) + spacing / 2;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      if (!this.timer) return;
      this.pingIfOurTurn();
      this.schedulePing();
    }, wait % spacing || spacing);
  }

  private pingIfOurTurn(): void {
    const { swarm } = this;
    const at = swarm.clock.now();
    if (pingTurn(Math.floor(at / this.pingSpacingMs), [swarm.peerId, ...swarm.topicPeers()]) !== swarm.peerId) return;
    // publish puts this nonce and (within the same synchronous step) this clock reading in the header
    this.rtt.sent(swarm.peekNonce(), at);
    swarm.publish({ kind: 'ping' }).catch(() => undefined);
  }

  /** stop publishing and close the window: messages sent before now still count when they arrive */
  pause(untilMs = this.swarm.clock.now()): void {
    if (this.timer) clearInterval(this.timer);
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.timer = null;
    this.pingTimer = null;
    this.until = untilMs;
  }

  /** open the measurement window at `sinceMs` (the same instant for every peer, possibly already past) */
  reset(sinceMs = this.swarm.clock.now()): void {
    this.sentAt = this.sentAt.filter((t) => t >= sinceMs);
    this.arrivals = this.arrivals.filter((a) => a.ts >= sinceMs);
    this.rtt.forgetBefore(sinceMs);
    this.since = sinceMs;
    this.until = Infinity;
  }

  read(): ProbeStats {
    const inside = (t: number) => t >= this.since && t < this.until;
    const arrivals = this.arrivals.filter((a) => inside(a.ts));
    return {
      sent: this.sentAt.filter(inside).length,
      received: arrivals.length,
      rolloutsReceived: arrivals.reduce((n, a) => n + a.rollouts, 0),
      latenciesMs: arrivals.map((a) => a.latencyMs),
      ...this.rtt.read(this.since, this.until),
    };
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
  /** one-way: receive time minus the sender's timestamp (peers on one clock) */
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
  rolloutsPerS: number;
  messagesPerS: number;
  pingsSent: number;
  /** each ping is expected to be echoed by every other peer */
  echoesExpected: number;
  echoesReceived: number;
  echoLossPct: number;
  /** round trip publish -> echo over every echo (the pinger's clock only) */
  rttP50Ms: number;
  rttP95Ms: number;
  rttMaxMs: number;
  /** round trip publish -> first echo of each ping */
  rttFirstP50Ms: number;
  rttFirstP95Ms: number;
}

/** combines every peer's probe stats; each message is expected at each of the other peers */
export function summarizeLoad(all: ProbeStats[], windowS: number): LoadSummary {
  const peers = all.length;
  const sum = (pick: (s: ProbeStats) => number) => all.reduce((a, s) => a + pick(s), 0);
  const sent = sum((s) => s.sent);
  const expected = sent * (peers - 1);
  const received = sum((s) => s.received);
  const latencies = all.flatMap((s) => s.latenciesMs);
  const pingsSent = sum((s) => s.pingsSent);
  const echoesExpected = pingsSent * (peers - 1);
  const echoesReceived = sum((s) => s.echoesReceived);
  const rtts = all.flatMap((s) => s.rttsMs);
  const firstRtts = all.flatMap((s) => s.firstRttsMs);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const lossPct = (got: number, want: number) => (want === 0 ? 0 : round1(Math.max(0, 100 * (1 - got / want))));
  return {
    peers,
    windowS: round1(windowS),
    sent,
    expected,
    received,
    lossPct: lossPct(received, expected),
    latencyP50Ms: percentile(latencies, 50),
    latencyP95Ms: percentile(latencies, 95),
    latencyMaxMs: latencies.length ? Math.max(...latencies) : NaN,
    rolloutsPerS: round1(sum((s) => s.rolloutsReceived) / windowS),
    messagesPerS: round1(received / windowS),
    pingsSent,
    echoesExpected,
    echoesReceived,
    echoLossPct: lossPct(echoesReceived, echoesExpected),
    rttP50Ms: percentile(rtts, 50),
    rttP95Ms: percentile(rtts, 95),
    rttMaxMs: rtts.length ? Math.max(...rtts) : NaN,
    rttFirstP50Ms: percentile(firstRtts, 50),
    rttFirstP95Ms: percentile(firstRtts, 95),
  };
}
