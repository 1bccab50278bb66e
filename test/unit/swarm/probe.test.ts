import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SwarmMessage } from '../../../src/swarm/messages.ts';
import { GossipProbe, percentile, pingTurn, RttTracker, summarizeLoad, type ProbeStats } from '../../../src/swarm/probe.ts';
import type { OutgoingMessage, ReceivedMessage, Swarm } from '../../../src/swarm/swarm.ts';
import { PEER_A, PEER_B } from './fixtures.ts';
import { demoRollouts } from '../../../src/app/lab/demo-rollouts.ts';

const PEER_C = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';

function stats(partial: Partial<ProbeStats>): ProbeStats {
  return { sent: 0, received: 0, rolloutsReceived: 0, latenciesMs: [], pingsSent: 0, echoesReceived: 0, rttsMs: [], firstRttsMs: [], ...partial };
}

describe('load summary', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('expects each message at every other peer and reports loss and rates', () => {
    const summary = summarizeLoad(
      [
        stats({ sent: 10, received: 18, rolloutsReceived: 72, latenciesMs: [1, 2, 3] }),
        stats({ sent: 10, received: 20, rolloutsReceived: 80, latenciesMs: [4, 5] }),
        stats({ sent: 10, received: 19, rolloutsReceived: 76, latenciesMs: [6] }),
      ],
      2,
    );
    expect(summary).toMatchObject({ peers: 3, sent: 30, expected: 60, received: 57, lossPct: 5, latencyP50Ms: 3, latencyMaxMs: 6, rolloutsPerS: 114, messagesPerS: 28.5 });
  });

  it('expects an echo of each ping from every other peer and pools round trips across pingers', () => {
    const summary = summarizeLoad(
      [
        stats({ pingsSent: 2, echoesReceived: 4, rttsMs: [10, 12, 30, 31], firstRttsMs: [10, 30] }),
        stats({ pingsSent: 3, echoesReceived: 5, rttsMs: [8, 9, 20, 21, 40], firstRttsMs: [8, 20, 40] }),
        stats({ pingsSent: 0 }),
      ],
      5,
    );
    expect(summary).toMatchObject({ pingsSent: 5, echoesExpected: 10, echoesReceived: 9, echoLossPct: 10, rttP50Ms: 20, rttP95Ms: 40, rttMaxMs: 40, rttFirstP50Ms: 20, rttFirstP95Ms: 40 });
  });

  it('reports no round trips as NaN, not zero, when no echo came back', () => {
    const summary = summarizeLoad([stats({ pingsSent: 4 }), stats({})], 1);
    expect(summary.echoLossPct).toBe(100);
    expect(summary.rttP50Ms).toBeNaN();
    expect(summary.rttMaxMs).toBeNaN();
  });
});

describe('round-trip bookkeeping', () => {
  it('times each echo and the first echo of each ping on the pinger clock', () => {
    const rtt = new RttTracker();
    rtt.sent(100, 1_000);
    rtt.sent(101, 2_000);
    expect(rtt.echo(PEER_B, 100, 1_012)).toBe(12);
    expect(rtt.echo(PEER_C, 100, 1_030)).toBe(30);
    expect(rtt.echo(PEER_C, 101, 2_007)).toBe(7);
    expect(rtt.read()).toEqual({ pingsSent: 2, echoesReceived: 3, rttsMs: [12, 30, 7], firstRttsMs: [12, 7] });
  });

  it('counts a repeated echo, an echo of a ping never sent and an echo before its ping as unmatched', () => {
    const rtt = new RttTracker();
    rtt.sent(5, 1_000);
    expect(rtt.echo(PEER_B, 5, 1_010)).toBe(10);
    expect(rtt.echo(PEER_B, 5, 1_020)).toBeNull();
    expect(rtt.echo(PEER_B, 6, 1_020)).toBeNull();
    expect(rtt.echo(PEER_C, 5, 999)).toBeNull();
    expect(rtt.unmatched).toBe(3);
    expect(rtt.read()).toMatchObject({ echoesReceived: 1, rttsMs: [10] });
  });

  it('gives figures only for pings sent inside the window, however late their echoes come', () => {
    const rtt = new RttTracker();
    rtt.sent(1, 1_000);
    rtt.sent(2, 2_000);
    rtt.sent(3, 3_000);
    rtt.echo(PEER_B, 1, 2_001);
    rtt.echo(PEER_B, 2, 3_500);
    rtt.echo(PEER_B, 3, 3_004);
    expect(rtt.read(2_000, 3_000)).toEqual({ pingsSent: 1, echoesReceived: 1, rttsMs: [1_500], firstRttsMs: [1_500] });
    rtt.forgetBefore(3_000);
    expect(rtt.read()).toEqual({ pingsSent: 1, echoesReceived: 1, rttsMs: [4], firstRttsMs: [4] });
    expect(rtt.unmatched).toBe(0);
  });

  it('forgets the oldest pings beyond its memory', () => {
    const rtt = new RttTracker(2);
    rtt.sent(1, 0);
    rtt.sent(2, 0);
    rtt.sent(3, 0);
    expect(rtt.echo(PEER_B, 1, 5)).toBeNull();
    expect(rtt.echo(PEER_B, 3, 5)).toBe(5);
    expect(rtt.read().pingsSent).toBe(3);
  });
});

