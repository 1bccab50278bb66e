// Hostile but VALID messages: each passes the wire schema (so the decoder alone would accept it) and is
// refused or bounded by the swarm's own rules, with its reason. The catalogue of issue 11.
import { describe, expect, it } from 'vitest';
import { demoRollouts, demoRoundShape } from '../../../src/app/lab/demo-rollouts.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { SCORE } from '../../../src/swarm/constants.ts';
import { decodeMessage, type RolloutsMessage, type SwarmMessage } from '../../../src/swarm/messages.ts';
import type { ReceivedMessage, Swarm } from '../../../src/swarm/swarm.ts';
import { transportLimitsFor, transportOver } from '../../../src/swarm/transport.ts';
import { SwarmValidator } from '../../../src/swarm/validator.ts';
import { rolloutRules } from '../../../src/worker/rescore.ts';
import { bytesOf, PEER_A, PEER_B, validMessages } from './fixtures.ts';

const ROUND_MS = 10_000;
const NOW = 5 * ROUND_MS + 1;
const rules = rolloutRules(demoRoundShape('test'));

function validator(extra: Partial<ConstructorParameters<typeof SwarmValidator>[0]> = {}) {
  const clock = new RoundClock({ roundMs: ROUND_MS, genesisMs: 0, now: () => NOW });
  return new SwarmValidator({ swarmId: 'test', clock, now: () => NOW, ...rules, ...extra });
}

let nonce = 1;
function rollouts(peerId: string, items: RolloutsMessage['rollouts'], round = 5): RolloutsMessage {
  return { v: 1, kind: 'rollouts', swarmId: 'test', round, peerId, nonce: nonce++, ts: NOW, rollouts: items, part: 0, parts: 1 };
}

/** the decoder accepts it: what follows is the swarm's rules, not the schema */
function wireValid(m: SwarmMessage): Uint8Array {
  const bytes = bytesOf(m);
  expect(decodeMessage(bytes).ok).toBe(true);
  return bytes;
}

