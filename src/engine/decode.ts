// The sampling loop: prefill the prompts once (identical prompts once in all), then decode with a KV cache,
// several steps per submission. Token choice is an op (sampleTokens: on the GPU for WebGPU), and it writes
// each chosen token straight into the next step's input, so a submission of STEPS_PER_SUBMIT decode steps
// needs one readback of (token, logprob) per row and step, not of the logits. Everything a step needs but
// the token (positions, cache slots, cache masks, the rows' uniform draws) is known in advance and written
// once per submission, into one region per step.
//
// The draws come from the CPU generators of sampling.ts (one stream per row, one draw per step), so both
// backends see the same numbers. A row the GPU leaves to the CPU (TOKEN_CHOOSE_ON_CPU: its top-k / top-p
// candidates overflowed workgroup memory) cuts the submission there: that step is recomputed, its logits
// read back, and chooseToken decides with the same draw; later steps of the submission are recomputed in
// the next one (their KV cache slots are rewritten before anything attends to them).

import type { ModelConfig, SampleOptions, SampleResult } from './api.ts';
import { TOKEN_CHOOSE_ON_CPU, TOKEN_NON_FINITE, type AttentionDims, type Ops, type View } from './ops.ts';
import { headDim } from './config.ts';
import { EngineStateError } from './errors.ts';
import { headActLayout, intLayout, kvLayerLayout, layerActLayout, type Layout } from './layout.ts';
import { carveActs, carver, modelDecodeStep, modelForward, type IntInputs, type RunParams } from './model.ts';
import { chooseToken, createRng, streamSeed } from './sampling.ts';

/** Decode steps recorded per submission (and per readback). */
export const STEPS_PER_SUBMIT = 8;

export interface DecodeContext<F, I> {
  ops: Ops<F, I>;
  config: ModelConfig;
  P: RunParams<F, I>;
  /** allocates a group of buffers (all or none), mapping refusals to ModelTooLargeError */
  allocGroup<T extends View<F> | View<I>>(make: (() => T)[]): T[];
  /** between submissions: lets queued messages run and throws AbortError when the caller aborted */
  checkpoint(): Promise<void>;
  /** steps per submission; default STEPS_PER_SUBMIT */
  stepsPerSubmit?: number;
  /** LoRA rank of P's adapters (0 without): the layer activations hold the adapter's intermediate rows */
  loraRank?: number;
}

