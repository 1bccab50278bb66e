// Rewards the chain can trust, on a real anvil: the coordinator service in verified mode re-scores what peers
// gossiped (an in-memory source here; test/unit/identity/verified-gossip.test.ts follows real gossip), steps the
// chain with the swarm clock, and records exactly the re-scored values and winners. Forged, out-of-range and
// overflowing rewards never reach the chain and never block anyone else's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSignedBinding } from '../../../src/identity/binding.ts';
import { CoordinatorServiceClient, CoordinatorServiceError, MAX_REWARD_UNITS, rewardToUnits, signRewardReport } from '../../../src/identity/coordinator.ts';
import { startVerifiedCoordinatorService, type VerifiedCoordinatorService } from '../../../relay/coordinator/verified-service.ts';
import { DEV_KEYS } from '../../../scripts/lib/chain.ts';
import { newPeer, revertName, signedBinding, startChainFixture, SWARM, type ChainFixture } from './fixture.ts';
import { honestBatch, meanReward, MemorySource, shapeFor } from './rescore-fixture.ts';

const shape = shapeFor(SWARM);
let fx: ChainFixture;
let service: VerifiedCoordinatorService;
let api: CoordinatorServiceClient;
const source = new MemorySource();
const logs: string[] = [];
type Peer = Awaited<ReturnType<typeof newPeer>>;
let honest: Peer, modest: Peer, liar: Peer, stranger: Peer;

beforeAll(async () => {
  fx = await startChainFixture(1);
  source.round = 50; // the swarm is well under way when the service starts: chain slot 0 = swarm round 50
  service = await startVerifiedCoordinatorService({
    rpcUrl: fx.chain.rpcUrl, chainId: fx.chain.chainId, coordinator: fx.coordinator, privateKey: DEV_KEYS.coordinator, swarmId: SWARM,
    source, shape, tickMs: 60_000, batchMs: 60_000, auditMs: 60_000, log: (l) => logs.push(l),
  });
  api = new CoordinatorServiceClient(service.url);
  [honest, modest, liar, stranger] = [await newPeer(), await newPeer(), await newPeer(), await newPeer()];
  const users = [fx.actors.user1, fx.actors.user2, fx.actors.user3];
  for (const [i, p] of [honest, modest, liar].entries()) await api.register(encodeSignedBinding(await signedBinding(fx, users[i].account, p)));
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await fx?.stop();
});

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CoordinatorServiceError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the service to refuse the report');
}

