// averageParameters: the elementwise mean behind "download the swarm model" and periodic averaging.
import { describe, expect, it } from 'vitest';
import { averageParameters, MetaModelError } from '../../../src/rl/meta.ts';

describe('averageParameters', () => {
  it('is the elementwise mean, weighted when asked', () => {
    const a = Float32Array.from([1, 2, -3]), b = Float32Array.from([3, 6, 3]);
    expect([...averageParameters([a, b])]).toEqual([2, 4, 0]);
    expect([...averageParameters([a, b], [3, 1])]).toEqual([1.5, 3, -1.5]);
    expect([...averageParameters([a], [0.2])]).toEqual([1, 2, -3]);
    // a model with weight 0 does not count
    expect([...averageParameters([a, b], [1, 0])]).toEqual([1, 2, -3]);
  });

  it('returns a fresh array and leaves its inputs alone', () => {
    const a = Float32Array.from([1, 1]);
    const out = averageParameters([a, a]);
    out[0] = 9;
    expect([...a]).toEqual([1, 1]);
  });

  it('throws on a length mismatch and on bad weights', () => {
    expect(() => averageParameters([new Float32Array(3), new Float32Array(4)])).toThrow(/model 1 has 4 parameters, model 0 has 3/);
    expect(() => averageParameters([])).toThrow(MetaModelError);
    expect(() => averageParameters([new Float32Array(1)], [1, 2])).toThrow(/2 weights for 1 models/);
    expect(() => averageParameters([new Float32Array(1)], [-1])).toThrow(/non-negative/);
    expect(() => averageParameters([new Float32Array(1)], [0])).toThrow(/sum to zero/);
  });

  it('refuses a counted model holding NaN or an infinity, naming it, and ignores one with weight 0', () => {
    const good = Float32Array.from([1, 2, 3]);
    expect(() => averageParameters([good, Float32Array.from([1, NaN, 3])])).toThrow(/model 1 has a non-finite value \(NaN\) at parameter 1/);
    expect(() => averageParameters([Float32Array.from([Infinity, 0, 0]), good])).toThrow(/model 0 has a non-finite value \(Infinity\) at parameter 0/);
    expect(() => averageParameters([good, Float32Array.from([0, 0, -Infinity])])).toThrow(MetaModelError);
    expect([...averageParameters([good, Float32Array.from([NaN, NaN, NaN])], [1, 0])]).toEqual([1, 2, 3]);
  });
});
