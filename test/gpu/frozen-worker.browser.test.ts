// The f16 frozen base of a LoRA engine inside a dedicated module worker (as the app runs it), both kernel
// families, against the CPU reference on the same halves, with frozen.test.ts's tolerances.
import { describe, expect, it } from 'vitest';
import type { KernelFamily } from '../../src/engine/gpu/family.ts';
import { FROZEN_CONFIGS, FROZEN_TOLERANCE, type FrozenCheck } from './checks/frozen-check.ts';

interface WorkerReply {
  ok: boolean;
  adapter?: string;
  results?: FrozenCheck[];
  error?: string;
}

describe.each(['cpu', 'gpu'] as KernelFamily[])('f16 frozen base (%s kernel family) in a dedicated module worker', (kernels) => {
  it('agrees with the CPU reference on the same halves', async () => {
    const worker = new Worker(new URL('./checks/frozen-worker.ts', import.meta.url), { type: 'module' });
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReply>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
      worker.postMessage({ kernels });
    });
    worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.adapter).toBeTruthy();
    const results = reply.results ?? [];
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
