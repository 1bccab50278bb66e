// The game's pacing on hand-made chain readings: forward positions go through, a counter that goes back or
// jumps absurdly far is refused with a reason, errors back the poll off, and a chain that keeps failing (or
// fails the first reading, or answers garbage) hands the game to the swarm clock and says why.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describePace, GamePace, judgeReading, paceGame, type ChainReading, type PaceStatus, type StageReader } from '../../../src/app/lib/game-pace.ts';
import type { ChainStage } from '../../../src/worker/protocol.ts';

const at = (round: number, stage = 0, stagesPerRound = 1): ChainReading => ({ round: BigInt(round), stage: BigInt(stage), stagesPerRound: BigInt(stagesPerRound) });

/** a chain the test moves by hand; `fail` makes the next reads throw; `reads` counts them */
function handChain(first: ChainReading) {
  const chain = { now: first as ChainReading | Error, reads: 0, wake: null as (() => void) | null };
  const reader: StageReader = {
    async read() {
      chain.reads++;
      if (chain.now instanceof Error) throw chain.now;
      return chain.now;
    },
    watch(wake) {
      chain.wake = wake;
      return () => (chain.wake = null);
    },
  };
  return { chain, reader };
}

describe('judgeReading', () => {
  it('maps a one-stage counter onto game stages and a three-stage one directly', () => {
    expect(judgeReading(at(7), null, 0)).toMatchObject({ ok: true, position: { round: 2, stage: 'critique' } });
    expect(judgeReading(at(4, 2, 3), null, 0)).toMatchObject({ ok: true, position: { round: 4, stage: 'resolve' }, chain: { round: 4, stage: 2, stagesPerRound: 3 } });
  });

  it('refuses going back, jumping far, garbage and counters that are no game', () => {
    const last = { round: 3, stage: 'critique' as const };
    expect(judgeReading(at(9), last, 2_000)).toEqual({ ok: false, reason: 'refused: the coordinator went back from critique of round 3 to answer of round 3' });
    // 30 stages of slack + 2 for the 2 s since the last reading
    expect(judgeReading(at(10 + 32), last, 2_000).ok).toBe(true);
    expect(judgeReading(at(10 + 33), last, 2_000)).toEqual({ ok: false, reason: 'refused: a jump of 33 stages (from critique of round 3 to critique of round 14; at most 32 here)' });
    // a tab paused for ten minutes may be 600 stages behind
    expect(judgeReading(at(10 + 600), last, 600_000).ok).toBe(true);
    expect(judgeReading({ round: 1 } as never, null, 0)).toEqual({ ok: false, reason: 'the chain answered something that is not a stage counter' });
    expect(judgeReading(null as never, null, 0).ok).toBe(false);
    expect(judgeReading(at(2 ** 41), null, 0)).toMatchObject({ ok: false, reason: /out of range/ });
    expect(judgeReading(at(1, 0, 2), null, 0)).toEqual({ ok: false, reason: 'a coordinator with 2 stages a round cannot pace the 3-stage game' });
    expect(judgeReading(at(1, 1, 1), null, 0)).toEqual({ ok: false, reason: 'a one-stage coordinator reported stage 1' });
  });
});

