// The CPU engine's WebAssembly SIMD matmuls load where the app runs (headless Chromium's page and Node, both
// tiers) and agree with the JS kernels bit for bit there too: the browser's CPU fallback and the CPU
// reference the WebGPU ops are checked against both run them. (Every path, shape by shape:
// test/unit/engine/matmul-wasm.test.ts.)
import { expect, it } from 'vitest';
import { matmulInto } from '../../src/engine/cpu/matmul.ts';
import { matmulKernel } from '../../src/engine/cpu/matmul-wasm.ts';

it('loads the wasm-simd matmul kernels and matches the JS kernels bit for bit', () => {
  expect(matmulKernel()).toEqual({ kind: 'wasm-simd' });
  let seed = 7;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2 ** ((seed >>> 7) % 40 - 20));
  const M = 37, N = 70, K = 45;
  for (const [transA, transB] of [[false, true], [false, false], [true, false]] as const) {
    const a = rand(M * K), b = rand(N * K);
    const want = new Float32Array(M * N), got = new Float32Array(M * N);
    matmulInto(want, 0, a, 0, b, 0, M, N, K, transA, transB, false, 'js');
    matmulInto(got, 0, a, 0, b, 0, M, N, K, transA, transB, false);
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
  }
});
