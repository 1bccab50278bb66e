// f16 storage: the CPU-side rounding is IEEE round-to-nearest-even (so every backend reads the same halves),
// widening is exact, and a projection through f16 weights stays within the stated bound of the f32 one.
import { describe, expect, it } from 'vitest';
import { fromHalfBits, packHalves, toHalfBits, unpackHalves } from '../../../src/engine/half.ts';
import { CpuOps } from '../../../src/engine/cpu/ops.ts';
import { ShapeError } from '../../../src/engine/errors.ts';
import type { View } from '../../../src/engine/ops.ts';

const f = (data: Float32Array): View<Float32Array> => ({ buffer: data, offset: 0, length: data.length });
const i = (data: Int32Array): View<Int32Array> => ({ buffer: data, offset: 0, length: data.length });

describe('binary16 conversion', () => {
  it('known values, ties to even, overflow, subnormals, signed zero and NaN', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff); // the largest half
    expect(toHalfBits(65519)).toBe(0x7bff); // below the midpoint to 65536: rounds down
    expect(toHalfBits(65520)).toBe(0x7c00); // the midpoint rounds to even: Infinity
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1 + 2^-10: even (1)
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between 1 + 2^-10 and 1 + 2^-9: even (+2)
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // the smallest subnormal
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // half of it: tie to even, zero
    expect(toHalfBits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(toHalfBits(2 ** -14 - 2 ** -25)).toBe(0x0400); // the largest subnormal's round-up carries into the normals
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  it('every half widens exactly and converts back to itself', () => {
    const wrong: number[] = [];
    let checked = 0;
    for (let h = 0; h < 0x10000; h++) {
      const x = fromHalfBits(h);
      if (Number.isNaN(x)) continue;
      checked++;
      if (Math.fround(x) !== x || toHalfBits(x) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe(0x10000 - 2 * 1023); // all but the NaNs
  });

  it('rounding error is at most half an ulp: 2^-11 relative in the normal range', () => {
    let worst = 0;
    for (let k = 0; k < 20000; k++) {
      const x = Math.fround((Math.sin(k * 12.9898) * 43758.5453) % 1) * 2 ** ((k % 20) - 10);
      if (Math.abs(x) < 2 ** -14) continue;
      worst = Math.max(worst, Math.abs(fromHalfBits(toHalfBits(x)) - x) / Math.abs(x));
    }
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -13); // the bound is nearly reached: the test is not vacuous
  });

  it('packs pairs low half first; an odd count is a named error', () => {
    const w = packHalves(Float32Array.from([1, -2, 0.5, 3]));
    expect(Array.from(w, (x) => x >>> 0)).toEqual([0xc0003c00, 0x42003800]);
    expect(Array.from(unpackHalves(w))).toEqual([1, -2, 0.5, 3]);
    expect(() => packHalves(new Float32Array(3))).toThrow(ShapeError);
  });
});

describe('matmulHalfWeights (CPU reference)', () => {
  const ops = new CpuOps();
  const M = 3, N = 5, K = 64;
  const x = Float32Array.from({ length: M * K }, (_, k) => Math.cos(k * 0.7));
  const w = Float32Array.from({ length: N * K }, (_, k) => Math.sin(k * 0.31) * 0.5);

  it('equals the f32 matmul on the widened halves exactly, and the f32 weights within K * 2^-11 * max|x||w|', () => {
    const halves = packHalves(w);
    const got = new Float32Array(M * N), onHalves = new Float32Array(M * N), full = new Float32Array(M * N);
    ops.matmulHalfWeights(f(got), f(x), i(halves), M, N, K);
    ops.matmul(f(onHalves), f(x), f(unpackHalves(halves)), M, N, K, { transB: true });
    ops.matmul(f(full), f(x), f(w), M, N, K, { transB: true });
    expect(got).toEqual(onHalves);
    let worst = 0;
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - full[k]));
    expect(worst).toBeLessThan(K * 2 ** -11 * 0.5);
    expect(worst).toBeGreaterThan(0); // f16 did round something
    // += accumulates
    ops.matmulHalfWeights(f(got), f(x), i(halves), M, N, K, { accumulate: true });
    for (let k = 0; k < got.length; k++) expect(got[k]).toBeCloseTo(2 * onHalves[k], 5);
  });

  it('refuses an odd K or a short weight buffer by name', () => {
    expect(() => ops.matmulHalfWeights(f(new Float32Array(3)), f(new Float32Array(9)), i(new Int32Array(8)), 1, 3, 3)).toThrow(/even/);
    expect(() => ops.matmulHalfWeights(f(new Float32Array(M * N)), f(x), i(new Int32Array(10)), M, N, K)).toThrow(ShapeError);
  });
});
