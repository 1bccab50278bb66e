// The clock driver: positions from a hand-moved clock, no overlapping ticks, a slow stage finished before
// the next and the skipped one reported by the stage machine.
import { describe, expect, it } from 'vitest';
import { GameDriver } from '../../../../src/rl/game/driver.ts';
import { GameError, positionFromChain, type StagePosition } from '../../../../src/rl/game/machine.ts';
import { defaultGameConfig, GameRunner, type GameEvent } from '../../../../src/rl/game/runner.ts';
import { InMemoryGameBus } from '../../../../src/rl/game/transport.ts';
import { charTokenizer, ScriptedEngine } from '../fakes.ts';

describe('GameDriver', () => {
  it('moves the runner along the clock, one tick at a time, and reports skipped stages', async () => {
    let now = 999;
    const engine = new ScriptedEngine(() => '<answer>1</answer>');
    const runner = new GameRunner(engine, charTokenizer, new InMemoryGameBus().connect('solo'), defaultGameConfig({ swarmId: 'g', questions: 1, completions: 2 }));
    const events: GameEvent[] = [];
    runner.on((e) => events.push(e));
    const driver = new GameDriver({ runner, now: () => now, genesisMs: 1_000, stageMs: 100 });
    expect(await driver.tick()).toEqual([]);
    expect(driver.position).toBeNull();
    now = 1_000;
    // two ticks at once: the second finds the first in flight and does nothing
    const [first, second] = await Promise.all([driver.tick(), driver.tick()]);
    expect(first.map((r) => r.stage)).toEqual(['answer']);
    expect(second).toEqual([]);
    expect(await driver.tick()).toEqual([]);
    // the clock jumps over the critique: resolve is played, the critique reported missed
    now = 1_250;
    await driver.tick();
    expect(driver.position).toEqual({ round: 0, stage: 'resolve' });
    expect(events.filter((e) => e.type === 'missed').map((e) => (e.type === 'missed' ? e.reason : ''))).toEqual(['the clock skipped this stage']);
    now = 1_300;
    const next = await driver.tick();
    expect(next.map((r) => [r.round, r.stage])).toEqual([[1, 'answer']]);
    await driver.stop();
  });

  it('follows the coordinator\'s counter instead of the clock, and checkpoints after each stage it played', async () => {
    const runner = new GameRunner(new ScriptedEngine(() => '<answer>1</answer>'), charTokenizer, new InMemoryGameBus().connect('solo'), defaultGameConfig({ swarmId: 'g', questions: 1, completions: 2 }));
    let chain: StagePosition | null = null;
    const saved: string[] = [];
    // the clock says round 40 all along: a driver that read it would play round 40
    const driver = new GameDriver({
      runner, now: () => 1_000_000, genesisMs: 0, stageMs: 100, position: () => chain,
      afterPlay: async (reports) => void saved.push(reports.map((r) => `${r.round}/${r.stage}`).join(',')),
    });
    expect(await driver.tick()).toEqual([]);
    // a one-stage coordinator (the local chain) at round 6 is game round 2's answer stage
    chain = positionFromChain(6, 0, 1);
    expect((await driver.tick()).map((r) => [r.round, r.stage])).toEqual([[2, 'answer']]);
    chain = positionFromChain(7, 0, 1);
    expect((await driver.tick()).map((r) => [r.round, r.stage])).toEqual([[2, 'critique']]);
    // the counter has not moved: nothing is played again, nothing saved again
    expect(await driver.tick()).toEqual([]);
    expect(saved).toEqual(['2/answer', '2/critique']);
    await driver.stop();
  });
});

describe('positionFromChain', () => {
  it('maps a three-stage and a one-stage coordinator; refuses other counters by name', () => {
    expect(positionFromChain(5, 2, 3)).toEqual({ round: 5, stage: 'resolve' });
    expect([0, 1, 2, 3, 4].map((n) => positionFromChain(n, 0, 1))).toEqual([
      { round: 0, stage: 'answer' }, { round: 0, stage: 'critique' }, { round: 0, stage: 'resolve' }, { round: 1, stage: 'answer' }, { round: 1, stage: 'critique' },
    ]);
    expect(() => positionFromChain(5, 3, 3)).toThrow(GameError);
    expect(() => positionFromChain(5, 1, 1)).toThrow(/one-stage coordinator reported stage 1/);
    expect(() => positionFromChain(-1, 0, 1)).toThrow(GameError);
    expect(() => positionFromChain(2 ** 60, 0, 1)).toThrow(GameError);
    expect(() => positionFromChain(5, 0, 2)).toThrow(/2 stages a round cannot pace/);
  });
});
