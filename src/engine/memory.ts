// How many bytes a model needs, per buffer role, for training or sampling at a given batch shape, computed
// from the same layout tables the engine allocates from, and checked against the device's limits (total
// and largest single buffer) BEFORE anything is allocated, so a model that does not fit fails with a named
// error and leaves nothing half-allocated behind.

import type { ModelConfig } from './api.ts';
import { ModelTooLargeError } from './errors.ts';
import { activationLayout, gradScratchLayout, intLayout, kvCacheLayout, paramLayout } from './layout.ts';

export interface MemoryEstimate {
  /** bytes per buffer role, each one allocation */
  buffers: Record<string, number>;
  total: number;
  largest: number;
}

export interface MemoryLimits {
  /** everything together (e.g. a budget for the tab) */
  maxTotalBytes?: number;
  /** one buffer (WebGPU maxStorageBufferBindingSize / maxBufferSize) */
  maxBufferBytes?: number;
}

function finish(buffers: Record<string, number>): MemoryEstimate {
  const sizes = Object.values(buffers);
  return { buffers, total: sizes.reduce((a, b) => a + b, 0), largest: Math.max(0, ...sizes) };
}

export function paramBytes(config: ModelConfig): number {
  return paramLayout(config).size * 4;
}

/** Weights only: what an engine holds before it trains or samples. */
export function estimateModelBytes(config: ModelConfig): MemoryEstimate {
  return finish({ params: paramBytes(config) });
}

/** Grads, Adam moments, decay mask and the training activations for B sequences of up to T tokens. */
export function estimateTrainingBytes(config: ModelConfig, B: number, T: number, Ns = B * T): MemoryEstimate {
  const p = paramBytes(config);
  const shape = { B, T, Ns };
  return finish({
    grads: p, adamM: p, adamV: p, decayMask: p,
    activations: activationLayout(config, shape, config.num_hidden_layers).size * 4,
    gradScratch: gradScratchLayout(config, shape).size * 4,
    ints: intLayout(shape).size * 4,
  });
}

/** Prefill scratch, KV cache and decode scratch for B prompts of up to promptLen tokens. */
export function estimateSamplingBytes(config: ModelConfig, B: number, promptLen: number, maxNewTokens: number): MemoryEstimate {
  return finish({
    prefill: activationLayout(config, { B, T: promptLen, Ns: B }, 1).size * 4,
    kvCache: kvCacheLayout(config, B, promptLen + maxNewTokens).size * 4,
    decode: activationLayout(config, { B, T: 1, Ns: B }, 1).size * 4,
    ints: intLayout({ B, T: promptLen, Ns: B }).size * 4 + B * 4,
  });
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Throws ModelTooLargeError when the estimate (plus what is already held) exceeds the limits. */
export function checkFits(what: string, estimate: MemoryEstimate, limits: MemoryLimits, alreadyHeld = 0): void {
  const total = estimate.total + alreadyHeld;
  if (limits.maxTotalBytes !== undefined && total > limits.maxTotalBytes) {
    throw new ModelTooLargeError(
      `${what} needs ${mib(total)} in all (${Object.entries(estimate.buffers).map(([k, v]) => `${k} ${mib(v)}`).join(', ')}` +
        `${alreadyHeld ? `, already held ${mib(alreadyHeld)}` : ''}) but the limit is ${mib(limits.maxTotalBytes)}: ` +
        'use a smaller batch, shorter sequences or a smaller model',
      total, limits.maxTotalBytes,
    );
  }
  if (limits.maxBufferBytes !== undefined && estimate.largest > limits.maxBufferBytes) {
    const [name] = Object.entries(estimate.buffers).find(([, v]) => v === estimate.largest) ?? ['?'];
    throw new ModelTooLargeError(
      `${what}: buffer "${name}" needs ${mib(estimate.largest)} but the largest buffer allowed is ${mib(limits.maxBufferBytes)}`,
      estimate.largest, limits.maxBufferBytes,
    );
  }
}
