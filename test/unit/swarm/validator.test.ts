import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { privateKeyToAccount } from 'viem/accounts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { parseSwarmConfig } from '../../../src/swarm/config.ts';
import { identityBindingVerifier } from '../../../src/swarm/binding.ts';
import { PeerScores, RateLimiter, SwarmValidator } from '../../../src/swarm/validator.ts';
import { encodeSignedBinding, signPeerBinding } from '../../../src/identity/binding.ts';
import { RATE_BUDGETS, RATE_LIMIT, SCORE } from '../../../src/swarm/constants.ts';
import { bytesOf, PEER_A, PEER_B, validMessages } from './fixtures.ts';

const ROUND_MS = 10_000;
function setup(now = { t: 5 * ROUND_MS + 1 }) {
  const clock = new RoundClock({ roundMs: ROUND_MS, genesisMs: 0, now: () => now.t });
  const validator = new SwarmValidator({ swarmId: 'test', clock, now: () => now.t });
  return { now, clock, validator };
}
const heartbeat = () => validMessages()[1];

describe('SwarmValidator', () => {
  it('accepts a valid message signed by its peerId', async () => {
    const { validator } = setup();
    const verdict = await validator.validate(bytesOf(heartbeat()), PEER_A, PEER_A);
    expect(verdict.ok).toBe(true);
    expect(validator.accepted).toBe(1);
    expect(validator.scores.get(PEER_A)).toBeGreaterThan(0);
  });

  it.each([
    ['forged sender', () => ({ ...heartbeat(), peerId: PEER_B }), 'forged sender', 'reject'],
    ['wrong swarm', () => ({ ...heartbeat(), swarmId: 'other' }), 'wrong swarm', 'reject'],
    ['bad schema', () => ({ ...heartbeat(), stats: 'fast' }), 'stats must be an object', 'reject'],
    // a forwarder with a slightly different clock may judge the round differently: not its fault
    ['round too far ahead', () => ({ ...heartbeat(), round: 7 }), 'wrong round 7', 'ignore'],
    ['round too old', () => ({ ...heartbeat(), round: 3 }), 'wrong round 3', 'ignore'],
  ])('refuses %s with a logged reason; only a reject costs the author score', async (_name, make, reason, severity) => {
    const { validator } = setup();
    const verdict = await validator.validate(bytesOf(make()), PEER_A, PEER_B);
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining(reason), severity });
    expect(validator.rejections.at(-1)).toMatchObject({ from: PEER_A, via: PEER_B, reason: expect.stringContaining(reason), severity });
    // an ignore (wrong round, rate, replay) may be someone else replaying the author's bytes: free
    expect(validator.scores.get(PEER_A)).toBe(severity === 'reject' ? -SCORE.rejectPenalty : 0);
    // the forwarder pays only for bytes that are bad anywhere
    expect(validator.scores.get(PEER_B)).toBe(severity === 'reject' ? -SCORE.rejectPenalty : 0);
  });

  it('judges game messages by the coordinator\'s round while the chain paces the game, other kinds by the clock', async () => {
    const { validator } = setup();
    const [rollouts, hb, critique, vote] = validMessages();
    const resolve = validMessages().at(-1)!;
    let chainRound: number | null = 40;
    validator.followGameRounds(() => chainRound);
    let nonce = 100;
    const check = (m: object, round: number) => validator.validate(bytesOf({ ...m, round, nonce: nonce++ }), PEER_A);
    // the clock says round 5; the chain's game is at round 40: its neighbours are on time, round 5 is late
    for (const m of [rollouts, critique, resolve, vote]) {
      expect((await check(m, 40)).ok).toBe(true);
      expect((await check(m, 39)).ok).toBe(true);
      expect((await check(m, 41)).ok).toBe(true);
    }
    expect(await check(critique, 38)).toEqual({ ok: false, reason: 'late: game round 38 is over (the coordinator is at round 40)', severity: 'ignore' });
    expect(await check(vote, 5)).toEqual({ ok: false, reason: 'late: game round 5 is over (the coordinator is at round 40)', severity: 'ignore' });
    expect(await check(resolve, 42)).toEqual({ ok: false, reason: 'early: game round 42 has not started (the coordinator is at round 40)', severity: 'ignore' });
    // heartbeats keep the clock's rounds
    expect((await check(hb, 5)).ok).toBe(true);
    expect(await check(hb, 40)).toMatchObject({ ok: false, reason: 'wrong round 40 (current 5)' });
    // no chain position (or pacing given up): the clock again
    chainRound = null;
    expect((await check(critique, 5)).ok).toBe(true);
    validator.followGameRounds(null);
    expect(await check(critique, 40)).toMatchObject({ ok: false, reason: 'wrong round 40 (current 5)' });
  });

  it('rejects unsigned messages', async () => {
    const { validator } = setup();
    expect(await validator.validate(bytesOf(heartbeat()), null, PEER_B)).toEqual({ ok: false, reason: 'unsigned message', severity: 'reject' });
  });

  it('accepts the neighbouring rounds (clock skew) but rejects a replayed nonce', async () => {
    const { validator } = setup();
    expect((await validator.validate(bytesOf({ ...heartbeat(), round: 4, nonce: 10 }), PEER_A)).ok).toBe(true);
    expect((await validator.validate(bytesOf({ ...heartbeat(), round: 6, nonce: 11 }), PEER_A)).ok).toBe(true);
    const replay = await validator.validate(bytesOf({ ...heartbeat(), round: 6, nonce: 11 }), PEER_A);
    expect(replay).toEqual({ ok: false, reason: 'replayed nonce 11', severity: 'ignore' });
    // the same nonce from another peer is that peer's own business
    expect((await validator.validate(bytesOf({ ...heartbeat(), peerId: PEER_B, nonce: 11 }), PEER_B)).ok).toBe(true);
  });

  it('rate-limits a flooding peer per kind, without costing it score', async () => {
    const { validator } = setup();
    const results = [];
    for (let i = 0; i < RATE_LIMIT.burst + 20; i++) results.push(await validator.validate(bytesOf({ ...heartbeat(), nonce: 100 + i }), PEER_A));
    const burst = RATE_BUDGETS.heartbeat.burst;
    expect(results.slice(0, burst).every((r) => r.ok)).toBe(true);
    const refused = results.slice(burst).map((r) => (r.ok ? 'ok' : r.reason));
    expect(refused[0]).toBe('heartbeat rate budget exceeded');
    // past the pre-decode bucket, nothing is even parsed
    expect(refused.at(-1)).toBe('rate limit exceeded');
    expect(validator.scores.banned(PEER_A)).toBe(false);
    expect(validator.scores.get(PEER_A)).toBeGreaterThan(0);
    // the heartbeat flood did not use up the rollouts budget
    const rollouts = { ...validMessages()[0], nonce: 9_999 };
    const { validator: fresh } = setup();
    for (let i = 0; i < 10; i++) await fresh.validate(bytesOf({ ...heartbeat(), nonce: 200 + i }), PEER_A);
    expect((await fresh.validate(bytesOf(rollouts), PEER_A)).ok).toBe(true);
  });

  it('refuses bindings when no verifier is configured', async () => {
    const { validator } = setup();
    const binding = validMessages()[4];
    expect(await validator.validate(bytesOf(binding), PEER_A)).toEqual({ ok: false, reason: 'binding refused: no verifier configured', severity: 'ignore' });
  });

  it('checks real dual-signed bindings through the identity layer', async () => {
    const now = { t: 1_800_000_000_000 };
    const clock = new RoundClock({ roundMs: ROUND_MS, genesisMs: 0, now: () => now.t });
    const config = parseSwarmConfig({
      swarmId: 'test',
      relayAddrs: [],
      chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
    });
    const validator = new SwarmValidator({ swarmId: 'test', clock, now: () => now.t, bindingVerifier: identityBindingVerifier(config, () => now.t) });
    const peerKey = await generateKeyPair('Ed25519');
    const peerId = peerIdFromPrivateKey(peerKey).toString();
    const wallet = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
    const signed = await signPeerBinding({
      binding: { account: wallet.address, peerId, swarmId: 'test', nonce: 0n, deadline: BigInt(now.t / 1000 + 3600) },
      domain: { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
      wallet,
      peerKey,
    });
    const header = { v: 1, kind: 'binding', swarmId: 'test', round: clock.currentRound(), peerId, ts: now.t };
    const wire = encodeSignedBinding(signed);
    expect(await validator.validate(bytesOf({ ...header, nonce: 1, signed: wire }), peerId)).toEqual({ ok: true, message: expect.objectContaining({ kind: 'binding' }) });

    const tampered = { ...wire, binding: { ...wire.binding, nonce: '1' } };
    const verdict = await validator.validate(bytesOf({ ...header, nonce: 2, signed: tampered }), peerId);
    expect(verdict.ok ? '' : verdict.reason).toMatch(/^binding refused: .*signature/);

    const otherChain = parseSwarmConfig({ ...config, chain: { ...config.chain!, chainId: 1 } });
    const strict = new SwarmValidator({ swarmId: 'test', clock, now: () => now.t, bindingVerifier: identityBindingVerifier(otherChain, () => now.t) });
    const wrongChain = await strict.validate(bytesOf({ ...header, nonce: 3, signed: wire }), peerId);
    expect(wrongChain.ok ? '' : wrongChain.reason).toContain('chain 31337');

    // a binding for someone else's peer id, re-gossiped by us, is refused before any signature check
    const relayed = await validator.validate(bytesOf({ ...header, peerId: PEER_A, nonce: 4, signed: wire }), PEER_A);
    expect(relayed).toEqual({ ok: false, reason: 'binding is for another peer than its sender', severity: 'reject' });
  });
});

describe('PeerScores and RateLimiter', () => {
  it('scores decay back toward zero over time', () => {
    const now = { t: 0 };
    const scores = new PeerScores(() => now.t);
    for (let i = 0; i < 3; i++) scores.penalize('p');
    expect(scores.get('p')).toBe(-30);
    now.t = 10 * 60_000;
    expect(scores.get('p')).toBeGreaterThan(-30);
    now.t = 120 * 60_000;
    expect(scores.get('p')).toBe(0);
  });

  it('refills tokens at the configured rate', () => {
    const now = { t: 0 };
    const limiter = new RateLimiter(2, 1, () => now.t);
    expect([limiter.take('p'), limiter.take('p'), limiter.take('p')]).toEqual([true, true, false]);
    now.t = 1_000;
    expect([limiter.take('p'), limiter.take('p')]).toEqual([true, false]);
  });
});
