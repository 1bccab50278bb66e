// The WebAssembly SIMD matmul kernels against the plain-JS ones, bit for bit, on every block path (rows in
// fours and the rest, columns in fours / pairs and the rest, k in fours and the rest, transposed a, offsets,
// accumulate), on values spread over many binades so that any change in the order or the points of rounding
// shows. And the committed module is exactly what the committed .wat assembles to.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MATMUL_GENERATED, renderMatmulModule } from '../../../scripts/build-wasm.ts';
import { matmulInto } from '../../../src/engine/cpu/matmul.ts';
import { matmulKernel, nnWasm, ntWasm } from '../../../src/engine/cpu/matmul-wasm.ts';
import { rng } from './helpers.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Half the values exactly ±2^30, the rest ±(1..2)·2^-7..2^0: products of ±2^60 cancel one another exactly
 * while a small one added next to them is lost (a double holds 53 bits), so over a few k a sum taken in
 * another order, even in doubles, or rounded at other points ends in other f32 bits (the shapes with K ≤ 8
 * see it most: nothing big is left over from other k to swamp it).
 */
function spread(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (r() < 0.5 ? 2 ** 30 : (1 + r()) * 2 ** -Math.floor(r() * 8)));
}

function differing(got: Float32Array, want: Float32Array): string {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let n = 0, first = -1;
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) { n++; if (first < 0) first = i; }
  return n === 0 ? '' : `${n} of ${g.length} differ, first at ${first}: ${got[first]} vs ${want[first]}`;
}

const shapes: [number, number, number][] = [
  [1, 1, 1], [1, 379, 64], [4, 4, 1], [5, 7, 3], [7, 3, 5], [8, 9, 17], [13, 11, 37], [3, 6, 8], [32, 64, 64], [16, 5, 4], [9, 2, 6], [16, 64, 4], [12, 30, 8], [8, 16, 3], [64, 32, 2],
];

describe('WebAssembly SIMD matmul kernels', () => {
  it('load here (Node ships WebAssembly SIMD)', () => {
    expect(matmulKernel()).toEqual({ kind: 'wasm-simd' });
  });

  for (const [M, N, K] of shapes) {
    it(`x Wᵀ equals the JS kernel bit for bit at ${M}x${N}x${K}, at offsets, accumulating`, () => {
      const a = spread(3 + M * K, M), b = spread(5 + N * K, N + 100), start = new Float32Array(2 + M * N + 4).fill(7).fill(0, 2, 2 + M * N);
      const want = start.slice(), got = start.slice();
      matmulInto(want, 2, a, 3, b, 5, M, N, K, false, true, true, 'js');
      expect(ntWasm(got, 2, a, 3, b, 5, M, N, K)).toBe(true);
      expect(differing(got, want)).toBe('');
      // the elements around the output are left alone
      expect(got.subarray(0, 2)).toEqual(start.subarray(0, 2));
      expect(got.subarray(2 + M * N)).toEqual(start.subarray(2 + M * N));
    });
    for (const transA of [false, true]) {
      it(`a b (b row-major${transA ? ', a transposed' : ''}) equals the JS kernel bit for bit at ${M}x${N}x${K}`, () => {
        const a = spread(1 + M * K, M + 7), b = spread(3 + K * N, N + 107), start = new Float32Array(M * N);
        const want = start.slice(), got = start.slice();
        matmulInto(want, 0, a, 1, b, 3, M, N, K, transA, false, true, 'js');
        expect(nnWasm(got, 0, a, 1, transA ? 1 : K, transA ? M : 1, b, 3, M, N, K)).toBe(true);
        expect(differing(got, want)).toBe('');
      });
    }
  }

  it('matmulInto takes the wasm path on large calls and still matches the JS kernels in every mode', () => {
    const M = 40, N = 70, K = 33;
    for (const [transA, transB, accumulate] of [[false, true, false], [false, false, true], [true, false, false], [true, true, true]] as const) {
      const a = spread(M * K, 1), b = spread(N * K, 2), start = spread(M * N, 3);
      const want = start.slice(), got = start.slice();
      matmulInto(want, 0, a, 0, b, 0, M, N, K, transA, transB, accumulate, 'js');
      matmulInto(got, 0, a, 0, b, 0, M, N, K, transA, transB, accumulate);
      expect(differing(got, want), `transA ${transA} transB ${transB} accumulate ${accumulate}`).toBe('');
    }
  });

  it('grows its memory for a call larger than any before and keeps agreeing', () => {
    const M = 300, N = 379, K = 64; // ~1 MB of operands: past the module's first 64 kB page
    const a = spread(M * K, 4), b = spread(N * K, 5);
    const want = new Float32Array(M * N), got = new Float32Array(M * N);
    matmulInto(want, 0, a, 0, b, 0, M, N, K, false, true, false, 'js');
    matmulInto(got, 0, a, 0, b, 0, M, N, K, false, true, false);
    expect(differing(got, want)).toBe('');
  });

  it('leaves a call whose operands exceed its 64 MiB memory cap to the JS kernels, with the same result', () => {
    const M = 4100, N = 4100, K = 1; // the output alone is 67 MB
    const a = spread(M * K, 6), b = spread(N * K, 7);
    expect(ntWasm(new Float32Array(M * N), 0, a, 0, b, 0, M, N, K)).toBe(false);
    const got = new Float32Array(M * N);
    matmulInto(got, 0, a, 0, b, 0, M, N, K, false, true, false);
    expect(got[M * N - 1]).toBe(Math.fround(a[M - 1] * b[N - 1]));
  });

  it('is identical to a fresh assembly of matmul.wat (npm run build:wasm after editing it)', async () => {
    const committed = readFileSync(`${repo}${MATMUL_GENERATED}`, 'utf8');
    expect(committed === await renderMatmulModule(), `${MATMUL_GENERATED} is stale: npm run build:wasm`).toBe(true);
  });
});
