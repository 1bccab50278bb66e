import { describe, expect, it } from 'vitest';
import { RoundClock } from '../../../src/swarm/clock.ts';

/** every peer's clock counts at once here; the maturity rules have their own test */
function clockAt(t: { now: number }, maxSkewMs = 30_000) {
  return new RoundClock({ roundMs: 10_000, genesisMs: 1_000_000, maxSkewMs, minAgeMs: 0, minSamples: 1, now: () => t.now });
}

describe('RoundClock', () => {
  it('derives rounds from genesis and round length', () => {
    const t = { now: 1_000_000 };
    const clock = clockAt(t);
    expect(clock.currentRound()).toBe(0);
    t.now = 1_009_999;
    expect(clock.currentRound()).toBe(0);
    t.now = 1_010_000;
    expect(clock.currentRound()).toBe(1);
    expect(clock.roundStart(3)).toBe(1_030_000);
    expect(clock.msUntilRound(3)).toBe(20_000);
    expect(clock.msUntilRound(0)).toBe(0);
  });

  it('accepts rounds within the window only', () => {
    const t = { now: 1_055_000 };
    const clock = clockAt(t);
    expect(clock.currentRound()).toBe(5);
    expect([3, 4, 5, 6, 7].map((r) => clock.accepts(r, 1))).toEqual([false, true, true, true, false]);
    expect(clock.accepts(5.5, 1)).toBe(false);
  });

  it('follows the median peer clock, so one liar cannot move it', () => {
    const t = { now: 2_000_000 };
    const clock = clockAt(t);
    clock.observePeerTime('a', t.now + 4_000);
    clock.observePeerTime('b', t.now + 4_200);
    clock.observePeerTime('c', t.now + 3_800);
    // median of [0 (self), 3800, 4000, 4200] = 3900
    expect(clock.offsetMs).toBe(3_900);
    clock.observePeerTime('liar', t.now - 10_000_000);
    expect(clock.offsetMs).toBe(3_800);
    expect(clock.now()).toBe(t.now + 3_800);
  });

  it('counts each peer once and clamps the offset', () => {
    const t = { now: 2_000_000 };
    const clock = clockAt(t, 5_000);
    for (let i = 0; i < 50; i++) clock.observePeerTime('chatty', t.now + 60_000);
    // median of [0, 60000] = 30000, clamped to 5000
    expect(clock.offsetMs).toBe(5_000);
    clock.forgetPeer('chatty');
    expect(clock.offsetMs).toBe(0);
  });

  it('a peer 8 s ahead and one 8 s behind still share the round window with a 20 s round', () => {
    const ahead = new RoundClock({ roundMs: 20_000, genesisMs: 0, now: () => 1_000_000 + 8_000 });
    const behind = new RoundClock({ roundMs: 20_000, genesisMs: 0, now: () => 1_000_000 - 8_000 });
    expect(behind.accepts(ahead.currentRound(), 1)).toBe(true);
    expect(ahead.accepts(behind.currentRound(), 1)).toBe(true);
  });

  it('fresh peer ids cannot move the clock: only peers heard for minAgeMs (or trusted) vote', () => {
    const t = { now: 5_000_000 };
    const clock = new RoundClock({ roundMs: 10_000, genesisMs: 0, minAgeMs: 60_000, now: () => t.now });
    // two honest long-lived peers, 1 s ahead, heard every 5 s for a minute
    for (let i = 0; i <= 12; i++, t.now += 5_000) for (const id of ['h1', 'h2']) clock.observePeerTime(id, t.now + 1_000, t.now);
    expect(clock.offsetMs).toBe(1_000);
    // 2,000 fresh ids (and 40 heartbeats from one of them) all say +30 s
    for (let i = 0; i < 2_000; i++) clock.observePeerTime(`sybil${i}`, t.now + 30_000, t.now);
    for (let i = 0; i < 40; i++) clock.observePeerTime('sybil1999', t.now + 30_000, t.now);
    expect(clock.offsetMs).toBe(1_000);
    // the honest voters keep their seats while they keep talking
    for (let i = 0; i < 20; i++, t.now += 5_000) for (const id of ['h1', 'h2']) clock.observePeerTime(id, t.now + 1_000, t.now);
    expect(clock.offsetMs).toBe(1_000);
    // a trusted (bound) peer counts from its first timestamp
    clock.trust('bound');
    clock.observePeerTime('bound', t.now + 4_000, t.now);
    expect(clock.offsetMs).toBe(1_000); // median of [0, 1000, 1000, 4000]
    clock.trust('bound2');
    clock.observePeerTime('bound2', t.now + 4_000, t.now);
    expect(clock.offsetMs).toBe(1_000); // median of [0, 1000, 1000, 4000, 4000]
  });
});
