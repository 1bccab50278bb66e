// The coordinator's own re-scoring and the swarm-round <-> chain (round, stage) mapping (pure code), and the
// verified-rewards loop against a recording chain sink (the real chain is in verified-rewards.test.ts).
import { describe, expect, it } from 'vitest';
import {
  chainSlotOf, checkMapping, mappingAt, rescoreBatch, roundWinners, RoundMappingError, slotReward, swarmRoundsOf, MAX_ROUND_WINNERS,
} from '../../../relay/coordinator/rescore.ts';
import { VerifiedRewards, type RewardSink } from '../../../relay/coordinator/verified.ts';
import { parseRoundMapping, reportSlot, RoundMappingCache } from '../../../src/identity/round-mapping.ts';
import { rewardToUnits, type RewardReport } from '../../../src/identity/coordinator.ts';
import { honestBatch, meanReward, MemorySource, shapeFor } from './rescore-fixture.ts';

const shape = shapeFor('unit');

describe('swarm round <-> chain slot mapping', () => {
  it('maps one swarm round per stage, both ways, from where the chain was taken over', () => {
    // the service took over at chain round 2 stage 1 (slot 5 with 2 stages a round) during swarm round 40
    const m = mappingAt(40, 5, 1, 2);
    expect(m.baseSwarmRound).toBe(35);
    expect(chainSlotOf(40, m)).toEqual({ round: 2n, stage: 1n, slot: 5 });
    expect(chainSlotOf(41, m)).toEqual({ round: 3n, stage: 0n, slot: 6 });
    expect(chainSlotOf(34, m)).toBeNull();
    for (let r = 35; r < 60; r++) {
      const { round, stage } = chainSlotOf(r, m)!;
      expect(swarmRoundsOf(round, stage, m), `round ${r}`).toMatchObject({ first: r, last: r });
    }
  });

  it('groups several swarm rounds into one stage when asked, with no gap and no overlap', () => {
    const m = mappingAt(100, 0, 3, 1);
    expect(swarmRoundsOf(0n, 0n, m)).toEqual({ first: 100, last: 102, slot: 0 });
    expect(swarmRoundsOf(1n, 0n, m)).toEqual({ first: 103, last: 105, slot: 1 });
    expect([100, 102, 103].map((r) => chainSlotOf(r, m)?.slot)).toEqual([0, 0, 1]);
    expect(swarmRoundsOf(0n, 1n, m), 'a stage the contract does not have').toBeNull();
    expect(swarmRoundsOf(2n ** 70n, 0n, m), 'a round past any safe integer').toBeNull();
  });

  it("tells a tab which (round, stage) its swarm round's reward goes to, from a checked mapping", async () => {
    const current = { round: 9n, stage: 0n };
    const m = parseRoundMapping({ baseSwarmRound: 20, roundsPerStage: 1, stagesPerRound: 1, extra: 'ignored' });
    expect(m).toEqual({ baseSwarmRound: 20, roundsPerStage: 1, stagesPerRound: 1 });
    expect(reportSlot(23, m, current)).toEqual({ round: 3n, stage: 0n });
    expect(reportSlot(19, m, current), 'a round before the service took over').toBeNull();
    expect(reportSlot(23, null, current), 'no mapping: the chain stage, as before').toBe(current);
    for (const bad of [null, 'x', { baseSwarmRound: '1', roundsPerStage: 1, stagesPerRound: 1 }, { baseSwarmRound: 1, roundsPerStage: -1, stagesPerRound: 1 }]) {
      expect(parseRoundMapping(bad), JSON.stringify(bad)).toBeNull();
    }
    let now = 0;
    let reads = 0;
    const cache = new RoundMappingCache(async () => (reads++, { mapping: { baseSwarmRound: reads, roundsPerStage: 1, stagesPerRound: 1 } }), () => now);
    expect((await cache.get())?.baseSwarmRound).toBe(1);
    now = 59_000;
    expect((await cache.get())?.baseSwarmRound, 'cached for a minute').toBe(1);
    now = 61_000;
    expect((await cache.get())?.baseSwarmRound).toBe(2);
    const down = new RoundMappingCache(() => Promise.reject(new Error('unreachable')));
    expect(await down.get(), 'an unreachable service means no mapping').toBeNull();
  });

  it('refuses a mapping the contract cannot have', () => {
    expect(() => checkMapping({ baseSwarmRound: 0, roundsPerStage: 0, stagesPerRound: 1 })).toThrow(RoundMappingError);
    expect(() => checkMapping({ baseSwarmRound: 0, roundsPerStage: 1, stagesPerRound: 17 })).toThrow(/stagesPerRound/);
    expect(() => checkMapping({ baseSwarmRound: 0.5, roundsPerStage: 1, stagesPerRound: 1 })).toThrow(/baseSwarmRound/);
  });
});

