/// <reference lib="webworker" />
// The f16 frozen-base engine check inside a dedicated module worker, where the app runs the engine.
import { requestGpu } from '../../../src/engine/device.ts';
import type { KernelFamily } from '../../../src/engine/gpu/family.ts';
import { checkFrozenEngines } from './frozen-check.ts';

self.onmessage = async (event: MessageEvent<{ kernels: KernelFamily }>) => {
  try {
    const gpu = await requestGpu();
    if (!gpu) {
      self.postMessage({ ok: false, error: 'no WebGPU adapter inside the worker' });
      return;
    }
    const results = await checkFrozenEngines(gpu, event.data.kernels);
    self.postMessage({ ok: true, adapter: gpu.adapterInfo.label, results });
    gpu.destroy();
  } catch (error) {
    self.postMessage({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
};
