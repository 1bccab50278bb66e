// Shared helpers for the engine unit tests: a seeded generator and a finite-difference gradient check.
import { expect } from 'vitest';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale) */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Central finite differences of loss() with respect to a few entries of x, compared with the analytic
 * gradient. loss() must recompute everything from x (in f32), so h is large-ish and tolerances loose.
 */
export function checkGrad(
  name: string,
  x: Float32Array,
  analytic: Float32Array,
  loss: () => number,
  { samples = 16, h = 1e-2, atol = 2e-3, rtol = 2e-2, seed = 7 } = {},
): void {
  const r = rng(seed);
  const picks = x.length <= samples ? Array.from(x.keys()) : Array.from({ length: samples }, () => Math.floor(r() * x.length));
  for (const i of picks) {
    const saved = x[i];
    x[i] = saved + h;
    const lp = loss();
    x[i] = saved - h;
    const lm = loss();
    x[i] = saved;
    const fd = (lp - lm) / (2 * h);
    const err = Math.abs(fd - analytic[i]);
    const bound = atol + rtol * Math.max(Math.abs(fd), Math.abs(analytic[i]));
    if (err > bound) expect.fail(`${name}[${i}]: analytic ${analytic[i]} vs finite difference ${fd} (err ${err} > ${bound})`);
  }
}
