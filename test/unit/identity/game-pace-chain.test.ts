// The game's pacing against the real local chain: anvil, the coordinator contract, the stage manager's
// advanceStage transactions. The pace module reads the counter through viem, hears StageAdvanced, reports
// each new game position, and goes over to the swarm clock when the chain goes away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paceGame, type PaceStatus } from '../../../src/app/lib/game-pace.ts';
import type { ChainStage } from '../../../src/worker/protocol.ts';
import { startChainFixture, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
beforeAll(async () => {
  // the local chain's deployment: one stage a round, so each advance is one game stage
  fx = await startChainFixture(1);
});
afterAll(async () => {
  await fx?.stop();
});

async function until(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
}

describe('game pacing on the local chain', () => {
  it('follows the coordinator counter as transactions advance it, woken by StageAdvanced', async () => {
    const chain = { chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, coordinator: fx.coordinator };
    const forwarded: (ChainStage | null)[] = [];
    const statuses: PaceStatus[] = [];
    const validator = { followGameRounds: (s: (() => number | null) | null) => (source = s) };
    let source: (() => number | null) | null = null;
    // a poll far slower than the test: only the event can bring the new stages in time
    const pace = await paceGame({ chain, swarm: { validator } as never, forward: (p) => forwarded.push(p), onStatus: (s) => statuses.push(s), limits: { pollMs: 60_000 } });
    try {
      expect(pace!.status).toEqual({ pace: 'coordinator', chain: { round: 0, stage: 0, stagesPerRound: 1 }, position: { round: 0, stage: 'answer' }, refused: null });
      pace!.run();
      expect(forwarded).toEqual([{ round: 0, stage: 0, stagesPerRound: 1 }]);
      for (const expected of [1, 2, 3, 4]) {
        await fx.actors.coordinator.call('advanceStage', []);
        await until(() => forwarded.length > expected, 10_000);
        expect(forwarded.at(-1)).toEqual({ round: expected, stage: 0, stagesPerRound: 1 });
      }
      // chain round 4 is game round 1's critique; the validator judges game messages by that round
      expect(statuses.at(-1)).toMatchObject({ pace: 'coordinator', position: { round: 1, stage: 'critique' } });
      expect(source!()).toBe(1);
      expect(forwarded).toHaveLength(5); // each stage once
    } finally {
      pace?.stop();
    }
  }, 60_000);

  it('a chain that goes away hands the game to the swarm clock, with the reason', async () => {
    const chain = { chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, coordinator: fx.coordinator };
    const forwarded: (ChainStage | null)[] = [];
    const statuses: PaceStatus[] = [];
    const pace = await paceGame({ chain, swarm: { validator: { followGameRounds: () => undefined } } as never, forward: (p) => forwarded.push(p), onStatus: (s) => statuses.push(s), limits: { pollMs: 100, maxBackoffMs: 400, readTimeoutMs: 2_000 } });
    try {
      expect(pace!.status.pace).toBe('coordinator');
      pace!.run();
      await fx.stop();
      await until(() => statuses.at(-1)?.pace === 'clock', 15_000);
      expect(statuses.at(-1)).toEqual({ pace: 'clock', reason: expect.stringMatching(/^chain unreachable: 3 readings in a row failed, the last: /) });
      expect(forwarded.at(-1)).toBeNull();
    } finally {
      pace?.stop();
    }
    // a tab that opens now never leaves the clock
    const late = await paceGame({ chain, swarm: { validator: { followGameRounds: () => undefined } } as never, onStatus: () => undefined, limits: { readTimeoutMs: 2_000 } });
    // one line, viem's short message (not its request dump and call log)
    expect(late!.status).toEqual({ pace: 'clock', reason: expect.stringMatching(/^chain unreachable: HTTP request failed\.[^\n]*$/) });
  }, 30_000);
});
