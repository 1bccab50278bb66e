// The WebGPU engine in one call: compile the kernels, then the one generic engine (engine.ts) over them, with
// the device's buffer limits as memory limits so an oversized model fails with ModelTooLargeError before
// anything is allocated.

import type { ModelConfig } from '../api.ts';
import type { GpuContext } from '../device.ts';
import { createEngine, type EngineOptions, type ModelEngine } from '../engine.ts';
import { initWeights } from '../init.ts';
import { estimateSamplingBytes, estimateTrainingBytes } from '../memory.ts';
import type { NamedTensor } from '../layout.ts';
import { createGpuOps, type GpuOps } from './ops.ts';
import type { KernelFamily } from './family.ts';

export { createGpuOps, GpuOps, isCpuAdapter } from './ops.ts';
export { chooseKernelFamily, isKernelFamily, type KernelFamily } from './family.ts';

export interface GpuEngineOptions extends EngineOptions {
  /** kernel family: default from the adapter info (family.ts); 'cpu' or 'gpu' overrides it */
  kernels?: KernelFamily;
}

/** The largest single buffer this device can hold and bind. */
export function gpuBufferLimit(gpu: GpuContext): number {
  return Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
}

/**
 * The largest single buffer an engine for `config` allocates when it trains on `train` (B rows of T tokens)
 * and samples `sample` (B prompts of promptLen, newTokens more): pass it to requestGpu as
 * minStorageBufferBindingSize (SmolLM2-135M's params alone are ~540 MB, above WebGPU's 128 MiB default).
 */
export function bindingBytesFor(
  config: ModelConfig, train: { B: number; T: number }, sample: { B: number; promptLen: number; newTokens: number },
): number {
  return Math.max(
    estimateTrainingBytes(config, train.B, train.T).largest,
    estimateSamplingBytes(config, sample.B, sample.promptLen, sample.newTokens).largest,
  );
}

/** A WebGPU engine for config; weights default to initWeights(config, seed 0). dispose() also frees the kernels. */
export async function createGpuEngine(
  gpu: GpuContext, config: ModelConfig, weights?: ReadonlyMap<string, NamedTensor> | Float32Array, options: GpuEngineOptions = {},
): Promise<ModelEngine & { readonly ops: GpuOps }> {
  const ops = await createGpuOps(gpu, { kernels: options.kernels });
  const limit = gpuBufferLimit(gpu);
  const limits = { ...options.limits, maxBufferBytes: Math.min(limit, options.limits?.maxBufferBytes ?? limit) };
  let engine: ModelEngine;
  try {
    engine = createEngine(ops, config, weights ?? initWeights(config, 0), { ...options, limits });
  } catch (e) {
    ops.destroy();
    throw e;
  }
  const dispose = engine.dispose.bind(engine);
  return Object.assign(engine, {
    ops,
    dispose() {
      dispose();
      ops.flush();
      ops.destroy();
    },
  });
}
