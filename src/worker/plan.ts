// What a tab will run, decided before anything heavy happens: the round shape and the memory it needs. Pure,
// so the page can show the estimate on the landing card and the worker can refuse before downloading weights.
import type { ModelConfig } from '../engine/api.ts';
import { checkFits, estimateModelBytes, estimateSamplingBytes, estimateTrainingBytes, type MemoryEstimate } from '../engine/memory.ts';
import { DEFAULT_TASK_MIX } from '../rl/defaults.ts';
import { defaultRunnerConfig, type RunnerConfig } from '../rl/runner.ts';
import type { LoadOptions } from './protocol.ts';

/** The round shape a tab runs: small batches so a round stays well under the swarm's round length. */
export function runnerConfigFor(options: LoadOptions): RunnerConfig {
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
  });
}

/** Weights + training state + sampling state for one round of `runner` on `config`. */
export function estimateContributionBytes(config: ModelConfig, runner: RunnerConfig): MemoryEstimate {
  const T = Math.min(config.max_position_embeddings, 256);
  const rows = runner.questions * runner.completions;
  const parts = [
    estimateModelBytes(config),
    estimateTrainingBytes(config, Math.min(rows, runner.microBatch), T),
    estimateSamplingBytes(config, rows, T - runner.sampling.maxNewTokens, runner.sampling.maxNewTokens),
  ];
  const buffers = Object.assign({}, ...parts.map((p) => p.buffers)) as Record<string, number>;
  const total = parts.reduce((s, p) => s + p.total, 0);
  const largest = Math.max(...parts.map((p) => p.largest));
  return { buffers, total, largest };
}

/** Throws ModelTooLargeError when weights + training + sampling state exceed the tab's budget. */
export function checkMemory(config: ModelConfig, runner: RunnerConfig, budgetBytes: number | undefined, maxBufferBytes?: number): void {
  checkFits('this model', estimateContributionBytes(config, runner), { maxTotalBytes: budgetBytes, maxBufferBytes });
}
