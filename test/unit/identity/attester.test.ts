// Tabs attesting each other (src/app/identity/attester.ts) through the coordinator's attestation relay, on a real
// anvil: two registered burners re-score a peer's gossiped batch, sign the same value, and the contract records it;
// a forged batch earns no attestation; the coordinator's own verified submission of the same slot adds nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { attestRound, type AttesterDeps } from '../../../src/app/identity/attester.ts';
import { signRewardAttestation } from '../../../src/identity/attestation.ts';
import { encodeSignedBinding } from '../../../src/identity/binding.ts';
import { CoordinatorServiceClient, rewardToUnits } from '../../../src/identity/coordinator.ts';
import { parseRoundMapping } from '../../../src/identity/round-mapping.ts';
import { startVerifiedCoordinatorService, type VerifiedCoordinatorService } from '../../../relay/coordinator/verified-service.ts';
import { DEV_KEYS } from '../../../scripts/lib/chain.ts';
import { newPeer, signedBinding, startChainFixture, SWARM, type ChainFixture } from './fixture.ts';
import { honestBatch, meanReward, MemorySource, shapeFor } from './rescore-fixture.ts';

const shape = shapeFor(SWARM);
let fx: ChainFixture;
let service: VerifiedCoordinatorService;
let api: CoordinatorServiceClient;
const source = new MemorySource();
type Peer = Awaited<ReturnType<typeof newPeer>>;
let subject: Peer, liar: Peer;
const burners: { account: PrivateKeyAccount; peer: Peer }[] = [];

beforeAll(async () => {
  fx = await startChainFixture(1);
  source.round = 50;
  service = await startVerifiedCoordinatorService({
    rpcUrl: fx.chain.rpcUrl, chainId: fx.chain.chainId, coordinator: fx.coordinator, privateKey: DEV_KEYS.coordinator, swarmId: SWARM,
    source, shape, tickMs: 60_000, batchMs: 60_000, auditMs: 60_000, log: () => undefined,
  });
  api = new CoordinatorServiceClient(service.url);
  [subject, liar] = [await newPeer(), await newPeer()];
  await api.register(encodeSignedBinding(await signedBinding(fx, fx.actors.user1.account, subject)));
  await api.register(encodeSignedBinding(await signedBinding(fx, fx.actors.user2.account, liar)));
  for (let i = 0; i < 2; i++) {
    // burners hold no gas: they register through the relayer, as tabs do
    const account = privateKeyToAccount(generatePrivateKey());
    const peer = await newPeer();
    await api.register(encodeSignedBinding(await signedBinding(fx, account, peer)));
    burners.push({ account, peer });
  }
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await fx?.stop();
});

const depsOf = (b: (typeof burners)[number]): AttesterDeps => ({
  shape,
  selfPeerId: b.peer.peerId,
  sign: (a) => signRewardAttestation(b.account, a, { chainId: fx.chain.chainId, verifyingContract: fx.coordinator }),
  post: (w) => api.attest(w),
});

describe('tabs attest each other', () => {
  it('records the value two registered tabs re-scored, and never a forged batch', async () => {
    const mapping = parseRoundMapping((await api.health()).mapping);
    expect(mapping, 'the verified service publishes its mapping').not.toBeNull();
    const good = honestBatch(shape, 50, subject.peerId, 3);
    const forged = honestBatch(shape, 50, liar.peerId, 0);
    for (const c of forged.rollouts.flatMap((r) => r.completions)) c.reward = 1.1;
    for (const b of burners) {
      const own = honestBatch(shape, 50, b.peer.peerId, 4);
      expect(await attestRound(50, [good, forged, own, good], mapping, depsOf(b)), 'one attestation: the good batch, once; never its own').toBe(1);
    }
    expect(await service.flushAttestations()).toBe(1);
    const expected = rewardToUnits(meanReward(good));
    expect(await fx.read('totalRewards', [subject.peerId])).toBe(expected);
    expect(await fx.read('totalRewards', [liar.peerId])).toBe(0n);

    // the coordinator's own re-score of the same slot is the same value, and the chain takes a slot once
    source.publish(good);
    source.round = 52;
    await service.tick();
    expect(await fx.read('totalRewards', [subject.peerId])).toBe(expected);
  });

  it('attests nothing without a local key, a mapping, or with several swarm rounds per stage', async () => {
    const batch = honestBatch(shape, 60, subject.peerId, 2);
    const mapping = { baseSwarmRound: 50, roundsPerStage: 1, stagesPerRound: 1 };
    expect(await attestRound(60, [batch], mapping, { ...depsOf(burners[0]), sign: null })).toBe(0);
    expect(await attestRound(60, [batch], null, depsOf(burners[0]))).toBe(0);
    expect(await attestRound(60, [batch], { ...mapping, roundsPerStage: 2 }, depsOf(burners[0]))).toBe(0);
    expect(await attestRound(40, [honestBatch(shape, 40, subject.peerId, 2)], mapping, depsOf(burners[0])), 'a round before the mapping').toBe(0);
  });
});
