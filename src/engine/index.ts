// Public surface of the engine. STABLE (the RL core and the worker may build on these): the Engine and
// ModelConfig types (api.ts), createEngine, createCpuEngine, initWeights, parseConfig, tinyConfig,
// smolLM2_135MConfig, eosTokens, the named errors, the memory estimates, and the HF folder IO (hf.ts).
// Everything else (model.ts, layout.ts, ops.ts) is internal to the two backends and may change.

export type { Engine, ModelConfig, SampleOptions, SampleResult, TrainSequence, AdamWConfig } from './api.ts';
export { createEngine, type ModelEngine, type EngineOptions } from './engine.ts';
export { createCpuEngine, CpuOps } from './cpu/index.ts';
export { initWeights } from './init.ts';
export { parseConfig, tinyConfig, smolLM2_135MConfig, eosTokens, headDim } from './config.ts';
export { paramLayout, packWeights, unpackWeights, type NamedTensor } from './layout.ts';
export { createRng, chooseToken } from './sampling.ts';
export {
  estimateModelBytes, estimateTrainingBytes, estimateSamplingBytes, checkFits, type MemoryEstimate, type MemoryLimits,
} from './memory.ts';
export { defaultFrozenWeights, baseWeightBytes, roundProjectionsToHalf, type FrozenWeights } from './frozen.ts';
export {
  ShapeError, TokenRangeError, UnsupportedModelError, ConfigError, SafetensorsError, WeightsMismatchError,
  ModelTooLargeError, EngineStateError,
} from './errors.ts';
export { loadHfModel, saveHfModel, loadTensors, urlSource, memoryFolder, type FileSource, type FileSink, type LoadedModel } from './hf.ts';
export { parseSafetensors, serializeSafetensors } from './safetensors.ts';
// Node only (filesystem folders): import dirSource / dirSink from './hf-node.ts' directly.
