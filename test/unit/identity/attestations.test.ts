// The coordinator service as a relay of k-of-n attestations, on a real anvil: registered wallets post what they
// re-scored; a reward goes on chain only once the contract's quorum of distinct registered accounts signed the same
// values; unregistered, self-serving, malformed, out-of-range and disagreeing attestations never reach the chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { CoordinatorService } from '../../../relay/coordinator/service.ts';
import { signRewardAttestation, type RewardAttestation } from '../../../src/identity/attestation.ts';
import { asTuple, newPeer, signedBinding, startChainFixture, startFixtureService, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
let service: CoordinatorService;
let subject: string; // bound to user3
let other: string; // bound to the deployer

beforeAll(async () => {
  fx = await startChainFixture(1);
  service = await startFixtureService(fx);
  const register = async (who: keyof ChainFixture['actors']) => {
    const peer = await newPeer();
    const s = await signedBinding(fx, fx.actors[who].account, peer);
    await fx.actors[who].call('registerPeer', [asTuple(s.binding), s.peerSignature, s.peerPublicKey]);
    return peer.peerId;
  };
  subject = await register('user3');
  other = await register('deployer');
  await register('user1');
  await register('user2');
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await fx?.stop();
});

async function post(account: PrivateKeyAccount, a: RewardAttestation, tamper: Partial<Record<string, string>> = {}) {
  const signature = await signRewardAttestation(account, a, { chainId: fx.chain.chainId, verifyingContract: fx.coordinator });
  const body = { round: a.round.toString(), stage: a.stage.toString(), peerId: a.peerId, reward: a.reward.toString(), signature, ...tamper };
  const res = await fetch(`${service.url}/attestations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { pooled?: boolean; signers?: number; error?: string; reason?: string } };
}

describe('attestation relay', () => {
  it('records a reward once k distinct registered accounts attest the same values, and nothing before', async () => {
    const { user1, user2 } = fx.actors;
    const a: RewardAttestation = { round: 0n, stage: 0n, peerId: subject, reward: 850n };
    expect(await post(user1.account, a)).toMatchObject({ status: 200, body: { pooled: true, signers: 1 } });
    expect(await post(user1.account, a), 'the same signer twice counts once').toMatchObject({ status: 200, body: { signers: 1 } });
    expect(await service.flushAttestations(), 'one of two').toBe(0);
    expect(await fx.read('totalRewards', [subject])).toBe(0n);
    expect(await post(user2.account, a)).toMatchObject({ status: 200, body: { signers: 2 } });
    expect(await service.flushAttestations()).toBe(1);
    expect(await fx.read('totalRewards', [subject])).toBe(850n);
  });

  it('refuses unregistered, self-serving, malformed and out-of-range attestations with a reason', async () => {
    const { user1, user3 } = fx.actors;
    const a: RewardAttestation = { round: 0n, stage: 0n, peerId: other, reward: 100n };
    const stranger = privateKeyToAccount(generatePrivateKey());
    expect(await post(stranger, a)).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/holds no registered peer id/) } });
    expect(await post(user3.account, { ...a, peerId: subject })).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/own account/) } });
    expect(await post(user1.account, a, { signature: `0x${'11'.repeat(65)}` as Hex })).toMatchObject({ status: 400 });
    expect(await post(user1.account, a, { signature: '0x1234' })).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/65 bytes/) } });
    expect(await post(user1.account, { ...a, reward: 2001n })).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/over the bound/) } });
    expect(await post(user1.account, a, { reward: (2n ** 256n).toString() })).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/decimal/) } });
    expect(await post(user1.account, { ...a, round: 7n })).toMatchObject({ status: 409, body: { error: 'round-not-open' } });
    expect(await post(user1.account, { ...a, peerId: (await newPeer()).peerId })).toMatchObject({ status: 400, body: { reason: expect.stringMatching(/not registered/) } });
  });

  it('never records attesters who disagree', async () => {
    const { user1, user2 } = fx.actors;
    expect(await post(user1.account, { round: 0n, stage: 0n, peerId: other, reward: 500n })).toMatchObject({ status: 200 });
    expect(await post(user2.account, { round: 0n, stage: 0n, peerId: other, reward: 400n })).toMatchObject({ status: 200 });
    expect(await service.flushAttestations()).toBe(0);
    expect(await fx.read('totalRewards', [other])).toBe(0n);
  });
});
