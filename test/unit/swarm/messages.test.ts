import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, MessageTooLargeError, type SwarmMessage } from '../../../src/swarm/messages.ts';
import { LIMITS, MAX_MESSAGE_BYTES } from '../../../src/swarm/constants.ts';
import { bytesOf, validMessages } from './fixtures.ts';

function reasonFor(value: unknown): string {
  const result = decodeMessage(value instanceof Uint8Array ? value : bytesOf(value));
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.reason;
}

describe('decodeMessage', () => {
  it.each(validMessages().map((m) => [m.kind, m] as const))('accepts a well-formed %s message unchanged', (_kind, message) => {
    const result = decodeMessage(encodeMessage(message));
    expect(result).toEqual({ ok: true, message });
  });

  const [rollouts, heartbeat, critique, vote, binding] = validMessages() as [
    Extract<SwarmMessage, { kind: 'rollouts' }>,
    Extract<SwarmMessage, { kind: 'heartbeat' }>,
    Extract<SwarmMessage, { kind: 'critique' }>,
    Extract<SwarmMessage, { kind: 'vote' }>,
    Extract<SwarmMessage, { kind: 'binding' }>,
  ];
  const manyCompletions = Array.from({ length: LIMITS.completionsPerRollout + 1 }, () => ({ text: 'x', reward: 0 }));

  it.each([
    ['unknown kind', { ...heartbeat, kind: 'gossip' }, 'unknown kind'],
    ['wrong version', { ...heartbeat, v: 2 }, 'unsupported version'],
    ['unknown field', { ...heartbeat, extra: 1 }, 'unknown field "extra"'],
    ['missing round', { ...heartbeat, round: undefined }, 'round must be an integer'],
    ['fractional round', { ...heartbeat, round: 1.5 }, 'round must be an integer'],
    ['negative nonce', { ...heartbeat, nonce: -1 }, 'nonce is out of range'],
    ['bad peer id', { ...heartbeat, peerId: 'alice' }, 'peerId is malformed'],
    ['bad swarm id', { ...heartbeat, swarmId: 'UP' }, 'swarmId is malformed'],
    ['stats not numbers', { ...heartbeat, stats: { a: 'x' } }, 'stats.a must be a finite number'],
    ['too many stats', { ...heartbeat, stats: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) }, 'stats has more than'],
    ['no rollouts', { ...rollouts, rollouts: [] }, 'fewer than 1'],
    ['too many completions', { ...rollouts, rollouts: [{ task: rollouts.rollouts[0].task, completions: manyCompletions }] }, 'more than 32 items'],
    ['long completion', { ...rollouts, rollouts: [{ task: rollouts.rollouts[0].task, completions: [{ text: 'x'.repeat(LIMITS.completionChars + 1), reward: 0 }] }] }, 'longer than'],
    ['NaN-ish reward', { ...rollouts, rollouts: [{ task: rollouts.rollouts[0].task, completions: [{ text: 'x', reward: '1' }] }] }, 'reward must be a finite number'],
    ['difficulty 9', { ...rollouts, rollouts: [{ task: { ...rollouts.rollouts[0].task, difficulty: 9 }, completions: [{ text: 'x', reward: 0 }] }] }, 'difficulty is out of range'],
    ['seed over uint32', { ...rollouts, rollouts: [{ task: { ...rollouts.rollouts[0].task, seed: 2 ** 32 }, completions: [{ text: 'x', reward: 0 }] }] }, 'seed is out of range'],
    ['part beyond parts', { ...rollouts, part: 1, parts: 1 }, 'part is out of range'],
    ['uppercase commitment', { ...rollouts, modelCommitment: 'AB' }, 'modelCommitment is malformed'],
    ['critique about nobody', { ...critique, about: '' }, 'about is malformed'],
    ['empty vote', { ...vote, votes: [] }, 'fewer than 1'],
    ['binding with bad account', { ...binding, signed: { ...binding.signed, binding: { ...binding.signed.binding, account: '0x12' } } }, 'binding.account is malformed'],
    ['binding with huge signature', { ...binding, signed: { ...binding.signed, walletSignature: `0x${'1'.repeat(5000)}` } }, 'longer than'],
    ['ping with a body', { ...heartbeat, kind: 'ping', stats: undefined, echoes: [] }, 'unknown field "echoes"'],
    ['empty echo', { ...heartbeat, kind: 'echo', stats: undefined, echoes: [] }, 'fewer than 1'],
    ['echo of too many pings', { ...heartbeat, kind: 'echo', stats: undefined, echoes: Array.from({ length: LIMITS.echoesPerMessage + 1 }, (_, i) => ({ peerId: heartbeat.peerId, nonce: i })) }, 'more than 64 items'],
    ['echo with a bad pinger', { ...heartbeat, kind: 'echo', stats: undefined, echoes: [{ peerId: 'alice', nonce: 1 }] }, 'echoes[0].peerId is malformed'],
    ['echo with a fractional nonce', { ...heartbeat, kind: 'echo', stats: undefined, echoes: [{ peerId: heartbeat.peerId, nonce: 0.5 }] }, 'echoes[0].nonce must be an integer'],
    ['echo item with extra field', { ...heartbeat, kind: 'echo', stats: undefined, echoes: [{ peerId: heartbeat.peerId, nonce: 1, ts: 2 }] }, 'unknown field "ts"'],
    ['array', [1, 2], 'must be an object'],
    ['null', null, 'must be an object'],
  ])('refuses %s', (_name, value, reason) => {
    expect(reasonFor(value)).toContain(reason);
  });

  it('refuses oversized, empty, non-UTF-8 and non-JSON bytes', () => {
    expect(reasonFor(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toContain('oversized');
    expect(reasonFor(new Uint8Array(0))).toContain('empty');
    expect(reasonFor(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toContain('not UTF-8 JSON');
    expect(reasonFor(new TextEncoder().encode('{"kind":'))).toContain('not UTF-8 JSON');
  });

  it('refuses to encode a message over the limit instead of letting gossipsub drop it', () => {
    const big = { ...heartbeat, kind: 'critique', task: rollouts.rollouts[0].task, about: heartbeat.peerId, text: 'x'.repeat(MAX_MESSAGE_BYTES) } as SwarmMessage;
    expect(() => encodeMessage(big)).toThrow(MessageTooLargeError);
  });
});
