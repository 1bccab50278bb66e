// Which kernel family an adapter gets. CPU-backed adapters (SwiftShader, llvmpipe/lavapipe, anything the
// browser marks as a fallback adapter) run each invocation as a CPU thread: barriers and workgroup memory
// cost more than they save, and few long invocations with big register tiles win ('cpu' family). Real GPUs
// are bandwidth-bound and want workgroup-memory tiling, coalesced loads, workgroup tree reductions and
// flash-style attention ('gpu' family). Both families compute the same ops to within float reassociation,
// and both are tested on every adapter.
import type { GpuInfo } from '../device.ts';

export type KernelFamily = 'gpu' | 'cpu';

export function isKernelFamily(x: unknown): x is KernelFamily {
  return x === 'gpu' || x === 'cpu';
}

/** Software rasterisers exposed as WebGPU adapters: they want few, long-running invocations. */
export function isCpuAdapterInfo(info: GpuInfo): boolean {
  if (info.isFallbackAdapter) return true;
  return /swiftshader|llvmpipe|lavapipe|software|warp|microsoft basic render/i.test(
    `${info.vendor} ${info.architecture} ${info.device} ${info.description}`,
  );
}

export function chooseKernelFamily(info: GpuInfo): KernelFamily {
  return isCpuAdapterInfo(info) ? 'cpu' : 'gpu';
}
