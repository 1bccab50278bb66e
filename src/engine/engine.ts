// The Engine (api.ts) over any Ops backend: batching and padding, buffer lifetimes, the logprob objective's
// forward/backward, gradient clipping and AdamW. The model math itself is in model.ts, the sampling loop
// with its KV cache in decode.ts; this file decides what goes where.

import type { AdamWConfig, Engine, ModelConfig, OptimizerState, SampleOptions, SampleResult, TrainSequence } from './api.ts';
import type { AttentionDims, Ops, View } from './ops.ts';
import { parseConfig } from './config.ts';
import { EngineStateError, ModelTooLargeError, ShapeError, TokenRangeError, WeightsMismatchError } from './errors.ts';
import {
  decayRanges, gradScratchLayout, headActLayout, intLayout, layerActLayout, logitChunkRows, packWeights, paramLayout, unpackWeights,
  type BatchShape, type Layout, type NamedTensor,
} from './layout.ts';
import {
  carveActs, carveGradScratch, carveParams, carver, modelBackward, modelForward,
  type Acts, type Gather, type GradScratch, type IntInputs, type ModelParams,
} from './model.ts';
import { checkFits, estimateModelBytes, estimateSamplingBytes, estimateTrainingBytes, type MemoryLimits } from './memory.ts';
import { checkSampleOptions } from './sampling.ts';
import { decodeSample } from './decode.ts';
import { serialQueue } from './serial.ts';
import { packByPrompt, packingSaves } from './pack.ts';
import { carveLora, checkedAdapter, estimateLoraTrainingBytes, initLora, loraLayout, mergeLora, type LoraConfig } from './lora.ts';
import type { LoraTarget } from './lora-targets.ts';
import type { LoraPair } from './model.ts';
import { defaultFrozenWeights, storeBase, type FrozenWeights } from './frozen.ts';

export interface EngineOptions {
  /** checked before every allocation; defaults to no limit */
  limits?: MemoryLimits;
  /** training computes logits this many rows at a time (default: logitChunkRows, ~32 MiB of logits) */
  logitRows?: number;
  /**
   * Train a LoRA adapter on a frozen base (lora.ts) instead of every weight: grads, Adam moments and the
   * optimizer step then cover the adapter only. adapter: its flat weights (loraLayout order); default fresh.
   */
  lora?: { config: LoraConfig; adapter?: Float32Array; seed?: number };
  /** decode steps recorded per submission and readback (default decode.ts STEPS_PER_SUBMIT) */
  decodeStepsPerSubmit?: number;
  /**
   * Training rows that share a prompt are packed into one row (pack.ts): the prompt is computed once, not G
   * times. CPU only (its attention reads the packed rows' segment ids); default on there.
   */
  packPrompts?: boolean;
  /**
   * How the frozen base of a LoRA engine is stored (frozen.ts): 'f16' halves the projections' bytes (f32
   * arithmetic, f32 adapters); default f16 when the weights came in 16 bits (config torch_dtype float16 /
   * bfloat16), else f32. Full fine-tuning needs 'f32' (it updates the weights): 'f16' there is a ShapeError.
   */
  frozenWeights?: FrozenWeights;
}

/** Engine plus what tools (save, tests, benchmarks) need beyond the RL-facing interface. */
export interface ModelEngine extends Engine {
  readonly layout: Layout;
  /** how the base weights are stored on the device */
  readonly frozenWeights: FrozenWeights;
  /** optimizer steps taken */
  readonly steps: number;
  /** the flat params buffer (paramLayout order), copied out */
  readParams(): Promise<Float32Array>;
  /** the flat grads buffer, copied out (the adapter's with LoRA) */
  readGrads(): Promise<Float32Array>;
  /** the LoRA adapter (loraLayout order), copied out; null without LoRA */
  readAdapter(): Promise<Float32Array | null>;
}