describe('re-scoring a gossiped batch', () => {
  it("gives an honest batch the tab's own mean reward, in units", () => {
    for (const correct of [0, 1, 3, 4]) {
      const batch = honestBatch(shape, 7, 'peer-a', correct);
      const verdict = rescoreBatch(batch, shape);
      expect(verdict.ok, `correct=${correct}`).toBe(true);
      if (!verdict.ok) continue;
      expect(verdict.completions).toBe(8);
      expect(slotReward([verdict]), `correct=${correct}`).toBe(rewardToUnits(meanReward(batch)));
    }
  });

  it('refuses forged claims, foreign or repeated tasks, partial groups, oversized text and other swarms, with a reason', () => {
    const good = honestBatch(shape, 7, 'peer-a', 2);
    const forged = structuredClone(good);
    forged.rollouts[0].completions[3].reward = 1.1;
    expect(rescoreBatch(forged, shape)).toMatchObject({ ok: false, reason: expect.stringMatching(/claimed reward 1.1/) });
    const stolen = { ...good, peerId: 'peer-b' }; // peer-a's tasks are not peer-b's
    expect(rescoreBatch(stolen, shape)).toMatchObject({ ok: false, reason: expect.stringMatching(/not one of the sender's tasks/) });
    const repeated = { ...good, rollouts: [good.rollouts[0], good.rollouts[0]] };
    expect(rescoreBatch(repeated, shape)).toMatchObject({ ok: false, reason: expect.stringMatching(/not one of the sender's tasks/) });
    const cherry = { ...good, rollouts: [good.rollouts[0]] };
    expect(rescoreBatch(cherry, shape)).toMatchObject({ ok: false, reason: expect.stringMatching(/1 groups, an honest one 2/) });
    const short = structuredClone(good);
    short.rollouts[1].completions.pop();
    expect(rescoreBatch(short, shape)).toMatchObject({ ok: false, reason: expect.stringMatching(/3 completions/) });
    const long = structuredClone(good);
    long.rollouts[0].completions[0].text += 'x'.repeat(5000);
    expect(rescoreBatch(long, shape)).toMatchObject({ ok: false, reason: expect.stringMatching(/characters/) });
    expect(rescoreBatch({ ...good, swarmId: 'other' }, shape)).toMatchObject({ ok: false, reason: 'batch of another swarm' });
    expect(rescoreBatch({ ...good, rollouts: null } as never, shape).ok).toBe(false);
  });

  it('averages a slot over completions and picks winners from the same scores', () => {
    expect(slotReward([])).toBeNull();
    expect(slotReward([{ units: 1100, completions: 2 }, { units: 0, completions: 2 }])).toBe(275n);
    expect(roundWinners(new Map([['b', 900n], ['a', 900n], ['c', 10n]]))).toEqual(['a', 'b']);
    expect(roundWinners(new Map([['a', 0n]])), 'nobody wins a round nobody scored in').toEqual([]);
    const many = new Map(Array.from({ length: 40 }, (_, i) => [`p${String(i).padStart(2, '0')}`, 5n] as const));
    expect(roundWinners(many)).toHaveLength(MAX_ROUND_WINNERS);
  });
});

/** A chain that records what it is sent (the loop's own logic under test; the contract is tested on anvil). */
function recordingSink(stagesPerRound: number, registered: Set<string>) {
  let slot = 0;
  const sent: { round: bigint; stage: bigint; reports: RewardReport[] }[] = [];
  const winners: { round: bigint; winners: string[] }[] = [];
  const parts = () => ({ round: BigInt(Math.floor(slot / stagesPerRound)), stage: BigInt(slot % stagesPerRound) });
  const sink: RewardSink = {
    readRoundStage: async () => parts(),
    advanceStage: async () => (slot++, parts()),
    submitRewards: async (round, stage, reports) => (sent.push({ round, stage, reports }), true),
    submitRoundWinners: async (round, w) => (winners.push({ round, winners: w }), true),
    isRegistered: async (peerId) => registered.has(peerId),
  };
  return { sink, sent, winners, slot: () => slot };
}

describe('verified rewards loop', () => {
  it('steps the chain with the swarm clock and submits only re-scored rewards, once each round is final', async () => {
    const source = new MemorySource();
    source.round = 10;
    const chain = recordingSink(1, new Set(['peer-a', 'peer-b', 'liar']));
    const refusals: string[] = [];
    const verified = new VerifiedRewards({ shape, stagesPerRound: 1, maxRewardPerReport: 2000n, rewardWindowRounds: 4n, log: (l) => refusals.push(l) });
    expect(await verified.start(chain.sink, source)).toEqual({ baseSwarmRound: 10, roundsPerStage: 1, stagesPerRound: 1 });

    const a = honestBatch(shape, 10, 'peer-a', 3);
    source.publish(a);
    source.publish(honestBatch(shape, 10, 'peer-b', 1));
    source.publish(honestBatch(shape, 10, 'stranger', 4)); // not registered: never sent
    const lie = honestBatch(shape, 10, 'liar', 0);
    lie.rollouts[0].completions[0].reward = 1.1;
    source.publish(lie);

    // the report check works on what has arrived, before the round is final
    expect(verified.expected({ peerId: 'peer-a', round: 0n, stage: 0n, reward: 0n })).toBe(rewardToUnits(meanReward(a)));
    expect(verified.expected({ peerId: 'liar', round: 0n, stage: 0n, reward: 0n })).toMatchObject({ reason: expect.stringMatching(/refused: claimed reward 1.1/) });
    expect(verified.expected({ peerId: 'nobody', round: 0n, stage: 0n, reward: 0n })).toMatchObject({ reason: expect.stringMatching(/no gossiped rollouts/) });

    source.round = 11;
    await verified.tick();
    expect(chain.slot(), 'the chain follows the clock').toBe(1);
    expect(chain.sent, 'round 10 is not final until a grace round has passed').toEqual([]);
    source.round = 12;
    await verified.tick();
    expect(chain.slot()).toBe(2);
    expect(chain.sent).toHaveLength(1);
    expect(chain.sent[0]).toMatchObject({ round: 0n, stage: 0n });
    expect(chain.sent[0].reports.map((r) => [r.peerId, r.reward])).toEqual([
      ['peer-a', rewardToUnits(meanReward(a))],
      ['peer-b', rewardToUnits(meanReward(honestBatch(shape, 10, 'peer-b', 1)))],
    ]);
    expect(chain.winners).toEqual([{ round: 0n, winners: ['peer-a'] }]);
    expect(verified.refusals()).toEqual([expect.objectContaining({ peerId: 'liar', what: 'swarm round 10', reason: expect.stringMatching(/claimed reward/) })]);

    // a batch arriving for a round already submitted changes nothing
    source.publish(honestBatch(shape, 10, 'late', 4));
    source.round = 13;
    await verified.tick();
    expect(chain.sent.flatMap((s) => s.reports.map((r) => r.peerId))).not.toContain('late');
    // a late self-report is checked against what was submitted, not against what arrived after
    expect(verified.expected({ peerId: 'peer-a', round: 0n, stage: 0n, reward: 0n })).toBe(rewardToUnits(meanReward(a)));
    expect(verified.expected({ peerId: 'late', round: 0n, stage: 0n, reward: 0n })).toMatchObject({ reason: expect.stringMatching(/no gossiped rollouts/) });
  });

  it('catches up a bounded number of stages per tick and averages several rounds per stage', async () => {
    const source = new MemorySource();
    const chain = recordingSink(2, new Set(['peer-a']));
    const verified = new VerifiedRewards({ shape, roundsPerStage: 2, stagesPerRound: 2, graceRounds: 0, maxRewardPerReport: 2000n, rewardWindowRounds: 4n, log: () => undefined });
    await verified.start(chain.sink, source);
    source.publish(honestBatch(shape, 0, 'peer-a', 4));
    source.publish(honestBatch(shape, 1, 'peer-a', 0));
    source.round = 100;
    await verified.tick();
    expect(chain.slot(), 'at most 8 advanceStage calls a tick').toBe(8);
    expect(chain.sent[0]).toMatchObject({ round: 0n, stage: 0n });
    // 8 completions at 1.1 (8800 units) and 8 at 0.1 or 0 (400): the slot's mean over all 16
    const expected = 575n;
    expect(chain.sent[0].reports).toEqual([{ peerId: 'peer-a', round: 0n, stage: 0n, reward: expected }]);
    expect(chain.winners, 'winners once the round has had all its stages').toEqual([{ round: 0n, winners: ['peer-a'] }]);
  });
});
