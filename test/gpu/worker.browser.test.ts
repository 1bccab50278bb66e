// The same kernel check inside a dedicated module worker, where the app runs the engine.
import { describe, expect, it } from 'vitest';

interface WorkerReply {
  ok: boolean;
  adapter?: string;
  results?: { maxAbsError: number; maxAbsValue: number; K: number }[];
  error?: string;
}

describe('matmul kernel in a dedicated module worker', () => {
  it('gets an adapter and agrees with the CPU reference', async () => {
    const worker = new Worker(new URL('./checks/kernel-worker.ts', import.meta.url), { type: 'module' });
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReply>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
      worker.postMessage({ shapes: [[33, 65, 17], [64, 48, 128]] });
    });
    worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.ok).toBe(true);
    expect(reply.adapter).toBeTruthy();
    expect(reply.results).toHaveLength(2);
    for (const r of reply.results ?? []) {
      expect(r.maxAbsValue).toBeGreaterThan(0);
      expect(r.maxAbsError).toBeLessThan(1e-4 * Math.sqrt(r.K));
    }
  });
});
