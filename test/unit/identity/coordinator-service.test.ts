// The coordinator service against a real anvil: relayed registration, reward batches, audit, limits, bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, type Hex } from 'viem';
import type { CoordinatorService } from '../../../relay/coordinator/service.ts';
import { RateLimiter } from '../../../relay/coordinator/rate-limit.ts';
import { encodeSignedBinding } from '../../../src/identity/binding.ts';
import { CoordinatorServiceClient, CoordinatorServiceError, readLeaderboard, rewardToUnits, signRewardReport } from '../../../src/identity/coordinator.ts';
import { asTuple, newPeer, signedBinding, startChainFixture, startFixtureService, SWARM, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
let service: CoordinatorService;
let api: CoordinatorServiceClient;
const logs: string[] = [];

beforeAll(async () => {
  fx = await startChainFixture(1);
  service = await startFixtureService(fx, { log: (line) => logs.push(line) });
  api = new CoordinatorServiceClient(service.url);
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await fx?.stop();
});

async function failure(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CoordinatorServiceError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the service to refuse');
}

describe('coordinator service', () => {
  it('reports health', async () => {
    expect(await api.health()).toMatchObject({ ok: true, swarmId: SWARM, chainId: 31337, coordinator: fx.coordinator, round: '0', stage: '0' });
  });

  it('relays a registration gaslessly, then refuses its replay', async () => {
    const peer = await newPeer();
    const signed = encodeSignedBinding(await signedBinding(fx, fx.actors.user1.account, peer));
    const balanceBefore = await fx.client.getBalance({ address: fx.actors.user1.account.address });
    const result = await api.register(signed);
    expect(result).toMatchObject({ account: fx.actors.user1.account.address, peerId: peer.peerId });
    expect(await fx.read('accountOf', [peer.peerId])).toBe(fx.actors.user1.account.address);
    expect(await fx.client.getBalance({ address: fx.actors.user1.account.address })).toBe(balanceBefore);
    expect(await failure(api.register(signed))).toMatchObject({ status: 409, code: 'InvalidNonce' });
  });

  it("refuses a bad peer-key signature, someone else's peer id, expired and foreign bindings", async () => {
    const victim = await newPeer();
    const mine = await signedBinding(fx, fx.actors.user2.account, await newPeer());
    const forged = await signedBinding(fx, fx.actors.user2.account, victim);
    // Mallory (user2) signs a binding naming the victim's peer id but cannot sign with the victim's key.
    const stolen = encodeSignedBinding({ ...forged, peerSignature: mine.peerSignature });
    expect(await failure(api.register(stolen))).toMatchObject({ status: 400, code: 'invalid-binding', message: expect.stringMatching(/peer signature/) });
    const garbled = encodeSignedBinding({ ...mine, peerSignature: bytesToHex(new Uint8Array(64).fill(7)) });
    expect(await failure(api.register(garbled))).toMatchObject({ status: 400, message: expect.stringMatching(/peer signature/) });
    const expired = encodeSignedBinding(await signedBinding(fx, fx.actors.user2.account, await newPeer(), { deadline: 1n }));
    expect(await failure(api.register(expired))).toMatchObject({ status: 400, message: expect.stringMatching(/deadline/) });
    const foreign = encodeSignedBinding(await signedBinding(fx, fx.actors.user2.account, await newPeer(), { swarmId: 'other' }));
    expect(await failure(api.register(foreign))).toMatchObject({ status: 400, message: expect.stringMatching(/swarm/) });
    expect(await fx.read('accountOf', [victim.peerId])).toBe('0x0000000000000000000000000000000000000000');
  });

  it('answers malformed requests with clear errors', async () => {
    const post = (path: string, body: string) => fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await post('/register', '{nope')).status).toBe(400);
    expect(await (await post('/register', '[1,2]')).json()).toMatchObject({ error: 'invalid-binding' });
    expect((await post('/register', JSON.stringify({ pad: 'x'.repeat(20_000) }))).status).toBe(413);
    expect((await fetch(`${service.url}/nothing`)).status).toBe(404);
    expect((await fetch(`${service.url}/register`, { method: 'OPTIONS' })).headers.get('access-control-allow-origin')).toBe('*');
  });

  it('batches peer-signed reward reports onto the chain and refuses bad ones', async () => {
    const peer = await newPeer();
    await api.register(encodeSignedBinding(await signedBinding(fx, fx.actors.user3.account, peer)));
    const ctx = { chainId: fx.chain.chainId, coordinator: fx.coordinator };
    const report = await signRewardReport({ peerId: peer.peerId, round: 0n, stage: 0n, reward: rewardToUnits(1.25) }, ctx, peer.key);
    expect(await api.reportReward(report)).toEqual({ queued: true });

    const stranger = await newPeer();
    expect(await failure(api.reportReward(await signRewardReport({ peerId: stranger.peerId, round: 0n, stage: 0n, reward: 5n }, ctx, stranger.key)))).toMatchObject({ status: 404 });
    expect(await failure(api.reportReward({ ...report, reward: '999' }))).toMatchObject({ status: 400, message: expect.stringMatching(/signature/) });
    expect(await failure(api.reportReward(await signRewardReport({ peerId: peer.peerId, round: 7n, stage: 0n, reward: 5n }, ctx, peer.key)))).toMatchObject({ status: 409 });
    expect(await failure(api.reportReward({ ...report, round: '-1' }))).toMatchObject({ status: 400 });

    expect(await service.flushRewards()).toBe(1);
    expect(await fx.read('totalRewards', [peer.peerId])).toBe(1250n);
    const board = await readLeaderboard(fx.client, fx.coordinator);
    expect(board[0]).toMatchObject({ peerId: peer.peerId, account: fx.actors.user3.account.address, totalReward: 1250n });
    // The same report again is accepted by the service and skipped by the contract: totals do not change.
    await api.reportReward(report);
    await service.flushRewards();
    expect(await fx.read('totalRewards', [peer.peerId])).toBe(1250n);
  });

  it('with a re-scorer, queues only re-scored rewards and refuses disagreeing or unknown reports with a reason', async () => {
    const rescores = new Map<string, bigint>();
    const strict = await startFixtureService(fx, { rescored: (r) => rescores.get(r.peerId) ?? null });
    try {
      const client = new CoordinatorServiceClient(strict.url);
      const ctx = { chainId: fx.chain.chainId, coordinator: fx.coordinator };
      const [honest, liar, unseen] = [await newPeer(), await newPeer(), await newPeer()];
      for (const [p, who] of [[honest, fx.actors.user1], [liar, fx.actors.user2], [unseen, fx.actors.user2]] as const) {
        await client.register(encodeSignedBinding(await signedBinding(fx, who.account, p)));
      }
      rescores.set(honest.peerId, rewardToUnits(0.6));
      rescores.set(liar.peerId, rewardToUnits(0.1));
      const report = (p: typeof honest, reward: number) => signRewardReport({ peerId: p.peerId, round: 0n, stage: 0n, reward: rewardToUnits(reward) }, ctx, p.key);
      expect(await client.reportReward(await report(honest, 0.6))).toEqual({ queued: true });
      expect(await failure(client.reportReward(await report(liar, 1.1)))).toMatchObject({ status: 409, code: 'disagrees-with-rescore', message: expect.stringMatching(/reported 1100 units, the rollouts re-score to 100/) });
      expect(await failure(client.reportReward(await report(unseen, 0.5)))).toMatchObject({ status: 409, code: 'not-rescored' });
      expect(await strict.flushRewards()).toBe(1);
      expect(await fx.read('totalRewards', [honest.peerId])).toBe(rewardToUnits(0.6));
      expect(await fx.read('totalRewards', [liar.peerId])).toBe(0n);
    } finally {
      await strict.stop();
    }
  });

  it('rate-limits reports per peer id', async () => {
    const peer = await newPeer();
    await api.register(encodeSignedBinding(await signedBinding(fx, fx.actors.deployer.account, peer)));
    const ctx = { chainId: fx.chain.chainId, coordinator: fx.coordinator };
    const report = await signRewardReport({ peerId: peer.peerId, round: 0n, stage: 0n, reward: 1n }, ctx, peer.key);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await api.reportReward(report).then(() => 200, (e: CoordinatorServiceError) => e.status));
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('advances stages and revokes registrations that bypassed it whose peer signature is not the peer id', async () => {
    expect(await service.advanceStage()).toEqual({ round: 1n, stage: 0n });
    expect((await api.health()).round).toBe('1');
    const honest = await newPeer();
    const good = await signedBinding(fx, fx.actors.user1.account, honest);
    await fx.actors.user1.call('registerPeer', [asTuple(good.binding), good.peerSignature, good.peerPublicKey]);
    // The contract proves secp256k1 keys itself; an Ed25519 squat needs a careless second stage manager.
    const { deployer } = fx.actors;
    await deployer.call('setStageManager', [deployer.account.address, true]);
    const victim = await newPeer('Ed25519');
    const squat = await signedBinding(fx, fx.actors.user2.account, victim);
    await deployer.call('registerPeerWithSig', [asTuple(squat.binding), squat.walletSignature, bytesToHex(new Uint8Array(64).fill(1)) as Hex, '0x']);
    await deployer.call('setStageManager', [deployer.account.address, false]);
    expect(await service.auditRegistrations()).toEqual([victim.peerId]);
    expect(await fx.read('accountOf', [victim.peerId])).toBe('0x0000000000000000000000000000000000000000');
    expect(await fx.read('accountOf', [honest.peerId])).toBe(fx.actors.user1.account.address);
    expect(logs.some((l) => l.includes(`revoked ${victim.peerId}`))).toBe(true);
  });
});

describe('rate limiter', () => {
  it('allows a burst, then refills at the configured rate', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 60, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('b')]).toEqual([true, true, false, true]);
    now += 1000;
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, false]);
  });
});