interface TrainState<F, I> {
  grads: View<F>; m: View<F>; v: View<F>; norm: View<F>;
  /** (ranges, 2) where AdamW decays (layout.ts decayRanges) */
  decay: View<I>; ranges: number;
  /** the base's gradient views, null for a frozen base; the adapter's with LoRA */
  G: ModelParams<F> | null; GL: Partial<Record<LoraTarget, LoraPair<F>>>[] | null;
}
interface ForwardState<F, I> {
  shape: BatchShape; gather: Gather[]; lengths: number[];
  /** every buffer this forward allocated, freed together */
  bufs: (View<F> | View<I>)[];
  A: Acts<F>; S: GradScratch<F>; ints: IntInputs<I>; consumed: boolean;
}

/**
 * Lets queued tasks (a worker's pause/stop message) run. A CPU decode step awaits only microtasks, so
 * without this a message could not arrive before the whole sample finished. setImmediate where it exists
 * (Node), else a MessageChannel hop: setTimeout(0) is clamped to 4 ms once nested.
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') return new Promise((resolve) => void immediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DOMException('sampling aborted', 'AbortError');
}

function checkTokens(config: ModelConfig, tokens: readonly number[], what: string): void {
  if (!Array.isArray(tokens) || tokens.length === 0) throw new ShapeError(`${what}: needs at least one token`);
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= config.vocab_size) {
      throw new TokenRangeError(`${what}: token ${t} is outside [0, ${config.vocab_size})`);
    }
  }
}

/**
 * An engine for `config` on `ops`. weights: named HF tensors or the flat params buffer (paramLayout order);
 * the caller provides them (initWeights for random ones).
 */
