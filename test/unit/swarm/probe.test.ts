import { describe, expect, it } from 'vitest';
import { percentile, pingTurn, RttTracker, summarizeLoad, type ProbeStats } from '../../../src/swarm/probe.ts';
import { PEER_A, PEER_B } from './fixtures.ts';

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
