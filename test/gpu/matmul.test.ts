import { describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import { checkMatmul } from './checks/matmul-check.ts';

describe('matmul kernel against the CPU reference', () => {
  it('finds a WebGPU adapter', async () => {
    const gpu = await getTestGpu();
    expect(gpu.adapterInfo.label.length).toBeGreaterThan(0);
  });

  for (const [M, N, K] of [
    [1, 1, 1],
    [7, 5, 3],
    [32, 32, 32],
    [33, 65, 17],
    [64, 48, 128],
  ] as const) {
    it(`agrees for M=${M} N=${N} K=${K}`, async () => {
      const gpu = await getTestGpu();
      const result = await checkMatmul(gpu, M, N, K, M * 131 + N * 7 + K);
      expect(result.maxAbsValue).toBeGreaterThan(0);
      expect(result.maxAbsError).toBeLessThan(1e-4 * Math.max(1, Math.sqrt(K)));
    });
  }
});