describe('verified rewards on chain', () => {
  it('records the re-scored rewards of a swarm round, refuses disagreeing and forged reports, and names the winner', async () => {
    const ctx = { chainId: fx.chain.chainId, coordinator: fx.coordinator };
    const h = honestBatch(shape, 50, honest.peerId, 3);
    const m = honestBatch(shape, 50, modest.peerId, 1);
    const forged = honestBatch(shape, 50, liar.peerId, 0);
    for (const c of forged.rollouts.flatMap((r) => r.completions)) c.reward = 1.1; // model-free claims of a perfect round
    for (const b of [h, m, forged, honestBatch(shape, 50, stranger.peerId, 4)]) source.publish(b);
    expect((await api.health()) as unknown, 'the mapping is public').toMatchObject({ mapping: { baseSwarmRound: 50, roundsPerStage: 1, stagesPerRound: 1 } });

    const report = (p: Peer, units: bigint) => signRewardReport({ peerId: p.peerId, round: 0n, stage: 0n, reward: units }, ctx, p.key);
    expect(await api.reportReward(await report(honest, rewardToUnits(meanReward(h)))), 'a report that agrees').toMatchObject({ agreed: true, queued: false });
    expect(await refusal(api.reportReward(await report(modest, rewardToUnits(1.1)))), 'a report above its rollouts').toMatchObject({
      status: 409, code: 'disagrees-with-rescore', message: `reported 1100 units, the rollouts re-score to ${rewardToUnits(meanReward(m))}`,
    });
    expect(await refusal(api.reportReward(await report(liar, rewardToUnits(1.1)))), 'a report on forged claims').toMatchObject({ status: 409, code: 'not-rescored', message: expect.stringMatching(/refused: claimed reward/) });
    const signed = await report(honest, 5n);
    expect(await refusal(api.reportReward({ ...signed, reward: (MAX_REWARD_UNITS + 1n).toString() })), 'over the bound').toMatchObject({ status: 400, message: expect.stringMatching(/over the bound/) });
    expect(await refusal(api.reportReward({ ...signed, reward: (2n ** 256n).toString() })), 'an overflowing value').toMatchObject({ status: 400, message: expect.stringMatching(/decimal/) });

    source.round = 51;
    await service.tick();
    expect(await fx.read('totalRewards', [honest.peerId]), 'nothing before the round is final').toBe(0n);
    source.round = 52;
    await service.tick();
    expect(await fx.read('currentRound'), 'the chain follows the swarm clock').toBe(2n);
    expect(await fx.read('totalRewards', [honest.peerId]), 'the honest peer: its re-score').toBe(rewardToUnits(meanReward(h)));
    expect(await fx.read('totalRewards', [modest.peerId]), 'the modest peer: its re-score, not its claim').toBe(rewardToUnits(meanReward(m)));
    expect(await fx.read('totalRewards', [liar.peerId]), 'forged rollouts earn nothing').toBe(0n);
    expect(await fx.read('rewardSubmitted', [0n, 0n, liar.peerId])).toBe(false);
    expect(await fx.read('totalWins', [honest.peerId]), 'the winner from the same scores').toBe(1n);
    expect(await fx.read('totalWins', [modest.peerId])).toBe(0n);
    expect(await fx.read('roundWinnersSubmitted', [0n])).toBe(true);

    const { refusals } = (await (await fetch(`${service.url}/refusals`)).json()) as { refusals: { peerId: string; reason: string }[] };
    expect(refusals.map((r) => r.peerId), 'refusals are exposed with their reasons').toEqual(expect.arrayContaining([modest.peerId, liar.peerId]));
    expect(logs.some((l) => l.includes(`refused the report of ${modest.peerId}`)), 'and logged').toBe(true);
  });

  it('a bad entry in a batch is skipped and never blocks the others', async () => {
    const nobody = await newPeer();
    // slot 1 (swarm round 51) had no rollouts; the chain is at round 2, so round 1 is open and nobody has a reward there
    const reports = [
      { peerId: nobody.peerId, round: 1n, stage: 0n, reward: 10n },
      { peerId: modest.peerId, round: 1n, stage: 0n, reward: 2n ** 255n },
      { peerId: honest.peerId, round: 1n, stage: 0n, reward: 123n },
    ];
    const before = (await fx.read('totalRewards', [honest.peerId])) as bigint;
    expect(await service.submitRewards(1n, 0n, reports)).toBe(true);
    expect(await fx.read('totalRewards', [honest.peerId])).toBe(before + 123n);
    expect(await fx.read('rewardSubmitted', [1n, 0n, modest.peerId]), 'the overflowing entry was skipped').toBe(false);
    expect(logs.some((l) => /skipped .*not-registered.*reward-too-large/.test(l)), 'the skips are logged with reasons').toBe(true);
  });

  it('takes a round\'s winners from the stage manager only, once, skipping unknown and repeated names', async () => {
    const { user1 } = fx.actors;
    expect(await revertName(user1.call('submitRoundWinners', [1n, [honest.peerId]]))).toBe('NotStageManager');
    expect(await service.submitRoundWinners(1n, ['QmNobody', modest.peerId, modest.peerId])).toBe(true);
    expect(await fx.read('totalWins', [modest.peerId])).toBe(1n);
    expect(await service.submitRoundWinners(1n, [modest.peerId]), 'once per round').toBe(false);
    expect(await service.submitRoundWinners(99n, [modest.peerId]), 'not a future round').toBe(false);
    expect(await fx.read('totalWins', [modest.peerId])).toBe(1n);
  });
});
