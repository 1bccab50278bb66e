// The CPU reference engine in one call, for tests, the RL core's CPU runs and the no-WebGPU fallback.
import type { ModelConfig } from '../api.ts';
import { createEngine, type EngineOptions, type ModelEngine } from '../engine.ts';
import { initWeights } from '../init.ts';
import type { NamedTensor } from '../layout.ts';
import { CpuOps } from './ops.ts';

export { CpuOps } from './ops.ts';

/** A CPU engine for config; weights default to initWeights(config, seed 0). */
export function createCpuEngine(
  config: ModelConfig, weights?: ReadonlyMap<string, NamedTensor> | Float32Array, options?: EngineOptions,
): ModelEngine {
  return createEngine(new CpuOps(), config, weights ?? initWeights(config, 0), options);
}
