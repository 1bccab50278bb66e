// The coordinator service when the chain says no: failed reward batches retried with backoff (bounded), batches
// for closed rounds dropped at once, skipped entries logged with their reason, and limits per caller identity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import type { CoordinatorService } from '../../../relay/coordinator/service.ts';
import { DEV_KEYS } from '../../../scripts/lib/chain.ts';
import { encodeSignedBinding } from '../../../src/identity/binding.ts';
import { CoordinatorServiceClient, CoordinatorServiceError, REWARD_WINDOW_ROUNDS, signRewardReport } from '../../../src/identity/coordinator.ts';
import { asTuple, newPeer, signedBinding, startChainFixture, startFixtureService, type Actor, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
let service: CoordinatorService;
let api: CoordinatorServiceClient;
const logs: string[] = [];
const relayer = privateKeyToAccount(DEV_KEYS.coordinator).address;

beforeAll(async () => {
  fx = await startChainFixture(1);
  service = await startFixtureService(fx, { retry: { attempts: 3, baseMs: 0 }, limits: { rewardAccount: [12, 1] }, log: (line) => logs.push(line) });
  api = new CoordinatorServiceClient(service.url);
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await fx?.stop();
});

const ctx = () => ({ chainId: fx.chain.chainId, coordinator: fx.coordinator });

async function ownPeer(actor: Actor) {
  const peer = await newPeer();
  const signed = await signedBinding(fx, actor.account, peer);
  await actor.call('registerPeer', [asTuple(signed.binding), signed.peerSignature, signed.peerPublicKey]);
  return peer;
}

async function status(promise: Promise<unknown>): Promise<number | string> {
  return promise.then(
    () => 200,
    (e: unknown) => (e instanceof CoordinatorServiceError ? `${e.status} ${e.code}: ${e.message}` : `other: ${(e as Error).message}`),
  );
}

describe('coordinator service retries', () => {
  it('keeps a failed batch and sends it again once the chain takes it', async () => {
    const peer = await ownPeer(fx.actors.user1);
    const round = BigInt((await api.health()).round);
    await api.reportReward(await signRewardReport({ peerId: peer.peerId, round, stage: 0n, reward: 640n }, ctx(), peer.key));
    // The relayer loses its role for a while (an owner's mistake, a key rotation): the batch reverts.
    await fx.actors.deployer.call('setStageManager', [relayer, false]);
    expect(await service.flushRewards()).toBe(0);
    expect(service.pendingBatches()).toBe(1);
    expect(logs.at(-1)).toMatch(/failed \(NotStageManager\); retry 1 of 2/);
    await fx.actors.deployer.call('setStageManager', [relayer, true]);
    expect(await service.flushRewards()).toBe(1);
    expect(service.pendingBatches()).toBe(0);
    expect(await fx.read('totalRewards', [peer.peerId])).toBe(640n);
  });

  it('gives up after the configured attempts, and at once on a closed round', async () => {
    const peer = await ownPeer(fx.actors.user2);
    const round = BigInt((await api.health()).round);
    await api.reportReward(await signRewardReport({ peerId: peer.peerId, round, stage: 0n, reward: 5n }, ctx(), peer.key));
    await fx.actors.deployer.call('setStageManager', [relayer, false]);
    for (let i = 0; i < 3; i++) await service.flushRewards();
    expect(service.pendingBatches()).toBe(0);
    expect(logs.at(-1)).toMatch(/dropped 1 reports after 3 attempt/);
    await fx.actors.deployer.call('setStageManager', [relayer, true]);
    expect(await service.flushRewards()).toBe(0); // nothing left to send: it was dropped, not kept forever
    expect(await fx.read('totalRewards', [peer.peerId])).toBe(0n);

    await api.reportReward(await signRewardReport({ peerId: peer.peerId, round, stage: 0n, reward: 6n }, ctx(), peer.key));
    for (let i = 0n; i <= REWARD_WINDOW_ROUNDS; i++) await service.advanceStage();
    expect(await service.flushRewards()).toBe(0);
    expect(service.pendingBatches()).toBe(0);
    expect(logs.at(-1)).toMatch(/failed \(RoundClosed\); dropped 1 reports after 1 attempt/);
    // And the service itself now refuses reports for that round.
    expect(await status(api.reportReward(await signRewardReport({ peerId: peer.peerId, round, stage: 0n, reward: 6n }, ctx(), peer.key)))).toMatch(/^410 round-closed/);
  });

  it('logs the entries the contract skipped, with the reason', async () => {
    const peer = await ownPeer(fx.actors.user3);
    const round = BigInt((await api.health()).round);
    const report = await signRewardReport({ peerId: peer.peerId, round, stage: 0n, reward: 10n }, ctx(), peer.key);
    await api.reportReward(report);
    expect(await service.flushRewards()).toBe(1);
    await api.reportReward(report);
    await service.flushRewards();
    expect(logs.at(-1)).toBe(`submitted 0 of 1 rewards for round ${round} stage 0; skipped ${peer.peerId}: already-submitted`);
    expect(await status(api.reportReward({ ...report, reward: '2001' }))).toMatch(/^400 invalid-report: reward over the bound/);
  });
});

describe('coordinator service limits per identity, not per IP', () => {
  it('caps reports per bound account across its peer ids', async () => {
    const peers = [await ownPeer(fx.actors.deployer), await ownPeer(fx.actors.deployer), await ownPeer(fx.actors.deployer)];
    const round = BigInt((await api.health()).round);
    const results: (number | string)[] = [];
    for (const peer of peers) {
      const report = await signRewardReport({ peerId: peer.peerId, round, stage: 0n, reward: 1n }, ctx(), peer.key);
      for (let i = 0; i < 5; i++) results.push(await status(api.reportReward(report)));
    }
    // 12 for the account in a burst: each peer id alone (10) would have allowed all 15.
    expect(results.slice(0, 12).every((r) => r === 200)).toBe(true);
    expect(results.slice(12)).toEqual(Array(3).fill('429 rate-limited: too many reports for the account this peer id is bound to'));
  });

  it('caps registrations per peer id across accounts', async () => {
    const peer = await newPeer();
    const results: (number | string)[] = [];
    for (const actor of [fx.actors.user1, fx.actors.user2, fx.actors.user3]) {
      results.push(await status(api.register(encodeSignedBinding(await signedBinding(fx, actor.account, peer)))));
    }
    expect(results[0]).toBe(200);
    expect(results[1]).toMatch(/^409 PeerIdTaken/);
    expect(results[2]).toBe('429 rate-limited: too many registrations for this peer id; wait a minute');
  });
});
