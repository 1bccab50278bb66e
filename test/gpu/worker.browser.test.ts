// The op checks inside a dedicated module worker, where the app runs the engine: every op, WebGPU against
// the CPU reference, with the same cases and tolerances as ops.test.ts, for both kernel families.
import { describe, expect, it } from 'vitest';
import type { OpCheckResult } from './checks/op-check.ts';
import { opCases } from './checks/op-cases.ts';
import type { KernelFamily } from '../../src/engine/gpu/family.ts';

interface WorkerReply {
  ok: boolean;
  adapter?: string;
  results?: OpCheckResult[];
  error?: string;
}

describe.each(['cpu', 'gpu'] as KernelFamily[])('WebGPU ops (%s kernel family) in a dedicated module worker', (kernels) => {
  it('gets an adapter and every op agrees with the CPU reference', async () => {
    const worker = new Worker(new URL('./checks/kernel-worker.ts', import.meta.url), { type: 'module' });
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReply>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
      worker.postMessage({ kernels });
    });
    worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.ok).toBe(true);
    expect(reply.adapter).toBeTruthy();
    expect(reply.results).toHaveLength(opCases().length);
    const failed = (reply.results ?? []).filter((r) => !(r.worst <= r.tolerance));
    expect(failed, JSON.stringify(failed)).toEqual([]);
  });
});
