// k-of-n reward attestations on a real anvil: a reward counts only when k distinct registered accounts, none of
// them the peer's own, signed the same (round, stage, peer, reward); every bad entry of a batch is skipped with
// its reason and never blocks the good ones; anyone may send the batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLogs, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { attestedEntry, recoverAttester, signRewardAttestation, type RewardAttestation } from '../../../src/identity/attestation.ts';
import { REWARD_SKIP_REASONS } from '../../../src/identity/coordinator.ts';
import { swarmCoordinatorAbi } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { asTuple, newPeer, revertName, signedBinding, startChainFixture, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
let a: string; // registered by the deployer
let b: string; // registered by user3
const domain = () => ({ chainId: fx.chain.chainId, verifyingContract: fx.coordinator });

beforeAll(async () => {
  fx = await startChainFixture(1);
  const register = async (who: keyof ChainFixture['actors']) => {
    const peer = await newPeer();
    const s = await signedBinding(fx, fx.actors[who].account, peer);
    await fx.actors[who].call('registerPeer', [asTuple(s.binding), s.peerSignature, s.peerPublicKey]);
    return peer.peerId;
  };
  a = await register('deployer');
  b = await register('user3');
  await register('user1');
  await register('user2');
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

const sign = (account: PrivateKeyAccount, att: RewardAttestation) => signRewardAttestation(account, att, domain());

async function skipped(fromBlock: bigint) {
  const logs = await fx.client.getLogs({ address: fx.coordinator, fromBlock });
  return parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'RewardSkipped', logs }).map((l) => `${l.args.peerId === a ? 'a' : l.args.peerId === b ? 'b' : l.args.peerId}:${REWARD_SKIP_REASONS[l.args.reason]}`);
}

describe('k-of-n reward attestations', () => {
  it('records a reward only with k distinct registered attesters, skipping every bad entry of the batch', async () => {
    const { user1, user2, user3 } = fx.actors;
    const [u1, u2, u3] = [user1.account, user2.account, user3.account];
    const stranger = privateKeyToAccount(generatePrivateKey()); // never registered
    const att = (peerId: string, reward: bigint): RewardAttestation => ({ round: 0n, stage: 0n, peerId, reward });
    const entry = async (peerId: string, reward: bigint, signers: PrivateKeyAccount[], signedReward = reward) => {
      const sigs = await Promise.all(signers.map((s) => sign(s, att(peerId, signedReward))));
      return { peerId, reward, signatures: (await attestedEntry(att(peerId, signedReward), domain(), sigs)).signatures };
    };
    // raw signature lists, past attestedEntry's sorting and de-duplication: the contract's own checks
    const raw = async (peerId: string, reward: bigint, signers: PrivateKeyAccount[]) => ({ peerId, reward, signatures: await Promise.all(signers.map((s) => sign(s, att(peerId, reward)))) });
    const [low, high] = BigInt(u1.address) < BigInt(u2.address) ? [u1, u2] : [u2, u1];
    const entries = [
      await entry(a, 700n, [high, low]), // given out of order: attestedEntry sorts them
      await raw(b, 500n, [u1, u1]), // one signer twice
      await raw(b, 500n, [high, low]), // out of order: only the first counts
      await entry(b, 500n, [u1, stranger]), // an unregistered signer
      await entry(b, 500n, [u1, u2], 400n), // they signed 400, the entry says 500
      await entry(b, 2001n, [u1, u2]), // over the bound
      await entry(a, 700n, [u1, u2]), // already recorded above
      await entry(b, 500n, [u3, u1]), // b's own account cannot vouch for b
      await entry('QmNobody', 1n, [u1, u2]),
      await entry(b, 500n, [u1, u2]), // after every bad one: still recorded
    ];
    const from = (await fx.client.getBlockNumber({ cacheTime: 0 })) + 1n;
    // anyone may send attested rewards: here an unregistered account with gas
    const recorded = await fx.actors.coordinator.call('submitAttestedRewards', [0n, 0n, entries]);
    expect(recorded, 'two entries carry a valid quorum').toBe(2n);
    expect(await skipped(from)).toEqual([
      'b:too-few-attestations', 'b:too-few-attestations', 'b:too-few-attestations', 'b:too-few-attestations', 'b:reward-too-large', 'a:already-submitted', 'b:too-few-attestations', 'QmNobody:not-registered',
    ]);
    expect(await fx.read('totalRewards', [a])).toBe(700n);
    expect(await fx.read('totalRewards', [b])).toBe(500n);
  });

  it('takes a quorum set by the owner only, and then needs that many attesters', async () => {
    const { deployer, user1, user2, user3 } = fx.actors;
    expect(await revertName(user1.call('setAttestationQuorum', [1n]))).toBe('NotOwner');
    expect(await revertName(deployer.call('setAttestationQuorum', [0n]))).toBe('InvalidQuorum');
    await deployer.call('setAttestationQuorum', [3n]);
    await fx.actors.coordinator.call('advanceStage', []);
    const att: RewardAttestation = { round: 1n, stage: 0n, peerId: a, reward: 100n };
    const two = await attestedEntry(att, domain(), [await sign(user1.account, att), await sign(user2.account, att)]);
    expect(await fx.actors.coordinator.call('submitAttestedRewards', [1n, 0n, [two]]), 'two of three').toBe(0n);
    const three = await attestedEntry(att, domain(), [...two.signatures, await sign(user3.account, att), '0x1234' as Hex]);
    expect(three.signatures, 'an unrecoverable signature is dropped before sending').toHaveLength(3);
    expect(await recoverAttester(att, domain(), three.signatures[0])).toMatch(/^0x/);
    expect(await fx.actors.coordinator.call('submitAttestedRewards', [1n, 0n, [three]])).toBe(1n);
    expect(await fx.read('totalRewards', [a])).toBe(800n);
    expect(await revertName(fx.actors.coordinator.call('submitAttestedRewards', [9n, 0n, [three]])), 'a round not open').toBe('RoundNotOpen');
  });
});
