// Deterministic hashing and random numbers shared by every peer. Tasks must come out identical on any
// machine and JS engine, so everything here is 32-bit integer arithmetic (Math.imul, >>> 0): no floats
// feed into a seed, and no platform RNG is used.

/** FNV-1a over the UTF-16 code units, then a murmur3 finaliser so nearby strings spread over all bits. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combine parts into one uint32; the separator keeps ("ab","c") and ("a","bc") apart. */
export function hashParts(...parts: (string | number)[]): number {
  return hashString(parts.map(String).join('\u0000'));
}

/** The task seed of a peer's round: anyone holding (swarmId, round, peerId) re-derives the same tasks. */
export function roundSeed(swarmId: string, round: number, peerId: string): number {
  return hashParts('tabswarm/round', swarmId, round, peerId);
}

/** mulberry32: small, fast, good enough for task generation and uniform sampling (not for secrets). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** uint32 */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** float in [0, 1) */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** integer in [lo, hi], both inclusive */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: empty list');
    return items[this.int(0, items.length - 1)];
  }

  /** Fisher-Yates on a copy */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** k distinct items, uniformly (all of them, shuffled, when k >= length) */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle(items).slice(0, Math.max(0, k));
  }
}