describe('ping turns', () => {
  it('gives each slot to one peer, in peer-id order, whatever order each peer lists them in', () => {
    const ids = [PEER_A, PEER_B, PEER_C];
    const sorted = [...ids].sort();
    for (let slot = 0; slot < 9; slot++) {
      expect(pingTurn(slot, ids)).toBe(sorted[slot % 3]);
      expect(pingTurn(slot, [PEER_C, PEER_A, PEER_B, PEER_A])).toBe(sorted[slot % 3]);
    }
    expect(pingTurn(-1, ids)).toBe(sorted[2]);
    expect(pingTurn(4, [])).toBeNull();
  });
});

describe('gossip probe over a stand-in swarm', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 10_000 }));
  afterEach(() => void vi.useRealTimers());

  /** just the parts of Swarm the probe touches; publishes are recorded, deliveries are ours to make */
  function fakeSwarm(peerId: string, others: string[]) {
    let nonce = 1;
    let listener: ((m: ReceivedMessage) => void) | null = null;
    const published: SwarmMessage[] = [];
    const swarm = {
      peerId,
      config: { swarmId: 'test' },
      clock: { now: () => Date.now(), currentRound: () => 5 },
      topicPeers: () => others,
      peekNonce: () => nonce,
      publish: async (body: OutgoingMessage) => {
        const message = { v: 1, swarmId: 'test', round: 5, peerId, nonce: nonce++, ts: Date.now(), ...body } as SwarmMessage;
        published.push(message);
        return message;
      },
      onMessage: (l: (m: ReceivedMessage) => void) => {
        listener = l;
        return () => (listener = null);
      },
    };
    const deliver = (message: SwarmMessage) => listener?.({ message, receivedAt: Date.now(), via: message.peerId });
    return { swarm: swarm as unknown as Swarm, published, deliver };
  }

  it('counts what was sent after the window opened even when told of the window late, and times echoes', () => {
    const { swarm, published, deliver } = fakeSwarm(PEER_A, [PEER_B]);
    const probe = new GossipProbe(swarm, { intervalMs: 500, pingSpacingMs: 1_000, produce: (round) => demoRollouts('test', round, PEER_A) });
    probe.start();
    vi.advanceTimersByTime(3_000);
    const windowStart = 11_000;
    probe.reset(windowStart);
    const pings = published.filter((m) => m.kind === 'ping');
    // one slot in two is ours with two peers
    expect(pings.length).toBeGreaterThanOrEqual(1);
    for (const ping of pings) {
      vi.advanceTimersByTime(3);
      deliver({ v: 1, swarmId: 'test', round: 5, peerId: PEER_B, nonce: 900 + ping.nonce, ts: Date.now(), kind: 'echo', echoes: [{ peerId: PEER_A, nonce: ping.nonce }] });
    }
    deliver({ v: 1, swarmId: 'test', round: 5, peerId: PEER_B, nonce: 1, ts: 12_000, kind: 'rollouts', rollouts: [{ task: { family: 'arith', seed: 1, difficulty: 1 }, completions: [{ text: 'x', reward: 0 }] }], part: 0, parts: 1 });
    deliver({ v: 1, swarmId: 'test', round: 5, peerId: PEER_B, nonce: 2, ts: 10_500, kind: 'rollouts', rollouts: [{ task: { family: 'arith', seed: 1, difficulty: 1 }, completions: [{ text: 'x', reward: 0 }] }], part: 0, parts: 1 });
    probe.pause(13_000);
    const read = probe.read();
    const rolloutsSentInside = published.filter((m) => m.kind === 'rollouts' && m.ts >= windowStart && m.ts < 13_000).length;
    expect(read.sent).toBe(rolloutsSentInside);
    expect(read.sent).toBe(4);
    expect(read.received).toBe(1);
    const pingsInside = pings.filter((m) => m.ts >= windowStart);
    expect(read.pingsSent).toBe(pingsInside.length);
    expect(read.echoesReceived).toBe(pingsInside.length);
    expect(read.firstRttsMs.length).toBe(pingsInside.length);
    for (const rtt of read.rttsMs) expect(rtt).toBeGreaterThanOrEqual(3);
    probe.stop();
  });
});
