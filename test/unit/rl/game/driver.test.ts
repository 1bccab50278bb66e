// The clock driver: positions from a hand-moved clock, no overlapping ticks, a slow stage finished before
// the next and the skipped one reported by the stage machine.
import { describe, expect, it } from 'vitest';
import { GameDriver } from '../../../../src/rl/game/driver.ts';
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
});