describe('GamePace', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function start(first: ChainReading) {
    const { chain, reader } = handChain(first);
    const forwarded: ChainStage[] = [];
    const statuses: PaceStatus[] = [];
    let fellBack = 0;
    const pace = new GamePace({ reader, onPosition: (c) => forwarded.push(c), onStatus: (s) => statuses.push(s), onFallBack: () => fellBack++, now: () => Date.now() });
    return { chain, pace, forwarded, statuses, fellBack: () => fellBack };
  }

  it('forwards each forward move once, from the poll and from a chain event', async () => {
    const t = start(at(3));
    expect(await t.pace.start()).toEqual({ pace: 'coordinator', chain: { round: 3, stage: 0, stagesPerRound: 1 }, position: { round: 1, stage: 'answer' }, refused: null });
    expect(t.forwarded).toEqual([]); // nothing before run: the worker's game is not started yet
    t.pace.run();
    expect(t.forwarded.map((c) => c.round)).toEqual([3]);
    t.chain.now = at(4);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(t.forwarded.map((c) => c.round)).toEqual([3, 4]);
    // the same position again is not forwarded
    await vi.advanceTimersByTimeAsync(2_000);
    expect(t.forwarded.map((c) => c.round)).toEqual([3, 4]);
    expect(t.chain.reads).toBe(3);
    // an event reads at once, without waiting for the poll
    t.chain.now = at(5);
    t.chain.wake!();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.forwarded.map((c) => c.round)).toEqual([3, 4, 5]);
    expect(t.pace.gameRound).toBe(1);
    t.pace.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.chain.reads).toBe(4);
    expect(t.chain.wake).toBeNull();
  });

  it('refuses a counter that goes back or jumps, with the reason, and keeps its position', async () => {
    const t = start(at(6));
    await t.pace.start();
    t.pace.run();
    t.chain.now = at(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(t.statuses.at(-1)).toMatchObject({ pace: 'coordinator', position: { round: 2, stage: 'answer' }, refused: 'refused: the coordinator went back from answer of round 2 to resolve of round 0' });
    expect(describePace(t.statuses.at(-1)!)).toBe('stages: coordinator contract (last reading refused: the coordinator went back from answer of round 2 to resolve of round 0)');
    // backed off: the next read is 4 s later, not 2
    const reads = t.chain.reads;
    t.chain.now = at(6 + 1000);
    await vi.advanceTimersByTimeAsync(3_900);
    expect(t.chain.reads).toBe(reads);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.chain.reads).toBe(reads + 1);
    expect(t.statuses.at(-1)).toMatchObject({ refused: expect.stringMatching(/^refused: a jump of 1000 stages/) });
    expect(t.forwarded.map((c) => c.round)).toEqual([6]);
    // an honest reading clears the refusal and the back-off
    t.chain.now = at(7);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(t.forwarded.map((c) => c.round)).toEqual([6, 7]);
    expect(t.statuses.at(-1)).toMatchObject({ refused: null });
    t.pace.stop();
  });

  it('backs off on errors and, after three in a row, goes over to the swarm clock and says why', async () => {
    const t = start(at(0));
    await t.pace.start();
    t.pace.run();
    t.chain.now = new Error('fetch failed');
    const readsAt: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 60 && t.fellBack() === 0; i++) {
      const before = t.chain.reads;
      await vi.advanceTimersByTimeAsync(500);
      if (t.chain.reads > before) readsAt.push(Date.now() - t0);
    }
    // 2 s, then 4 s later, then 8 s later
    expect(readsAt).toEqual([2_000, 6_000, 14_000]);
    expect(t.fellBack()).toBe(1);
    const last = t.statuses.at(-1)!;
    expect(last).toEqual({ pace: 'clock', reason: 'chain unreachable: 3 readings in a row failed, the last: fetch failed' });
    expect(describePace(last)).toBe('stages: swarm clock (chain unreachable: 3 readings in a row failed, the last: fetch failed)');
    expect(t.pace.gameRound).toBeNull();
    // for good: the chain coming back does not flip the game back (the clock's rounds are far ahead)
    t.chain.now = at(5);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.chain.reads).toBe(4);
    expect(t.forwarded.map((c) => c.round)).toEqual([0]);
  });

  it('a first reading that fails, times out or is garbage leaves the game on the swarm clock', async () => {
    const failing = start(at(0));
    failing.chain.now = new Error('connection refused');
    expect(await failing.pace.start()).toEqual({ pace: 'clock', reason: 'chain unreachable: connection refused' });
    failing.pace.run();
    expect(failing.forwarded).toEqual([]);
    expect(failing.fellBack()).toBe(0); // nothing was paced by the chain yet

    const garbage = start(at(4, 1, 5));
    expect(await garbage.pace.start()).toEqual({ pace: 'clock', reason: 'chain unreachable: a coordinator with 5 stages a round cannot pace the 3-stage game' });

    const silent = new GamePace({ reader: { read: () => new Promise(() => undefined) }, onPosition: () => undefined, onStatus: () => undefined });
    const status = silent.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await status).toEqual({ pace: 'clock', reason: 'chain unreachable: no answer in 5 s' });
  });
});

describe('paceGame', () => {
  it('without a chain, the swarm clock paces and nothing is read', async () => {
    const statuses: PaceStatus[] = [];
    const follow = vi.fn();
    expect(await paceGame({ chain: undefined, swarm: { validator: { followGameRounds: follow } as never }, onStatus: (s) => statuses.push(s) })).toBeNull();
    expect(statuses).toEqual([{ pace: 'clock', reason: null }]);
    expect(describePace(statuses[0])).toBe('stages: swarm clock');
    expect(follow).not.toHaveBeenCalled();
  });

  it('a first reading that fails points the validator back at the clock (an earlier pace may have set it)', async () => {
    const { chain, reader } = handChain(at(0));
    chain.now = new Error('down');
    const follow = vi.fn();
    const pace = await paceGame({ chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:1', coordinator: '0x0000000000000000000000000000000000000001' }, swarm: { validator: { followGameRounds: follow } } as never, reader, onStatus: () => undefined });
    expect(pace!.status).toEqual({ pace: 'clock', reason: 'chain unreachable: down' });
    expect(follow.mock.calls).toEqual([[null]]);
  });

  it('points the validator at the chain round while the chain paces, and back at the clock when it is lost', async () => {
    vi.useFakeTimers();
    try {
      const { chain, reader } = handChain(at(10));
      let source: (() => number | null) | null = null;
      const validator = { followGameRounds: (s: (() => number | null) | null) => (source = s) };
      const forwarded: (ChainStage | null)[] = [];
      const pace = await paceGame({ chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:1', coordinator: '0x0000000000000000000000000000000000000001' }, swarm: { validator } as never, reader, forward: (p) => forwarded.push(p), onStatus: () => undefined });
      expect(source!()).toBe(3);
      pace!.run();
      chain.now = new Error('down');
      await vi.advanceTimersByTimeAsync(20_000);
      expect(source).toBeNull();
      expect(forwarded).toEqual([{ round: 10, stage: 0, stagesPerRound: 1 }, null]);
    } finally {
      vi.useRealTimers();
    }
  });
});
