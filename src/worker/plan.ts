// What a tab will run, decided before anything heavy happens: the round shape and the memory it needs. Pure,
// so the page can show the estimate on the landing card and the worker can refuse before downloading weights.
import type { ModelConfig } from '../engine/api.ts';
import { checkFits, estimateModelBytes, estimateSamplingBytes, estimateTrainingBytes, type MemoryEstimate } from '../engine/memory.ts';
import { estimateLoraTrainingBytes, type LoraConfig } from '../engine/lora.ts';
import { defaultFrozenWeights } from '../engine/frozen.ts';
import { completionBudget } from '../rl/chat-template.ts';
import { DEFAULT_TASK_MIX } from '../rl/defaults.ts';
import { defaultRunnerConfig, type RunnerConfig } from '../rl/runner.ts';
import type { LoadOptions } from './protocol.ts';

/** tokens per completion when neither the swarm nor the model folder says (the tiny default model's answers) */
export const DEFAULT_COMPLETION_TOKENS = 24;

/**
 * Tokens per completion: the swarm config's budget wins (every peer checks others' completions against it);
 * without one, a model folder's generation_config.json max_new_tokens may shorten the default but never
 * lengthen it, since peers that have not read the folder check against the default.
 */
export function sampleBudget(swarmBudget: number | undefined, folderBudget: number | null): number {
  if (swarmBudget !== undefined) return completionBudget(swarmBudget, { stopIds: [], maxNewTokens: null }, DEFAULT_COMPLETION_TOKENS);
  return Math.min(DEFAULT_COMPLETION_TOKENS, completionBudget(undefined, { stopIds: [], maxNewTokens: folderBudget }, DEFAULT_COMPLETION_TOKENS));
}

/**
 * The round shape a tab runs: small batches so a round stays well under the swarm's round length.
 * `folderBudget`: the model folder's generation_config max_new_tokens, when the worker has read it.
 */
export function runnerConfigFor(options: LoadOptions, folderBudget: number | null = null): RunnerConfig {
  const mix = options.taskMix && Object.keys(options.taskMix).length > 0
    ? DEFAULT_TASK_MIX.filter((m) => options.taskMix![m.family] !== undefined).map((m) => ({ ...m, weight: options.taskMix![m.family] }))
    : DEFAULT_TASK_MIX;
  return defaultRunnerConfig({
    swarmId: options.swarmId,
    tasks: mix.length > 0 ? mix : DEFAULT_TASK_MIX,
    questions: 4,
    completions: 4,
    localGroups: 4,
    externalGroups: 4,
    sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: sampleBudget(options.completionBudget, folderBudget) },
  });
}

/** Weights + training state + sampling state for one round of `runner` on `config`. */
export function estimateContributionBytes(config: ModelConfig, runner: RunnerConfig, lora?: LoraConfig | null): MemoryEstimate {
  // a round's sequences: the prompt (a chat template adds ~40 tokens) and the completion budget
  const T = roundTokens(config, runner);
  const rows = runner.questions * runner.completions;
  return merge([
    ...engineParts(config, runner, lora),
    estimateSamplingBytes(config, rows, T - runner.sampling.maxNewTokens, runner.sampling.maxNewTokens),
  ]);
}

/**
 * The second engine an average or a swarm-model download builds beside the running one: its weights, and
 * the training state its probe forward and Adam's carried-over moments allocate (no sampling state).
 */
export function estimateSecondEngineBytes(config: ModelConfig, runner: RunnerConfig, lora?: LoraConfig | null): MemoryEstimate {
  return merge(engineParts(config, runner, lora));
}

const roundTokens = (config: ModelConfig, runner: RunnerConfig) =>
  Math.min(config.max_position_embeddings, Math.max(256, 128 + runner.sampling.maxNewTokens));

function engineParts(config: ModelConfig, runner: RunnerConfig, lora?: LoraConfig | null): MemoryEstimate[] {
  const T = roundTokens(config, runner), B = Math.min(runner.questions * runner.completions, runner.microBatch);
  return [
    // a LoRA base of 16-bit weights is stored as f16, as the engine will (frozen.ts)
    estimateModelBytes(config, defaultFrozenWeights(config, Boolean(lora))),
    lora ? estimateLoraTrainingBytes(config, lora, B, T) : estimateTrainingBytes(config, B, T),
  ];
}

function merge(parts: MemoryEstimate[]): MemoryEstimate {
  const buffers = Object.assign({}, ...parts.map((p) => p.buffers)) as Record<string, number>;
  return { buffers, total: parts.reduce((s, p) => s + p.total, 0), largest: Math.max(...parts.map((p) => p.largest)) };
}

/** Throws ModelTooLargeError when weights + training + sampling state exceed the tab's budget. */
export function checkMemory(config: ModelConfig, runner: RunnerConfig, budgetBytes: number | undefined, maxBufferBytes?: number, lora?: LoraConfig | null): void {
  checkFits(lora ? `this model with a rank-${lora.rank} LoRA adapter` : 'this model', estimateContributionBytes(config, runner, lora), { maxTotalBytes: budgetBytes, maxBufferBytes });
}

/**
 * Throws ModelTooLargeError when a second engine (estimateSecondEngineBytes) does not fit in the tab's
 * budget beside the running one: the average or the download is refused by name, and the tab trains on.
 */
export function checkSecondEngine(config: ModelConfig, runner: RunnerConfig, budgetBytes: number | undefined, lora?: LoraConfig | null): void {
  checkFits('a second copy of this model, which an average or a swarm-model download holds beside the running one,',
    estimateSecondEngineBytes(config, runner, lora), { maxTotalBytes: budgetBytes }, estimateContributionBytes(config, runner, lora).total);
}
