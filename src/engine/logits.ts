// Teacher-forced full logits for given token sequences: what a verifier needs to recompute the sampler's
// distribution at every completion position (Engine.forwardLogprobs gives only the target's logprob, and the
// sampler's CDF interval needs the whole row). Inference only: one layer buffer reused by every layer, no
// grads, no KV cache. Runs on any Ops backend, so a verifier can check on the CPU what a peer sampled on WebGPU.

import type { ModelConfig, TrainSequence } from './api.ts';
import type { Ops, View } from './ops.ts';
import { parseConfig } from './config.ts';
import { ShapeError, TokenRangeError } from './errors.ts';
import { headActLayout, intLayout, layerActLayout, packWeights, paramLayout, type NamedTensor } from './layout.ts';
import { carveActs, carveParams, carver, modelForward, type Gather } from './model.ts';
import { CpuOps } from './cpu/ops.ts';
import { sharedPromptLogits } from './shared-prompt.ts';

export interface LogitsScorer {
  readonly backend: 'cpu' | 'webgpu';
  readonly config: ModelConfig;
  /**
   * Per sequence, the logits (count x V, row-major) that predict tokens[completionStart ..]: row t is the
   * distribution the sampler drew completion token t from.
   */
  completionLogits(batch: TrainSequence[]): Promise<Float32Array[]>;
  dispose(): void;
}

/** packed tokens per shared-prompt pass (prompts + completions): bounds the activations of one check */
export const SHARED_CHUNK_TOKENS = 4096;

export interface ScorerOptions {
  /**
   * 'shared-prompt' (default): rows with the same prompt (tokens before completionStart) run it once and
   * their completions packed (shared-prompt.ts); 'padded': every row whole, padded to the longest (the
   * reference the shared path is tested against).
   */
  strategy?: 'shared-prompt' | 'padded';
}

/** A scorer over `ops` holding its own copy of the weights (flat paramLayout order or HF names). */
export function createLogitsScorer<F, I>(
  ops: Ops<F, I>, configIn: ModelConfig, weights: ReadonlyMap<string, NamedTensor> | Float32Array, options: ScorerOptions = {},
): LogitsScorer {
  const config = parseConfig(configIn);
  const layout = paramLayout(config);
  const flat = weights instanceof Float32Array ? weights : packWeights(config, weights, layout);
  if (flat.length !== layout.size) throw new ShapeError(`flat weights have ${flat.length} values, the config needs ${layout.size}`);
  const paramsFlat = ops.allocF32(layout.size, 'scorer.params');
  ops.writeF32(paramsFlat, flat);
  const P = carveParams(ops, config, paramsFlat, layout);
  const V = config.vocab_size;
  let disposed = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function completionLogits(batch: TrainSequence[]): Promise<Float32Array[]> {
    if (disposed) throw new ShapeError('logits scorer used after dispose()');
    if (!Array.isArray(batch) || batch.length === 0) throw new ShapeError('completionLogits: empty batch');
    for (const [b, s] of batch.entries()) {
      const n = s?.tokens?.length ?? 0;
      if (n === 0 || n > config.max_position_embeddings) throw new ShapeError(`completionLogits row ${b}: ${n} tokens (1..${config.max_position_embeddings})`);
      if (!Number.isInteger(s.completionStart) || s.completionStart < 1 || s.completionStart > n) {
        throw new ShapeError(`completionLogits row ${b}: completionStart ${s.completionStart} must be in [1, ${n}]`);
      }
      for (const t of s.tokens) if (!Number.isInteger(t) || t < 0 || t >= V) throw new TokenRangeError(`completionLogits row ${b}: token ${t} is outside [0, ${V})`);
    }
    if ((options.strategy ?? 'shared-prompt') === 'shared-prompt') return sharedPrompts(batch);
    const B = batch.length, T = Math.max(...batch.map((s) => s.tokens.length));
    const gather: Gather[] = batch.map((s, b) => ({ row: b * T + s.completionStart - 1, count: s.tokens.length - s.completionStart }));
    const Ns = gather.reduce((a, g) => a + g.count, 0);
    if (Ns === 0) return batch.map(() => new Float32Array(0));
    const shape = { B, T, Ns, Rc: Ns };
    const lL = layerActLayout(config, shape, 0, (d) => ops.attentionStateSize(d)), hL = headActLayout(config, shape), iL = intLayout(shape);
    const bufs: (View<F> | View<I>)[] = [];
    try {
      const layer = ops.allocF32(lL.size, 'scorer.layer');
      bufs.push(layer);
      const head = ops.allocF32(hL.size, 'scorer.head');
      bufs.push(head);
      const intsFlat = ops.allocI32(iL.size, 'scorer.ints');
      bufs.push(intsFlat);
      const A = carveActs(ops, [layer], lL, head, hL, config.num_hidden_layers);
      const getI = carver(ops, intsFlat, iL);
      const ints = { tokens: getI('tokens'), positions: getI('positions'), targets: getI('targets') };
      const tokens = new Int32Array(B * T), positions = new Int32Array(B * T), mask = new Float32Array(B * T);
      batch.forEach((s, b) => {
        for (let t = 0; t < s.tokens.length; t++) {
          tokens[b * T + t] = s.tokens[t];
          positions[b * T + t] = t;
          mask[b * T + t] = 1;
        }
      });
      ops.writeI32(ints.tokens, tokens);
      ops.writeI32(ints.positions, positions);
      ops.writeF32(A.mask, mask);
      modelForward(ops, config, P, A, ints, shape, gather, { logprobs: false });
      ops.flush();
      const all = await ops.readF32(A.logits);
      let at = 0;
      return gather.map((g) => {
        const rows = all.slice(at * V, (at + g.count) * V);
        at += g.count;
        return rows;
      });
    } finally {
      for (const v of bufs) ops.free(v);
    }
  }

  // Rows go through in chunks of about SHARED_CHUNK_TOKENS packed tokens, so a long batch (up to 256
  // challenged rows) never needs activations for all of it at once; a question's rows stay together unless
  // they alone overflow a chunk (then its prompt runs once per chunk).
  async function sharedPrompts(batch: TrainSequence[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < batch.length;) {
      let end = start, tokens = 0;
      while (end < batch.length && (end === start || tokens + batch[end].tokens.length <= SHARED_CHUNK_TOKENS)) tokens += batch[end++].tokens.length;
      const index = new Map<string, number>(), prompts: number[][] = [];
      const rows = batch.slice(start, end).map((s) => {
        const prompt = s.tokens.slice(0, s.completionStart), key = prompt.join(',');
        let u = index.get(key);
        if (u === undefined) index.set(key, (u = prompts.push(prompt) - 1));
        return { prompt: u, tokens: s.tokens.slice(s.completionStart) };
      });
      out.push(...(await sharedPromptLogits(ops, config, P, prompts, rows)));
      start = end;
    }
    return out;
  }

  return {
    backend: ops.backend,
    config,
    completionLogits(batch) {
      const next = queue.then(() => completionLogits(batch));
      queue = next.catch(() => undefined);
      return next;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      ops.free(paramsFlat);
    },
  };
}

/** The CPU reference scorer. */
export function createCpuLogitsScorer(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor> | Float32Array, options: ScorerOptions = {}): LogitsScorer {
  return createLogitsScorer(new CpuOps(), config, weights, options);
}