/** Samples o.maxNewTokens (>= 1) tokens after each prompt; prompts and options are checked by the caller. */
export async function decodeSample<F, I>(ctx: DecodeContext<F, I>, prompts: number[][], o: SampleOptions): Promise<SampleResult> {
  const { ops, config, P } = ctx;
  const V = config.vocab_size, L = config.num_hidden_layers;
  const KD = config.num_key_value_heads * headDim(config);
  const B = prompts.length, lens = prompts.map((p) => p.length), Tp = Math.max(...lens);
  const S = Tp + o.maxNewTokens;
  const K = Math.max(1, Math.min(ctx.stepsPerSubmit ?? STEPS_PER_SUBMIT, o.maxNewTokens - 1 || 1));
  const result: SampleResult = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finish: prompts.map(() => 'length') };

  // Identical prompts (GRPO samples G completions of each question) are prefilled once and their KV rows
  // copied to every replica.
  const uniqueIndex = new Map<string, number>();
  const unique: number[][] = [];
  const source = prompts.map((p) => {
    const key = p.join(',');
    let u = uniqueIndex.get(key);
    if (u === undefined) {
      u = unique.length;
      uniqueIndex.set(key, u);
      unique.push(p);
    }
    return u;
  });
  const Bu = unique.length;
  const preShape = { B: Bu, T: Tp, Ns: Bu }, decShape = { B, T: 1, Ns: B };
  const rank = ctx.loraRank ?? 0;
  const attState = (d: AttentionDims) => ops.attentionStateSize(d);
  const preL = layerActLayout(config, preShape, rank, attState), preH = headActLayout(config, preShape);
  const decL = layerActLayout(config, decShape, rank, attState), decH = headActLayout(config, decShape);
  const kvL = kvLayerLayout(config, B, S);
  const preIL = intLayout(preShape), decIL = intLayout(decShape);
  // per step: the decode ints (tokens | positions | targets) then the cache slots (B); one spare token row
  // at the end takes the last step's "next" tokens
  const stepInts = decIL.size + B;
  const fBufs = ctx.allocGroup<View<F>>([
    () => ops.allocF32(preL.size, 'prefill.layer'), () => ops.allocF32(preH.size, 'prefill.head'),
    () => ops.allocF32(decL.size, 'decode.layer'), () => ops.allocF32(decH.size, 'decode.head'),
    () => ops.allocF32(K * B * S, 'kvCache.masks'), () => ops.allocF32(K * 2 * B, 'decode.choices'),
    ...Array.from({ length: L }, (_, l) => () => ops.allocF32(kvL.size, `kvCache.${l}`)),
  ]);
  const toFree: (View<F> | View<I>)[] = [...fBufs];
  try {
    const [preFlat, preHead, decFlat, decHead, masks, choices] = fBufs;
    const iBufs = ctx.allocGroup<View<I>>([
      () => ops.allocI32(preIL.size, 'prefillInts'), () => ops.allocI32(K * stepInts + B, 'decodeInts'), () => ops.allocI32(K * B, 'decode.draws'),
    ]);
    toFree.push(...iBufs);
    const [preIntsFlat, decIntsFlat, drawsBuf] = iBufs;
    const intsOf = (flatI: View<I>, l: Layout): IntInputs<I> => {
      const g = carver(ops, flatI, l);
      return { tokens: g('tokens'), positions: g('positions'), targets: g('targets') };
    };
    const preInts = intsOf(preIntsFlat, preIL);
    const steps = Array.from({ length: K }, (_, j) => ({
      ints: intsOf(ops.view(decIntsFlat, j * stepInts, decIL.size), decIL),
      slots: ops.view(decIntsFlat, j * stepInts + decIL.size, B),
      mask: ops.view(masks, j * B * S, B * S),
      draws: ops.view(drawsBuf, j * B, B),
      choice: ops.view(choices, j * 2 * B, 2 * B),
    }));
    const offsetOf = (name: string) => decIL.byName.get(name)!.offset;
    const tokAt = offsetOf('tokens'), posAt = offsetOf('positions');
    const nextOf = (j: number): View<I> => (j + 1 < K ? steps[j + 1].ints.tokens : ops.view(decIntsFlat, K * stepInts, B));
    const kv = fBufs.slice(6).map((flat) => {
      const get = carver(ops, flat, kvL);
      return { k: get('k'), v: get('v') };
    });
    const decA = carveActs(ops, [decFlat], decL, decHead, decH, L);

    // Prefill, left-padded so every row's last prompt token sits at Tp-1; positions restart at 0 per row.
    const preA = carveActs(ops, [preFlat], preL, preHead, preH, L);
    const tokens = new Int32Array(Bu * Tp), positions = new Int32Array(Bu * Tp), mask = new Float32Array(Bu * Tp);
    unique.forEach((p, u) => {
      const pad = Tp - p.length;
      for (let t = 0; t < p.length; t++) {
        tokens[u * Tp + pad + t] = p[t];
        positions[u * Tp + pad + t] = t;
        mask[u * Tp + pad + t] = 1;
      }
    });
    ops.writeI32(preInts.tokens, tokens);
    ops.writeI32(preInts.positions, positions);
    ops.writeF32(preA.mask, mask);
    const gather = unique.map((_, u) => ({ row: u * Tp + Tp - 1, count: 1 }));
    modelForward(ops, config, P, preA, preInts, preShape, gather, {
      logprobs: false,
      onKV: (l, k, v) => {
        for (let b = 0; b < B; b++) {
          const u = source[b];
          ops.copy(ops.view(kv[l].k, b * S * KD, Tp * KD), ops.view(k, u * Tp * KD, Tp * KD));
          ops.copy(ops.view(kv[l].v, b * S * KD, Tp * KD), ops.view(v, u * Tp * KD, Tp * KD));
        }
      },
    });
    // every row's first logits, from its unique prompt's row, into the decode logits (B,V)
    for (let b = 0; b < B; b++) ops.copy(ops.view(decA.logits, b * V, V), ops.view(preA.logits, source[b] * V, V));

    const rngs = prompts.map((_, b) => createRng(streamSeed(o.seed, b)));
    const stop = new Set(o.stopTokens);
    const done = prompts.map(() => false);
    const cm = new Float32Array(B * S);
    prompts.forEach((p, b) => cm.fill(1, b * S + Tp - p.length, b * S + Tp));
    const last = new Int32Array(B);
    const drawRow = (d: Int32Array, at: number) => {
      for (let b = 0; b < B; b++) d[at + b] = Math.round(rngs[b]() * 4294967296) | 0;
    };
    const sampler = { temperature: o.temperature, topK: o.topK, topP: o.topP };
    const accept = (token: number, logprob: number, b: number) => {
      result.tokens[b].push(token);
      result.logprobs[b].push(logprob);
      last[b] = token;
      if (stop.has(token)) {
        done[b] = true;
        result.finish[b] = 'stop';
      }
    };
    // A row the GPU left to the CPU: choose from `logits` (B,V read back) with the row's draw of that step.
    const onCpu = (logits: Float32Array, b: number, bits: number) => chooseToken(logits, b * V, V, sampler, () => (bits >>> 0) / 4294967296);

    // step 0: the first token from the prefill's logits
    const d0 = new Int32Array(B);
    drawRow(d0, 0);
    ops.writeI32(steps[0].draws, d0);
    ops.sampleTokens(steps[0].choice, nextOf(0), decA.logits, steps[0].draws, B, V, sampler);
    ops.flush();
    const c0 = await ops.readF32(steps[0].choice);
    let firstLogits: Float32Array | null = null;
    for (let b = 0; b < B; b++) {
      let token = c0[2 * b], logprob = c0[2 * b + 1];
      if (token === TOKEN_NON_FINITE) throw nonFinite();
      if (token === TOKEN_CHOOSE_ON_CPU) {
        firstLogits ??= await ops.readF32(decA.logits);
        ({ token, logprob } = onCpu(firstLogits, b, d0[b]));
      }
      accept(token, logprob, b);
    }

    let step = 1; // the next token to choose
    // steps per submission now: back to 1 after a row needed the CPU (its logits are then still at hand,
    // nothing to recompute), doubling again after each submission without one
    let width = K;
    while (step < o.maxNewTokens && !done.every(Boolean)) {
      await ctx.checkpoint();
      const k = Math.min(width, o.maxNewTokens - step);
      // decode j of this submission feeds the token of step + j - 1 at slot Tp + step + j - 1
      const ints = new Int32Array(k * stepInts);
      const maskData = new Float32Array(k * B * S);
      const draws = new Int32Array(k * B);
      for (let j = 0; j < k; j++) {
        const base = j * stepInts, slot = Tp + step + j - 1;
        for (let b = 0; b < B; b++) {
          if (j === 0) ints[base + tokAt + b] = last[b];
          ints[base + posAt + b] = lens[b] + step + j - 1;
          ints[base + decIL.size + b] = slot;
          cm[b * S + slot] = 1;
        }
        maskData.set(cm, j * B * S);
        drawRow(draws, j * B);
      }
      ops.writeI32(ops.view(decIntsFlat, 0, k * stepInts), ints);
      ops.writeF32(ops.view(masks, 0, k * B * S), maskData);
      ops.writeI32(ops.view(drawsBuf, 0, k * B), draws);
      for (let j = 0; j < k; j++) {
        const s = steps[j];
        modelDecodeStep(ops, config, P, decA, s.ints, B, { kv, cacheMask: s.mask, S, slots: s.slots });
        ops.sampleTokens(s.choice, nextOf(j), decA.logits, s.draws, B, V, sampler);
      }
      ops.flush();
      const got = await ops.readF32(ops.view(choices, 0, k * 2 * B));
      let taken = 0;
      for (let j = 0; j < k && !done.every(Boolean); j++) {
        const row = (b: number) => [got[j * 2 * B + 2 * b], got[j * 2 * B + 2 * b + 1]] as const;
        let cpuLogits: Float32Array | null = null;
        if (prompts.some((_, b) => !done[b] && row(b)[0] === TOKEN_CHOOSE_ON_CPU)) {
          // the last step's logits are still in place; an earlier one is recomputed (its inputs are intact:
          // the tokens of step j - 1 and the step's own views). The rest of the submission is redone next.
          if (j < k - 1) {
            modelDecodeStep(ops, config, P, decA, steps[j].ints, B, { kv, cacheMask: steps[j].mask, S, slots: steps[j].slots });
            ops.flush();
          }
          cpuLogits = await ops.readF32(decA.logits);
        }
        for (let b = 0; b < B; b++) {
          if (done[b]) continue;
          let [token, logprob] = row(b);
          if (token === TOKEN_NON_FINITE) throw nonFinite();
          if (token === TOKEN_CHOOSE_ON_CPU && cpuLogits) ({ token, logprob } = onCpu(cpuLogits, b, draws[j * B + b]));
          accept(token, logprob, b);
        }
        taken = j + 1;
        if (cpuLogits) break;
      }
      const cut = taken < k || lastNeededCpu(got, k, B, done);
      step += taken;
      if (taken < k) {
        rewindDraws(rngs, B, o.seed, step);
        // the unused steps' cache slots must not stay attendable: the next submission starts at slot Tp + step - 1
        for (let b = 0; b < B; b++) cm.fill(0, b * S + Tp + step - 1, (b + 1) * S);
      }
      width = cut ? 1 : Math.min(K, width * 2);
    }
    return result;
  } finally {
    for (const v of toFree) ops.free(v);
  }
}

/** whether the submission's last step left a running row to the CPU */
function lastNeededCpu(got: Float32Array, k: number, B: number, done: boolean[]): boolean {
  for (let b = 0; b < B; b++) if (!done[b] && got[(k - 1) * 2 * B + 2 * b] === TOKEN_CHOOSE_ON_CPU) return true;
  return false;
}

function nonFinite(): EngineStateError {
  return new EngineStateError('the model produced non-finite logits (diverged weights?); reload or roll back the model');
}

/**
 * After a submission is cut short, the draws of its unused steps must be drawn again by the next one: the
 * row streams restart at `step` (a stream's n-th draw belongs to step n). Rebuilding a stream and skipping
 * ahead costs one call per step, negligible next to a decode step.
 */
function rewindDraws(rngs: (() => number)[], B: number, seed: number, step: number): void {
  for (let b = 0; b < B; b++) {
    const rng = createRng(streamSeed(seed, b));
    for (let n = 0; n < step; n++) rng();
    rngs[b] = rng;
  }
}
