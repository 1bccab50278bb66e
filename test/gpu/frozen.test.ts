// The f16 frozen base of a LoRA engine on WebGPU (Node Dawn and a Chromium page) against the CPU reference
// on the same halves, both kernel families: logprobs, adapter gradients, greedy decoding.
// No array<f16> path exists (no adapter here has shader-f16): the halves are widened with core unpack2x16float.
import { describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import type { KernelFamily } from '../../src/engine/gpu/index.ts';
import { checkFrozenEngines, FROZEN_CONFIGS, FROZEN_TOLERANCE } from './checks/frozen-check.ts';

describe.each(['cpu', 'gpu'] as KernelFamily[])('f16 frozen base on WebGPU (%s kernel family)', (kernels) => {
  it('agrees with the CPU reference on the same halves', async () => {
    const results = await checkFrozenEngines(await getTestGpu(), kernels);
    expect(results.map((r) => r.name)).toEqual(FROZEN_CONFIGS.map(([n]) => n));
    for (const r of results) {
      expect(r.frozen, r.name).toEqual(['f16', 'f16']);
      expect(r.gradScale, r.name).toBeGreaterThan(0);
      expect(r.logprobs, r.name).toBeLessThan(FROZEN_TOLERANCE.logprobs);
      expect(r.grads, r.name).toBeLessThan(FROZEN_TOLERANCE.grads);
      expect(r.greedySame, r.name).toBe(true);
      expect(r.decodeLogprobs, r.name).toBeLessThan(FROZEN_TOLERANCE.decodeLogprobs);
      expect(r.aliasCopies, r.name).toBe(0);
    }
  });
});
