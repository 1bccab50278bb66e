// How many bytes a model needs, per buffer role, for training or sampling at a given batch shape, computed
// from the same layout tables the engine allocates from, and checked against the device's limits (total
// and largest single buffer) BEFORE anything is allocated, so a model that does not fit fails with a named
// error and leaves nothing half-allocated behind.

import type { ModelConfig } from './api.ts';
import { ModelTooLargeError } from './errors.ts';
import { frozenLayouts, type FrozenWeights } from './frozen.ts';
import {
  attentionProbsSize, decayRanges, gradScratchLayout, headActLayout, intLayout, kvLayerLayout, layerActLayout, logitChunkRows, paramLayout,
  type AttentionStateSize,
} from './layout.ts';

export interface MemoryEstimate {
  /** bytes per buffer role (a role may be several allocations: one per layer) */
  buffers: Record<string, number>;
  total: number;
  /** the largest single allocation, which must fit one device buffer */
  largest: number;
  largestName?: string;
}

export interface MemoryLimits {
  /** everything together (e.g. a budget for the tab) */
  maxTotalBytes?: number;
  /** one buffer (WebGPU maxStorageBufferBindingSize / maxBufferSize) */
  maxBufferBytes?: number;
}

/** roles: bytes per role; singles: size of each distinct allocation (defaults to the roles themselves) */
function finish(buffers: Record<string, number>, singles: Record<string, number> = buffers): MemoryEstimate {
  const total = Object.values(buffers).reduce((a, b) => a + b, 0);
  let largest = 0, largestName = '';
  for (const [name, bytes] of Object.entries(singles)) {
    if (bytes > largest) {
      largest = bytes;
      largestName = name;
    }
  }
  return { buffers, total, largest, largestName };
}

export function paramBytes(config: ModelConfig): number {
  return paramLayout(config).size * 4;
}

/**
 * Weights only: what an engine holds before it trains or samples. frozen 'f16' (a LoRA base, frozen.ts):
 * the projections as halves beside the f32 rest, two buffers.
 */
export function estimateModelBytes(config: ModelConfig, frozen: FrozenWeights = 'f32'): MemoryEstimate {
  if (frozen === 'f32') return finish({ params: paramBytes(config) });
  const { rest, halves } = frozenLayouts(config);
  return finish({ 'params (f32 rest)': rest.size * 4, 'params (f16 projections)': halves.size * 4 });
}

/** Grads, Adam moments, decay ranges and the training activations for B sequences of up to T tokens. */
/** attState: what the backend's attention keeps (Ops.attentionStateSize); default the (B,H,T,T) probabilities */
export function estimateTrainingBytes(
  config: ModelConfig, B: number, T: number, Ns = B * T, Rc = logitChunkRows(config, Ns), attState: AttentionStateSize = attentionProbsSize,
): MemoryEstimate {
  const p = paramBytes(config);
  const shape = { B, T, Ns, Rc };
  const layer = layerActLayout(config, shape, 0, attState).size * 4, head = headActLayout(config, shape).size * 4;
  const scratch = gradScratchLayout(config, shape).size * 4, ints = intLayout(shape).size * 4;
  const roles = {
    grads: p, adamM: p, adamV: p, decayRanges: decayRanges(paramLayout(config)).length * 4,
    activations: config.num_hidden_layers * layer + head, gradScratch: scratch, ints,
  };
  return finish(roles, { grads: p, 'activations (one layer)': layer, 'activations (head)': head, gradScratch: scratch, ints });
}

/** Prefill scratch, KV cache and decode scratch for B prompts of up to promptLen tokens. */
export function estimateSamplingBytes(
  config: ModelConfig, B: number, promptLen: number, maxNewTokens: number, attState: AttentionStateSize = attentionProbsSize,
): MemoryEstimate {
  const pre = { B, T: promptLen, Ns: B }, dec = { B, T: 1, Ns: B };
  const S = promptLen + maxNewTokens;
  const preLayer = layerActLayout(config, pre, 0, attState).size * 4, preHead = headActLayout(config, pre).size * 4;
  const kvLayer = kvLayerLayout(config, B, S).size * 4;
  const roles = {
    prefill: preLayer + preHead,
    kvCache: config.num_hidden_layers * kvLayer + B * S * 4,
    decode: (layerActLayout(config, dec, 0, attState).size + headActLayout(config, dec).size) * 4,
    ints: (intLayout(pre).size + intLayout(dec).size + B) * 4,
  };
  return finish(roles, { 'prefill (layer)': preLayer, 'prefill (head)': preHead, 'kvCache (one layer)': kvLayer });
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
    const name = estimate.largestName ?? Object.entries(estimate.buffers).find(([, v]) => v === estimate.largest)?.[0] ?? '?';
    throw new ModelTooLargeError(
      `${what}: buffer "${name}" needs ${mib(estimate.largest)} but the largest buffer allowed is ${mib(limits.maxBufferBytes)}`,
      estimate.largest, limits.maxBufferBytes,
    );
  }
}
