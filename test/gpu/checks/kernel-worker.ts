/// <reference lib="webworker" />
import { requestGpu } from '../../../src/engine/device.ts';
import { checkMatmul } from './matmul-check.ts';

self.onmessage = async (event: MessageEvent<{ shapes: [number, number, number][] }>) => {
  try {
    const gpu = await requestGpu();
    if (!gpu) {
      self.postMessage({ ok: false, error: 'no WebGPU adapter inside the worker' });
      return;
    }
    const results = [];
    for (const [M, N, K] of event.data.shapes) results.push(await checkMatmul(gpu, M, N, K));
    self.postMessage({ ok: true, adapter: gpu.adapterInfo.label, results });
    gpu.destroy();
  } catch (error) {
    self.postMessage({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
};
