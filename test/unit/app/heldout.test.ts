// Held-out accuracy as it travels: the heartbeat's optional report (validated, bounded), what a tab reports
// of its own evaluations, and the swarm curve the dashboard and the conference screen plot from peers' reports.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type HeartbeatMessage } from '../../../src/swarm/messages.ts';
import { heldOutReport, HELD_OUT_FRESH_MS, SwarmTally } from '../../../src/app/lib/tally.ts';

const PEER = '12D3KooWGRUVh3Kf8pJpJzZkS5nBXAzGTpLJ6pVHVRcBpRz9PM8g';
const base: HeartbeatMessage = { v: 1, kind: 'heartbeat', swarmId: 's', round: 9, peerId: PEER, nonce: 1, ts: 1, stats: { round: 9 } };
const report = { round: 8, accuracy: 0.5, tasks: 52, startRound: -1, startAccuracy: 0.375 };

function decode(value: object) {
  return decodeMessage(new TextEncoder().encode(JSON.stringify(value)));
}

describe('heartbeat held-out report', () => {
  it('round-trips, and stays optional', () => {
    const withReport = decodeMessage(encodeMessage({ ...base, heldOut: report }));
    expect(withReport).toEqual({ ok: true, message: { ...base, heldOut: report } });
    expect(decodeMessage(encodeMessage(base))).toEqual({ ok: true, message: base });
  });

  it.each([
    [{ ...report, accuracy: 1.5 }, /heldOut.accuracy is out of range/],
    [{ ...report, startAccuracy: -0.1 }, /heldOut.startAccuracy is out of range/],
    [{ ...report, tasks: 0 }, /heldOut.tasks is out of range/],
    [{ ...report, tasks: 1e6 }, /heldOut.tasks is out of range/],
    [{ ...report, round: 1.5 }, /heldOut.round must be an integer/],
    [{ ...report, extra: 1 }, /heldOut has unknown field "extra"/],
    ['0.5', /heldOut must be an object/],
  ])('refuses %j with a reason', (heldOut, reason) => {
    const result = decode({ ...base, heldOut });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });
});

describe("a tab's own report", () => {
  it('is its latest evaluation with its first as the start line', () => {
    expect(heldOutReport([])).toBeNull();
    const evals = [
      { round: -1, accuracy: 0.375, tasks: 52, formatRate: 1, seconds: 1 },
      { round: 4, accuracy: 0.4, tasks: 52, formatRate: 1, seconds: 1 },
      { round: 8, accuracy: 0.5, tasks: 52, formatRate: 1, seconds: 1 },
    ];
    expect(heldOutReport(evals)).toEqual(report);
  });
});

describe('the swarm held-out curve', () => {
  it('averages peers\u2019 latest reports and their climb since their own start, leaving out this tab and stale or future reports', () => {
    const tally = new SwarmTally('me');
    // only contributors' reports count (here: bound peers); a key that only sends heartbeats moves nothing
    for (const p of ['a', 'b', 'c']) tally.setAccount(p, `0x${p}`, 0);
    tally.addHeldOut('sybil', { round: 4, accuracy: 1, tasks: 52, startRound: -1, startAccuracy: 0 }, 4, 500);
    tally.addHeldOut('me', { ...report, accuracy: 1 }, 9, 0); // our own heartbeat is not a peer's report
    tally.addHeldOut('a', { round: 4, accuracy: 0.4, tasks: 52, startRound: -1, startAccuracy: 0.3 }, 4, 1_000);
    tally.addHeldOut('b', { round: 5, accuracy: 0.6, tasks: 52, startRound: 2, startAccuracy: 0.6 }, 5, 2_000);
    tally.addHeldOut('b', { round: 5, accuracy: 0.6, tasks: 52, startRound: 2, startAccuracy: 0.6 }, 6, 3_000); // a repeat
    tally.addHeldOut('c', { round: 50, accuracy: 1, tasks: 52, startRound: -1, startAccuracy: 0 }, 9, 3_000); // from the future
    const curve = tally.snapshot().heldOut;
    expect(curve.map((p) => p.round)).toEqual([4, 5]);
    expect(curve[0]).toMatchObject({ accuracy: 0.4, peers: 1 });
    expect(curve[0].gain).toBeCloseTo(0.1);
    expect(curve[1].accuracy).toBeCloseTo(0.5);
    expect(curve[1].gain).toBeCloseTo(0.05);
    expect(curve[1].peers).toBe(2);
    // a's report goes stale: b's next point is b alone
    tally.addHeldOut('b', { round: 10, accuracy: 0.7, tasks: 52, startRound: 2, startAccuracy: 0.6 }, 10, 1_000 + HELD_OUT_FRESH_MS + 1);
    expect(tally.snapshot().heldOut.at(-1)).toMatchObject({ round: 10, peers: 1 });
    expect(tally.snapshot().heldOut.at(-1)!.gain).toBeCloseTo(0.1);
  });
});