describe('hostile but valid rollouts are rejected with the reason, at the author\'s cost', () => {
  it('an oversize batch: 64 groups x 32 completions where the swarm says 2 x 4', async () => {
    const v = validator();
    const big = Array.from({ length: 64 }, (_, i) => ({ task: { family: 'basic_arithmetic', difficulty: 1, seed: i }, completions: Array.from({ length: 32 }, () => ({ text: '<answer>1</answer>', reward: 0 })) }));
    const verdict = await v.validate(wireValid(rollouts(PEER_A, big)), PEER_A);
    expect(verdict).toEqual({ ok: false, reason: "rollouts: 64 groups; the swarm's B is 2", severity: 'reject' });
    const wide = demoRollouts('test', 5, PEER_A).map((r) => ({ ...r, completions: [...r.completions, ...r.completions, ...r.completions] }));
    expect(await v.validate(wireValid(rollouts(PEER_A, wide)), PEER_A)).toMatchObject({ ok: false, reason: expect.stringContaining("the swarm's G is 4") });
    expect(v.scores.get(PEER_A)).toBe(-2 * SCORE.rejectPenalty);
  });

  it('off-seed task refs: tasks of the sender\'s choosing, or another peer\'s', async () => {
    const v = validator();
    const picked = [{ task: { family: 'basic_arithmetic', difficulty: 1, seed: 7 }, completions: [{ text: 'ROGUE', reward: 0 }] }];
    expect(await v.validate(wireValid(rollouts(PEER_A, picked)), PEER_A)).toMatchObject({ ok: false, severity: 'reject', reason: expect.stringMatching(/task basic_arithmetic\/1\/7 is not one of the sender's tasks for round 5/) });
    const stolen = demoRollouts('test', 5, PEER_B);
    expect(await v.validate(wireValid(rollouts(PEER_A, stolen)), PEER_A)).toMatchObject({ ok: false, reason: expect.stringContaining("not one of the sender's tasks") });
    // its own tasks pass
    expect((await v.validate(wireValid(rollouts(PEER_A, demoRollouts('test', 5, PEER_A))), PEER_A)).ok).toBe(true);
  });

  it('a claimed reward that disagrees with the re-score', async () => {
    const v = validator();
    const own = demoRollouts('test', 5, PEER_A);
    const liar = own.map((r) => ({ ...r, completions: r.completions.map((c) => ({ ...c, reward: 1e6 })) }));
    expect(await v.validate(wireValid(rollouts(PEER_A, liar)), PEER_A)).toMatchObject({ ok: false, severity: 'reject', reason: expect.stringMatching(/^rollouts: claimed reward 1000000 for a completion that scores/) });
    expect(v.scores.get(PEER_A)).toBe(-SCORE.rejectPenalty);
  });

  it('a replayed or late message is ignored and costs its author nothing', async () => {
    const v = validator();
    const bytes = wireValid(rollouts(PEER_A, demoRollouts('test', 5, PEER_A)));
    expect((await v.validate(bytes, PEER_A)).ok).toBe(true);
    const score = v.scores.get(PEER_A);
    // replayed by someone else, forwarded to us: same author, same nonce
    expect(await v.validate(bytes, PEER_A, PEER_B)).toEqual({ ok: false, reason: expect.stringMatching(/^replayed nonce/), severity: 'ignore' });
    // replayed rounds later (after every duplicate cache forgot it): wrong round, still free
    const old = wireValid(rollouts(PEER_A, demoRollouts('test', 1, PEER_A), 1));
    expect(await v.validate(old, PEER_A, PEER_B)).toMatchObject({ ok: false, severity: 'ignore', reason: expect.stringMatching(/^wrong round 1/) });
    expect(v.scores.get(PEER_A)).toBe(score);
    expect(v.scores.get(PEER_B)).toBe(0);
  });

  it('an expired binding is ignore (a matter of when it is seen), a bad signature reject', async () => {
    const binding = validMessages()[4];
    const expired = validator({ bindingVerifier: async () => ({ ok: false, reason: 'binding deadline has passed' }) });
    expect(await expired.validate(bytesOf({ ...binding, round: 5 }), PEER_A)).toEqual({ ok: false, reason: 'binding refused: binding deadline has passed', severity: 'ignore' });
    expect(expired.scores.get(PEER_A)).toBe(0);
    const forged = validator({ bindingVerifier: async () => ({ ok: false, reason: 'wallet signature does not match' }) });
    expect(await forged.validate(bytesOf({ ...binding, round: 5 }), PEER_A)).toMatchObject({ severity: 'reject' });
  });
});

/** a stand-in swarm for the transport (the real gossip path is the e2e rogue spec) */
function fakeSwarm() {
  const listeners = new Set<(m: ReceivedMessage) => void>();
  const swarm = {
    peerId: PEER_B,
    config: { swarmId: 'test', preferBound: true },
    boundAccount: (peer: string) => (peer === PEER_A ? '0xabc' : null),
    onMessage(l: (m: ReceivedMessage) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { swarm: swarm as unknown as Swarm, deliver: (m: SwarmMessage) => listeners.forEach((l) => l({ message: m, receivedAt: 0, via: m.peerId })) };
}

describe('the transport bounds what a sender can make a page hold', () => {
  it('duplicate groups and re-sent parts count once; per (peer, round) at most B groups; only new parts are reported', () => {
    const { swarm, deliver } = fakeSwarm();
    const tx = transportOver(swarm, transportLimitsFor(rules.rolloutShape));
    const added: number[] = [];
    tx.onNewRollouts((batch) => added.push(batch.rollouts.length));
    const own = demoRollouts('test', 5, PEER_A);
    for (let i = 0; i < 40; i++) deliver({ ...rollouts(PEER_A, own), part: i % 8, parts: 8 });
    const got = tx.receivedRollouts(5);
    expect(got).toHaveLength(1);
    expect(got[0].rollouts).toEqual(own);
    expect(added).toEqual([2]);
    // bound peers are marked where the swarm prefers them
    expect(got[0].bound).toBe(true);
  });

  it('bytes per (peer, round) and rounds kept are capped', () => {
    const { swarm, deliver } = fakeSwarm();
    const limits = transportLimitsFor(rules.rolloutShape);
    const tx = transportOver(swarm, limits);
    const task = generateTask({ family: 'basic_arithmetic', difficulty: 1, seed: 1 });
    const fat = Array.from({ length: 2 }, (_, i) => ({ task: { family: 'basic_arithmetic', difficulty: 1, seed: i }, completions: Array.from({ length: 4 }, () => ({ text: 'z'.repeat(8000), reward: scoreCompletion(task, 'z').reward })) }));
    deliver(rollouts(PEER_A, fat));
    const kept = tx.receivedRollouts(5)[0]?.rollouts ?? [];
    expect(new TextEncoder().encode(JSON.stringify(kept)).byteLength).toBeLessThanOrEqual(limits.maxBytes);
    for (let r = 6; r < 30; r++) deliver(rollouts(PEER_A, demoRollouts('test', r, PEER_A), r));
    expect(tx.receivedRollouts(5)).toEqual([]);
    expect(tx.receivedRollouts(29)).toHaveLength(1);
    // a round far behind the newest is not even stored
    deliver(rollouts(PEER_B, demoRollouts('test', 3, PEER_B), 3));
    expect(tx.receivedRollouts(3)).toEqual([]);
  });

  it('a flood of peers in one round is capped', () => {
    const { swarm, deliver } = fakeSwarm();
    const tx = transportOver(swarm, { ...transportLimitsFor(rules.rolloutShape), maxPeers: 16 });
    for (let i = 0; i < 100; i++) deliver(rollouts(`12D3KooWsybil${i}`, demoRollouts('test', 5, `12D3KooWsybil${i}`)));
    expect(tx.receivedRollouts(5)).toHaveLength(16);
  });
});