export function createEngine<F, I>(
  ops: Ops<F, I>, configIn: ModelConfig, weights: ReadonlyMap<string, NamedTensor> | Float32Array, options: EngineOptions = {},
): ModelEngine {
  const config = parseConfig(configIn);
  const layout = paramLayout(config);
  const limits = options.limits ?? {};
  const flat = weights instanceof Float32Array ? weights : packWeights(config, weights, layout);
  if (flat.length !== layout.size) throw new ShapeError(`flat weights have ${flat.length} values, the config needs ${layout.size}`);
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) throw new ShapeError(`weights contain a non-finite value at flat index ${i}`);
  }
  const lora = options.lora?.config;
  const frozen = options.frozenWeights ?? defaultFrozenWeights(config, lora !== undefined);
  if (frozen !== 'f16' && frozen !== 'f32') throw new ShapeError(`frozenWeights must be 'f16' or 'f32', got ${JSON.stringify(frozen)}`);
  if (frozen === 'f16' && !lora) throw new ShapeError("frozenWeights 'f16' needs a LoRA engine: full fine-tuning updates every weight, so none is frozen");
  checkFits('model weights', estimateModelBytes(config, frozen), limits);
  const L = config.num_hidden_layers;
  // the activation tables hold what this backend's attention keeps (no (B,H,T,T) for flash kernels)
  const attState = (d: AttentionDims) => ops.attentionStateSize(d);
  const packPrompts = ops.backend === 'cpu' && options.packPrompts !== false;

  let train: TrainState<F, I> | null = null;
  let fwd: ForwardState<F, I> | null = null;
  let steps = 0;
  let disposed = false;

  const alive = () => {
    if (disposed) throw new EngineStateError('engine used after dispose()');
  };
  // grads and Adam's m and v: 12 bytes per trained element (the decay ranges are a few hundred bytes)
  const heldBytes = () => base.bytes + (loraL ? loraL.size * 4 : 0) + (train ? trainLayout.size * 12 : 0);

  // Allocates a group of buffers, freeing the ones already made if a later one fails. An allocation the
  // runtime refuses (RangeError: typed array or GPU buffer too large / out of memory) becomes
  // ModelTooLargeError, like a refusal by the estimate.
  function allocGroup<T extends View<F> | View<I>>(make: (() => T)[]): T[] {
    const made: T[] = [];
    try {
      for (const m of make) made.push(m());
      return made;
    } catch (e) {
      for (const v of made) ops.free(v);
      if (e instanceof RangeError && !(e instanceof TokenRangeError)) {
        throw new ModelTooLargeError(`allocating engine buffers failed: ${e.message}`, NaN, NaN);
      }
      throw e;
    }
  }

  const base = storeBase(ops, config, flat, layout, frozen, allocGroup);
  const { P } = base;
  // LoRA: the adapter is what trains; forward and sampling run base + adapter (model.ts linear)
  const loraL = lora ? loraLayout(config, lora) : null;
  const rank = lora?.rank ?? 0;
  let adapterFlat: View<F> | null = null;
  if (lora && loraL) {
    const adapter = checkedAdapter(config, lora, options.lora!.adapter ?? initLora(config, lora, options.lora!.seed ?? 0));
    try {
      [adapterFlat] = allocGroup([() => ops.allocF32(loraL.size, 'lora.adapter')]);
    } catch (e) {
      base.free();
      throw e;
    }
    ops.writeF32(adapterFlat, adapter);
    carveLora(ops, config, adapterFlat, loraL).forEach((pairs, l) => (P.layers[l].lora = pairs));
  }
  const trainLayout = loraL ?? layout;

  function ensureTrain(): TrainState<F, I> {
    if (train) return train;
    const size = trainLayout.size;
    const ranges = decayRanges(trainLayout);
    const [grads, m, v, norm] = allocGroup([
      () => ops.allocF32(size, 'grads'), () => ops.allocF32(size, 'adam.m'), () => ops.allocF32(size, 'adam.v'),
      () => ops.allocF32(1, 'gradNorm'),
    ]);
    let decay: View<I>;
    try {
      [decay] = allocGroup([() => ops.allocI32(Math.max(1, ranges.length), 'decayRanges')]);
    } catch (e) {
      for (const x of [grads, m, v, norm]) ops.free(x);
      throw e;
    }
    ops.writeI32(decay, ranges);
    const common = { grads, m, v, norm, decay, ranges: ranges.length / 2 };
    train = loraL
      ? { ...common, G: null, GL: carveLora(ops, config, grads, loraL) }
      : { ...common, G: carveParams(ops, config, grads, layout), GL: null };
    return train;
  }

  function releaseForward(): void {
    if (!fwd) return;
    for (const v of fwd.bufs) ops.free(v);
    fwd = null;
  }

  // Calls run one at a time in call order (they share activation buffers); a failed call does not block
  // the ones queued behind it.
  const queue = serialQueue();
  function exclusive<T>(run: () => Promise<T>): Promise<T> {
    return queue(async () => {
      alive();
      try {
        const result = await run();
        await ops.checkFaults?.();
        return result;
      } catch (e) {
        // a device fault explains (and replaces) whatever error it caused on the way
        await ops.checkFaults?.();
        throw e;
      }
    });
  }

  async function forwardLogprobs(batch: TrainSequence[]): Promise<number[][]> {
    if (!Array.isArray(batch) || batch.length === 0) throw new ShapeError('forwardLogprobs: empty batch');
    const lengths: number[] = [];
    for (const [b, seq] of batch.entries()) {
      if (typeof seq !== 'object' || seq === null) throw new ShapeError(`forwardLogprobs row ${b}: not a {tokens, completionStart} object`);
      checkTokens(config, seq.tokens, `forwardLogprobs row ${b}`);
      const n = seq.tokens.length;
      if (!Number.isInteger(seq.completionStart) || seq.completionStart < 1 || seq.completionStart > n) {
        throw new ShapeError(`forwardLogprobs row ${b}: completionStart ${seq.completionStart} must be in [1, ${n}]`);
      }
      if (n > config.max_position_embeddings) {
        throw new ShapeError(`forwardLogprobs row ${b}: ${n} tokens exceed max_position_embeddings ${config.max_position_embeddings}`);
      }
      lengths.push(n);
    }
    const packed = packPrompts ? packByPrompt(batch) : null;
    const rows = packed && packingSaves(batch, packed) ? packed.rows : null;
    const B = rows ? rows.length : batch.length, T = rows ? Math.max(...rows.map((r) => r.tokens.length)) : Math.max(...lengths);
    const gather: Gather[] = rows
      ? packed!.runs.map((g) => ({ row: g.row * T + g.start, count: g.count }))
      : batch.map((s, b) => ({ row: b * T + s.completionStart - 1, count: s.tokens.length - s.completionStart }));
    const Ns = gather.reduce((a, g) => a + g.count, 0);
    const Rc = Math.max(1, Math.min(Ns, options.logitRows ?? logitChunkRows(config, Ns)));
    const shape = { B, T, Ns, Rc };
    // the estimate counts the training buffers whether or not they exist yet; the params are held already
    const estimate = lora ? estimateLoraTrainingBytes(config, lora, B, T, Ns, Rc, attState) : estimateTrainingBytes(config, B, T, Ns, Rc, attState);
    checkFits('training step', estimate, limits, base.bytes);
    ensureTrain();
    const lL = layerActLayout(config, shape, rank, attState), hL = headActLayout(config, shape);
    const sL = gradScratchLayout(config, shape, rank), iL = intLayout(shape);
    // The last forward's buffers are reused when they are big enough (every activation is written before it
    // is read, so stale contents do not matter): a training loop then allocates once, not every micro-batch.
    const need = [...Array<number>(L).fill(lL.size), hL.size, sL.size];
    const prev = fwd?.bufs;
    const fits = prev !== undefined && need.every((n, i) => prev[i].length >= n) && prev[L + 2].length >= iL.size;
    let fBufs: View<F>[], intsFlat: View<I>;
    if (fits) {
      fBufs = prev.slice(0, L + 2) as View<F>[];
      intsFlat = prev[L + 2] as View<I>;
      fwd = null;
    } else {
      releaseForward();
      fBufs = allocGroup<View<F>>([
        ...Array.from({ length: L }, (_, l) => () => ops.allocF32(lL.size, `activations.${l}`)),
        () => ops.allocF32(hL.size, 'activations.head'), () => ops.allocF32(sL.size, 'gradScratch'),
      ]);
      try {
        [intsFlat] = allocGroup([() => ops.allocI32(iL.size, 'ints')]);
      } catch (e) {
        for (const v of fBufs) ops.free(v);
        throw e;
      }
    }
    const A = carveActs(ops, fBufs.slice(0, L), lL, fBufs[L], hL, L);
    const S = carveGradScratch(ops, fBufs[L + 1], sL);
    const getI = carver(ops, intsFlat, iL);
    const ints: IntInputs<I> = { tokens: getI('tokens'), positions: getI('positions'), targets: getI('targets') };
    fwd = { shape, gather, lengths, bufs: [...fBufs, intsFlat], A, S, ints, consumed: false };

    const tokens = new Int32Array(B * T), positions = new Int32Array(B * T), targets = new Int32Array(Ns);
    const mask = new Float32Array(B * T);
    let at = 0;
    if (rows) {
      rows.forEach((r, b) => {
        tokens.set(r.tokens, b * T);
        positions.set(r.positions, b * T);
        mask.set(r.segments, b * T);
      });
    }
    batch.forEach((s, b) => {
      if (!rows) {
        for (let t = 0; t < s.tokens.length; t++) {
          tokens[b * T + t] = s.tokens[t];
          positions[b * T + t] = t;
          mask[b * T + t] = 1;
        }
      }
      for (let t = s.completionStart; t < s.tokens.length; t++) targets[at++] = s.tokens[t];
    });
    ops.writeI32(ints.tokens, tokens);
    ops.writeI32(ints.positions, positions);
    if (Ns > 0) ops.writeI32(ints.targets, targets);
    ops.writeF32(A.mask, mask);
    modelForward(ops, config, P, A, ints, shape, gather, { logprobs: true });
    ops.flush();
    const lp = Ns > 0 ? await ops.readF32(A.logprobs) : new Float32Array(0);
    at = 0;
    return gather.map((g) => {
      const row = Array.from(lp.subarray(at, at + g.count));
      at += g.count;
      return row;
    });
  }

  async function backwardLogprobs(dLogprobs: number[][]): Promise<void> {
    if (!fwd || fwd.consumed) throw new EngineStateError('backwardLogprobs needs a forwardLogprobs first (one backward per forward)');
    const f = fwd;
    if (!Array.isArray(dLogprobs) || dLogprobs.length !== f.gather.length) {
      throw new ShapeError(`backwardLogprobs: ${dLogprobs?.length} rows, the last forward had ${f.gather.length}`);
    }
    const d = new Float32Array(f.shape.Ns);
    let at = 0;
    for (const [b, g] of f.gather.entries()) {
      const row = dLogprobs[b];
      if (!Array.isArray(row) || row.length !== g.count) {
        throw new ShapeError(`backwardLogprobs row ${b}: ${row?.length} values, the forward scored ${g.count} tokens`);
      }
      for (const x of row) {
        if (!Number.isFinite(x)) throw new ShapeError(`backwardLogprobs row ${b}: non-finite weight ${x}`);
        d[at++] = x;
      }
    }
    const t = ensureTrain();
    if (f.shape.Ns > 0) ops.writeF32(f.S.dLogprobs, d);
    modelBackward(ops, config, P, t.G, f.A, f.S, f.ints, f.shape, f.gather, t.GL);
    ops.flush();
    f.consumed = true;
  }

  async function optimizerStep(c: AdamWConfig): Promise<{ gradNorm: number }> {
    if (typeof c !== 'object' || c === null) throw new ShapeError('optimizerStep: needs an AdamW config object');
    for (const k of ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'maxGradNorm'] as const) {
      if (!(k in c)) throw new ShapeError(`optimizerStep: ${k} is missing`);
    }
    for (const [k, v] of Object.entries(c)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ShapeError(`optimizerStep: ${k} must be a finite number >= 0, got ${v}`);
    }
    if (c.beta1 >= 1 || c.beta2 >= 1) throw new ShapeError('optimizerStep: beta1 and beta2 must be < 1');
    const t = ensureTrain();
    ops.sumSquares(t.norm, t.grads, trainLayout.size);
    const gradNorm = Math.sqrt((await ops.readF32(t.norm))[0]);
    // A non-finite gradient would poison every weight through Adam's moments: skip the update instead.
    if (!Number.isFinite(gradNorm)) return { gradNorm };
    const gradScale = c.maxGradNorm > 0 && gradNorm > c.maxGradNorm ? c.maxGradNorm / gradNorm : 1;
    steps++;
    ops.adamw(adapterFlat ?? base.flat!, t.grads, t.m, t.v, t.decay, trainLayout.size, t.ranges, {
      lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, step: steps, gradScale,
    });
    ops.flush();
    return { gradNorm };
  }

  async function exportOptimizerState(): Promise<OptimizerState> {
    // before any training call the moments are zero by definition: no need to allocate the training buffers
    if (!train) return { m: new Float32Array(trainLayout.size), v: new Float32Array(trainLayout.size), steps };
    return { m: await ops.readF32(train.m), v: await ops.readF32(train.v), steps };
  }

  async function importOptimizerState(state: OptimizerState): Promise<void> {
    // every check before the first write: a refused state leaves the engine as it was
    if (typeof state !== 'object' || state === null) throw new WeightsMismatchError('optimizer state: expected {m, v, steps}');
    const { m, v, steps: s } = state;
    for (const [name, x] of [['m', m], ['v', v]] as const) {
      if (!(x instanceof Float32Array)) throw new WeightsMismatchError(`optimizer state: ${name} must be a Float32Array`);
      if (x.length !== trainLayout.size) {
        throw new WeightsMismatchError(`optimizer state: ${name} has ${x.length} values, this model has ${trainLayout.size} parameters${loraL ? ' (LoRA adapter)' : ''}`);
      }
    }
    if (!Number.isInteger(s) || s < 0) throw new WeightsMismatchError(`optimizer state: steps must be an integer >= 0, got ${s}`);
    for (let i = 0; i < v.length; i++) {
      // v is a running mean of squares: a negative or non-finite entry would turn the update into NaN
      if (!Number.isFinite(m[i]) || !Number.isFinite(v[i]) || v[i] < 0) {
        throw new WeightsMismatchError(`optimizer state: bad moment at flat index ${i} (m ${m[i]}, v ${v[i]})`);
      }
    }
    const t = ensureTrain();
    ops.writeF32(t.m, m);
    ops.writeF32(t.v, v);
    ops.flush();
    steps = s;
  }

  async function sample(prompts: number[][], o: SampleOptions): Promise<SampleResult> {
    checkSampleOptions(o);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new ShapeError('sample options: signal must be an AbortSignal');
    throwIfAborted(o.signal);
    if (!Array.isArray(prompts) || prompts.length === 0) throw new ShapeError('sample: no prompts');
    prompts.forEach((p, b) => checkTokens(config, p, `sample prompt ${b}`));
    const B = prompts.length, Tp = Math.max(...prompts.map((p) => p.length));
    if (Tp + o.maxNewTokens > config.max_position_embeddings) {
      throw new ShapeError(`sample: ${Tp} prompt tokens + ${o.maxNewTokens} new exceed max_position_embeddings ${config.max_position_embeddings}`);
    }
    const result: SampleResult = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finish: prompts.map(() => 'length') };
    if (o.maxNewTokens === 0) return result;
    checkFits('sampling', estimateSamplingBytes(config, B, Tp, o.maxNewTokens, attState), limits, heldBytes());
    return decodeSample({
      ops, config, P, allocGroup,
      stepsPerSubmit: options.decodeStepsPerSubmit,
      loraRank: rank,
      async checkpoint() {
        if (!o.signal) return;
        await yieldToEventLoop();
        throwIfAborted(o.signal);
      },
    }, prompts, o);
  }

  return {
    backend: ops.backend,
    config,
    layout,
    frozenWeights: frozen,
    get steps() {
      return steps;
    },
    sample: (prompts, o) => exclusive(() => sample(prompts, o)),
    forwardLogprobs: (batch) => exclusive(() => forwardLogprobs(batch)),
    backwardLogprobs: (d) => exclusive(() => backwardLogprobs(d)),
    optimizerStep: (c) => exclusive(() => optimizerStep(c)),
    // synchronous, as the interface has it: await the backward calls before zeroing
    zeroGrads() {
      alive();
      ops.zero(ensureTrain().grads);
    },
    readParams: () => exclusive(() => base.read()),
    readGrads: () => exclusive(() => ops.readF32(ensureTrain().grads)),
    exportOptimizerState: () => exclusive(exportOptimizerState),
    importOptimizerState: (state) => exclusive(() => importOptimizerState(state)),
    readAdapter: () => exclusive(async () => (adapterFlat ? ops.readF32(adapterFlat) : null)),
    // with LoRA, the merged model (base + B A): what a saved or exported folder holds
    exportWeights: () => exclusive(async () => {
      const flatBase = await base.read();
      return unpackWeights(config, lora && adapterFlat ? mergeLora(config, lora, flatBase, await ops.readF32(adapterFlat)) : flatBase, layout);
    }),
    dispose() {
      if (disposed) return;
      disposed = true;
      releaseForward();
      if (train) {
        for (const v of [train.grads, train.m, train.v, train.norm]) ops.free(v);
        ops.free(train.decay);
      }
      base.free();
      if (adapterFlat) ops.free(adapterFlat);
    },
  };
}
