// Decoder fuzz: random bytes, random JSON and mutations of valid messages. No exception may escape, and every
// input here is invalid by construction, so each must come back rejected with a reason.
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/swarm/messages.ts';
import { bytesOf, validMessages } from './fixtures.ts';

/** mulberry32: seeded, so a failure reproduces */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [null, true, false, 0, -1, 1e308, -0, '', 'x'.repeat(10_000), [], {}, [[[]]], { __proto__: { kind: 'vote' } }, '12D3KooW', 2 ** 53, 0.5, '\u0000', { v: 1 }];

function randomJson(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * 7);
  if (depth > 4 || pick < 2) return WEIRD[Math.floor(next() * WEIRD.length)];
  if (pick < 4) return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth + 1));
  const obj: Record<string, unknown> = {};
  const keys = ['v', 'kind', 'round', 'peerId', 'nonce', 'ts', 'swarmId', 'rollouts', 'stats', 'votes', 'x'];
  for (let i = 0; i < 1 + next() * 5; i++) obj[keys[Math.floor(next() * keys.length)]] = randomJson(next, depth + 1);
  return obj;
}

/** paths to every value inside a message */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** a mutation that always makes a valid message invalid */
function breakMessage(next: () => number, message: unknown): Uint8Array {
  const all = paths(message).filter((p) => p.length > 0);
  const path = all[Math.floor(next() * all.length)];
  const current = path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], message);
  switch (Math.floor(next() * 7)) {
    case 0: {
      // a value of another type: string <-> number, objects/arrays -> scalars
      const replacement = typeof current === 'string' ? 12345 : typeof current === 'number' ? String(current) : 'oops';
      return bytesOf(setAt(message, path, replacement));
    }
    case 1: {
      // delete a key (array items: delete a key of the first object instead, or empty a required list)
      if (typeof path[path.length - 1] === 'number') return bytesOf(setAt(message, path.slice(0, -1), []));
      const optional = ['modelCommitment', 'logprobCommitment'];
      const key = path[path.length - 1] as string;
      if (optional.includes(key) || path.includes('stats')) return bytesOf(setAt(message, ['extra'], 1));
      return bytesOf(setAt(message, path, undefined));
    }
    case 2:
      // an unknown key next to a real one (stats may name any key, so go to the top level there)
      // (and an array's parent would drop a named key when serialised)
      if (path.includes('stats') || typeof path[path.length - 1] === 'number') return bytesOf(setAt(message, [`zz${Math.floor(next() * 100)}`], 1));
      return bytesOf(setAt(message, [...path.slice(0, -1), `zz${Math.floor(next() * 100)}`], 1));
    case 3: {
      // truncation anywhere before the closing brace
      const bytes = bytesOf(message);
      return bytes.slice(0, Math.floor(next() * (bytes.length - 1)));
    }
    case 4: {
      // an invalid UTF-8 byte somewhere
      const bytes = bytesOf(message);
      bytes[Math.floor(next() * bytes.length)] = 0xff;
      return bytes;
    }
    case 5:
      // over-long string or list
      return bytesOf(setAt(message, ['peerId'], 'x'.repeat(200 + Math.floor(next() * 1000))));
    default:
      // wrong version or kind
      return bytesOf(setAt(message, [next() < 0.5 ? 'v' : 'kind'], next() < 0.5 ? 2 : 'unknown'));
  }
}

describe('decoder fuzz', () => {
  it('rejects 12,000 random and mutated messages with a reason and never throws', () => {
    const next = rng(20261125);
    const valid = validMessages();
    const reasons = new Map<string, number>();
    let count = 0;
    const check = (bytes: Uint8Array, label: string) => {
      const result = decodeMessage(bytes);
      count++;
      if (result.ok) throw new Error(`fuzz case ${count} (${label}) was accepted: ${new TextDecoder().decode(bytes).slice(0, 1000)}`);
      expect(result.reason.length).toBeGreaterThan(0);
      // "decoder error" marks an exception the decoder did not anticipate: a bug, even though it was caught
      expect(result.reason).not.toMatch(/^decoder error/);
      const key = result.reason.replace(/[\d[\]]+/g, '#').slice(0, 40);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    };
    for (let i = 0; i < 2_000; i++) {
      const bytes = new Uint8Array(Math.floor(next() * 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(next() * 256);
      check(bytes, 'random bytes');
    }
    for (let i = 0; i < 2_000; i++) check(bytesOf(randomJson(next)), 'random JSON');
    for (let i = 0; i < 8_000; i++) {
      const message = valid[i % valid.length];
      check(breakMessage(next, message), `mutated ${message.kind}`);
    }
    expect(count).toBe(12_000);
    // the refusals come from many different checks, not one catch-all
    expect(reasons.size).toBeGreaterThan(30);
  });
});
