// Committed sampling on the wire: the rollouts message's `sampling` field is decoded strictly and bounded,
// the validator rejects a seed the sender chose (not the one derived from swarm, round and peer) and a
// commitment over another row count, the gossip transport rebuilds the full commitment from the header and
// keeps one commitment per (peer, round); the worker transport leaves failed batches and excluded peers out.
import { describe, expect, it } from 'vitest';
import { samplingSeed } from '../../../src/rl/verify/seed.ts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { decodeMessage, encodeMessage, type RolloutsMessage, type WireSampling } from '../../../src/swarm/messages.ts';
import { SwarmValidator } from '../../../src/swarm/validator.ts';
import { VerifyLedger } from '../../../src/swarm/verifier.ts';
import { WorkerTransport } from '../../../src/worker/transport.ts';
import { VerifiedReports } from '../../../src/app/lib/verification.ts';
import { bytesOf, PEER_A, validMessages } from './fixtures.ts';

const base = validMessages()[0] as RolloutsMessage;
const sampling = (over: Partial<WireSampling> = {}): WireSampling => ({
  v: 1, weightsHash: 'ab'.repeat(32), root: 'cd'.repeat(32), seed: samplingSeed('test', 5, PEER_A), completions: 3, logprobQuantum: 2 ** -10,
  settings: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 24, stopTokens: [2] }, ...over,
});
const reasonOf = (m: unknown) => {
  const r = decodeMessage(bytesOf(m));
  return r.ok ? null : r.reason;
};

describe('sampling commitment in rollouts messages', () => {
  it('round-trips a well-formed commitment', () => {
    const m = { ...base, sampling: sampling() };
    expect(decodeMessage(encodeMessage(m))).toEqual({ ok: true, message: m });
  });

  it.each([
    ['unknown field', { ...sampling(), extra: 1 }, 'sampling has unknown field "extra"'],
    ['short root', sampling({ root: 'ab' }), 'sampling.root is malformed'],
    ['upper-case hash', sampling({ weightsHash: 'AB'.repeat(32) }), 'sampling.weightsHash is malformed'],
    ['too many rows', sampling({ completions: 5000 }), 'sampling.completions is out of range'],
    ['huge token budget', sampling({ settings: { temperature: 1, maxNewTokens: 1e6, stopTokens: [2] } }), 'maxNewTokens is out of range'],
    ['many stop tokens', sampling({ settings: { temperature: 1, maxNewTokens: 8, stopTokens: Array.from({ length: 17 }, (_, i) => i) } }), 'stopTokens has more than 16'],
    ['top-p above 1', sampling({ settings: { temperature: 1, topP: 2, maxNewTokens: 8, stopTokens: [2] } }), 'topP is out of range'],
    ['wrong version', { ...sampling(), v: 2 }, 'sampling.v must be 1'],
  ])('refuses %s', (_name, s, reason) => {
    expect(reasonOf({ ...base, sampling: s })).toContain(reason);
  });

  it('the validator rejects a chosen seed and a commitment over other rows; the derived one passes', async () => {
    const clock = new RoundClock({ roundMs: 10_000, genesisMs: 0, now: () => 50_001 });
    const validator = new SwarmValidator({ swarmId: 'test', clock, now: () => 50_001 });
    expect((await validator.validate(bytesOf({ ...base, nonce: 10, sampling: sampling() }), PEER_A, PEER_A)).ok).toBe(true);
    expect(await validator.validate(bytesOf({ ...base, nonce: 11, sampling: sampling({ seed: 1234 }) }), PEER_A, PEER_A)).toEqual({ ok: false, severity: 'reject', reason: expect.stringContaining('sampling seed is not the one derived') });
    expect(await validator.validate(bytesOf({ ...base, nonce: 12, sampling: sampling({ completions: 4 }) }), PEER_A, PEER_A)).toEqual({ ok: false, severity: 'reject', reason: expect.stringContaining('covers 4 completions, the batch holds 3') });
  });
});

describe('consequences of failed checks', () => {
  it('the ledger drops a failed batch from its round and excludes a peer after repeated failures', () => {
    const ledger = new VerifyLedger(2);
    expect(ledger.keeps('p', 1)).toBe(true);
    ledger.record({ peerId: 'p', round: 1, ok: false, reasons: ['row 0 position 3: the seeded uniform …'] });
    expect(ledger.keeps('p', 1)).toBe(false);
    expect(ledger.keeps('p', 2)).toBe(true);
    expect(ledger.peer('p')).toMatchObject({ failed: 1, excluded: false, lastReason: expect.stringContaining('seeded uniform') });
    ledger.record({ peerId: 'q', round: 1, ok: true, reasons: [] });
    ledger.record({ peerId: 'p', round: 2, ok: false, reasons: ['challenge unanswered'] });
    expect(ledger.excluded('p')).toBe(true);
    expect(ledger.keeps('p', 7)).toBe(false);
    expect(ledger.keeps('q', 1)).toBe(true);
    expect(ledger.recentBatches(10)).toEqual({ 'p@1': 'failed', 'q@1': 'verified', 'p@2': 'failed' });
  });

  it('the worker transport leaves a failed (peer, round) and an excluded peer out of what training sees', () => {
    const t = new WorkerTransport('me', () => undefined);
    const batch = (peerId: string, round: number) => ({ v: 1 as const, swarmId: 's', round, peerId, rollouts: [{ task: { family: 'a', seed: 1, difficulty: 1 }, completions: [{ text: 'x', reward: 0 }] }] });
    for (const p of ['a', 'b']) for (const r of [1, 2]) t.deliver(batch(p, r));
    t.exclude('a', 1);
    expect(t.receivedRollouts(1).map((b) => b.peerId)).toEqual(['b']);
    expect(t.receivedRollouts(2).map((b) => b.peerId)).toEqual(['a', 'b']);
    t.exclude('b', null);
    expect(t.receivedRollouts(2).map((b) => b.peerId)).toEqual(['a']);
  });

  it('the screen sums what verifiers report, each peer once and clamped', () => {
    const r = new VerifiedReports(2, 100);
    r.add('a', { verifiedRollouts: 10 });
    r.add('a', { verifiedRollouts: 12, verifyFailed: 1 });
    r.add('b', { verifiedRollouts: 1e9 });
    r.add('c', { round: 3 });
    expect(r.totals()).toEqual({ verifiedRollouts: 112, failed: 1 });
    r.add('d', { verifiedRollouts: 5 });
    expect(r.totals()).toEqual({ verifiedRollouts: 105, failed: 0 });
  });
});
