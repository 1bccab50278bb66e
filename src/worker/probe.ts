import { requestGpu } from '../engine/device.ts';
import type { GpuProbe } from './protocol.ts';

/** Asks for a WebGPU device and describes what was found; never throws. */
export async function probeGpu(): Promise<GpuProbe> {
  const hasApi = typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== 'undefined';
  if (!hasApi) return { webgpu: false, adapter: null, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const gpu = await requestGpu();
    if (!gpu) return { webgpu: false, adapter: null, reason: 'WebGPU is present but no adapter was offered' };
    const label = gpu.adapterInfo.label;
    gpu.destroy();
    return { webgpu: true, adapter: label, reason: null };
  } catch (error) {
    return { webgpu: false, adapter: null, reason: `WebGPU device request failed: ${(error as Error).message}` };
  }
}
