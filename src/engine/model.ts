// The decoder, written once against Ops so the CPU reference and WebGPU run the same code: embedding,
// per layer (RMSNorm, q/k/v projections with optional bias, Qwen3's per-head q/k RMSNorm, RoPE, causal GQA
// attention, o projection,
// residual, RMSNorm, SwiGLU MLP, residual), final RMSNorm, LM head, token logprobs. Backward is forward
// reversed and accumulates into the grads buffer (same layout as params).

import type { ModelConfig } from './api.ts';
import type { AttentionDims, Ops, View } from './ops.ts';
import { headDim } from './config.ts';
import { layerPrefix, type BatchShape, type Layout } from './layout.ts';
import { LORA_TARGETS, type LoraTarget } from './lora-targets.ts';

/** a LoRA adapter on one projection: W x + B (A x), A (r, in), B (out, r) */
export interface LoraPair<F> {
  a: View<F>;
  b: View<F>;
}

/** a frozen projection weight (out, in) stored as f16: (out, in/2) words of packed halves (half.ts) */
export interface HalfWeight<I> {
  half: View<I>;
}
/** a projection weight as the forward reads it: f32, or (frozen, LoRA) f16 halves */
export type Weight<F, I> = View<F> | HalfWeight<I>;

/** W: how the seven projections are stored (f32 views for grads and full training; Weight with frozen f16) */
export interface LayerParams<F, W = View<F>> {
  ln1: View<F>; q: W; qb?: View<F>; k: W; kb?: View<F>; v: W; vb?: View<F>; o: W;
  qn?: View<F>; kn?: View<F>; // (D) Qwen3 q_norm / k_norm gains
  lora?: Partial<Record<LoraTarget, LoraPair<F>>>;
  ln2: View<F>; gate: W; up: W; down: W;
}
export interface ModelParams<F, W = View<F>> {
  embed: View<F>; // (V,C)
  layers: LayerParams<F, W>[];
  norm: View<F>; // (C)
  lmHead: View<F>; // (V,C); the embedding itself when tied
}
/** the weights a forward runs on: projections f32 or f16 */
export type RunParams<F, I> = ModelParams<F, Weight<F, I>>;
export interface LayerActs<F> {
  x: View<F>; ln1: View<F>; rstd1: View<F>; q: View<F>; k: View<F>; v: View<F>; att: View<F>; attOut: View<F>;
  r: View<F>; ln2: View<F>; rstd2: View<F>; gate: View<F>; up: View<F>; act: View<F>;
  /** Qwen3: q (N,H*D) and k (N,Hkv*D) before the head norm, and 1/rms per (token, head) */
  qRaw?: View<F>; kRaw?: View<F>; rstdq?: View<F>; rstdk?: View<F>;
  /** LoRA: x Aᵀ (N, r) per adapted projection */
  lora?: Record<LoraTarget, View<F>>;
}
export interface Acts<F> {
  mask: View<F>; layers: LayerActs<F>[]; xFinal: View<F>; lnf: View<F>; rstdf: View<F>; tmp: View<F>;
  h: View<F>; logits: View<F>; logprobs: View<F>; lse: View<F>;
}
export interface GradScratch<F> {
  dx: View<F>; dr: View<F>; dLn: View<F>; dAttOut: View<F>; dq: View<F>; dk: View<F>; dv: View<F>;
  dAct: View<F>; dGate: View<F>; dUp: View<F>; dLogprobs: View<F>; dLogits: View<F>; dh: View<F>;
  dqRaw?: View<F>; dkRaw?: View<F>; // Qwen3
  dLoraT?: View<F>; dNormSink?: View<F>; // LoRA
}
export interface IntInputs<I> {
  tokens: View<I>; // (B,T)
  positions: View<I>; // (B,T)
  targets: View<I>; // (Ns)
}
/** rows of lnf (N,C) copied, in order, into h (Ns,C): one run per sequence */
export interface Gather {
  row: number;
  count: number;
}

/** Sub-views of a flat buffer by table name. */
export function carver<F, I, T extends F | I>(ops: Ops<F, I>, flat: View<T>, layout: Layout): (name: string) => View<T> {
  return (name) => {
    const t = layout.byName.get(name);
    if (!t) throw new Error(`layout has no tensor "${name}"`);
    return ops.view(flat, t.offset, t.length);
  };
}

export function carveParams<F, I>(ops: Ops<F, I>, config: ModelConfig, flat: View<F>, layout: Layout): ModelParams<F> {
  const get = carver(ops, flat, layout);
  const layers: LayerParams<F>[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = layerPrefix(l);
    const a = `${p}self_attn.`;
    layers.push({
      ln1: get(`${p}input_layernorm.weight`),
      q: get(`${a}q_proj.weight`), k: get(`${a}k_proj.weight`), v: get(`${a}v_proj.weight`), o: get(`${a}o_proj.weight`),
      ...(config.attention_bias ? { qb: get(`${a}q_proj.bias`), kb: get(`${a}k_proj.bias`), vb: get(`${a}v_proj.bias`) } : {}),
      ...(config.qk_norm ? { qn: get(`${a}q_norm.weight`), kn: get(`${a}k_norm.weight`) } : {}),
      ln2: get(`${p}post_attention_layernorm.weight`),
      gate: get(`${p}mlp.gate_proj.weight`), up: get(`${p}mlp.up_proj.weight`), down: get(`${p}mlp.down_proj.weight`),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return { embed, layers, norm: get('model.norm.weight'), lmHead: config.tie_word_embeddings ? embed : get('lm_head.weight') };
}

/**
 * Activation views from one buffer per layer (layerLayout) and one head buffer (headLayout). With a single
 * layer buffer (inference), every layer reuses it.
 */
export function carveActs<F, I>(
  ops: Ops<F, I>, layerFlats: View<F>[], layerLayout: Layout, headFlat: View<F>, headLayout: Layout, numLayers: number,
): Acts<F> {
  const sets = layerFlats.map((flat): LayerActs<F> => {
    const get = carver(ops, flat, layerLayout);
    return {
      x: get('x'), ln1: get('ln1'), rstd1: get('rstd1'), q: get('q'), k: get('k'), v: get('v'), att: get('att'),
      attOut: get('attOut'), r: get('r'), ln2: get('ln2'), rstd2: get('rstd2'), gate: get('gate'), up: get('up'), act: get('act'),
      ...(layerLayout.byName.has('qRaw') ? { qRaw: get('qRaw'), kRaw: get('kRaw'), rstdq: get('rstdq'), rstdk: get('rstdk') } : {}),
      ...(layerLayout.byName.has('lora.q_proj')
        ? { lora: Object.fromEntries(LORA_TARGETS.map((t) => [t, get(`lora.${t}`)])) as Record<LoraTarget, View<F>> }
        : {}),
    };
  });
  const all = sets.length === numLayers ? sets : Array.from({ length: numLayers }, () => sets[0]);
  const get = carver(ops, headFlat, headLayout);
  return {
    mask: get('mask'), layers: all, xFinal: get('xFinal'), lnf: get('lnf'), rstdf: get('rstdf'), tmp: get('tmp'),
    h: get('h'), logits: get('logits'), logprobs: get('logprobs'), lse: get('lse'),
  };
}

export function carveGradScratch<F, I>(ops: Ops<F, I>, flat: View<F>, layout: Layout): GradScratch<F> {
  const get = carver(ops, flat, layout);
  const names = ['dx', 'dr', 'dLn', 'dAttOut', 'dq', 'dk', 'dv', 'dAct', 'dGate', 'dUp', 'dLogprobs', 'dLogits', 'dh'] as const;
  const qk = layout.byName.has('dqRaw') ? ['dqRaw', 'dkRaw'] : [];
  const lora = layout.byName.has('dLoraT') ? ['dLoraT', 'dNormSink'] : [];
  return Object.fromEntries([...names, ...qk, ...lora].map((n) => [n, get(n)])) as unknown as GradScratch<F>;
}

export function dimsOf(config: ModelConfig, B: number, T: number): AttentionDims {
  return { B, T, H: config.num_attention_heads, Hkv: config.num_key_value_heads, D: headDim(config) };
}

/** a projection's adapter in a forward: its weights, rank and where x Aᵀ is kept */
export interface Adapter<F> extends LoraPair<F> {
  r: number;
  t: View<F>; // (N, r)
}
/** and in a backward: the adapter's gradients and a (N, r) scratch */
export interface AdapterGrad<F> extends Adapter<F> {
  dA: View<F>;
  dB: View<F>;
  dt: View<F>;
}

function isHalf<F, I>(w: Weight<F, I>): w is HalfWeight<I> {
  return 'half' in w;
}

/** y (N,out) = x (N,in) Wᵀ (+ b) (+ (x Aᵀ) Bᵀ with an adapter); an f16 W is widened to f32 as it is read */
export function linear<F, I>(
  ops: Ops<F, I>, y: View<F>, x: View<F>, w: Weight<F, I>, b: View<F> | undefined, N: number, out: number, inp: number, ad?: Adapter<F>,
): void {
  if (isHalf(w)) ops.matmulHalfWeights(y, x, w.half, N, out, inp);
  else ops.matmul(y, x, w, N, out, inp, { transB: true });
  if (b) ops.addBias(y, b, N, out);
  if (ad) {
    ops.matmul(ad.t, x, ad.a, N, ad.r, inp, { transB: true });
    ops.matmul(y, ad.t, ad.b, N, out, ad.r, { transB: true, accumulate: true });
  }
}

/**
 * dx (N,in) (+)= dy W ; dW (out,in) += dyᵀ x (skipped for a frozen base: dW undefined) ; db += colsum(dy);
 * with an adapter, t = x Aᵀ: dB += dyᵀ t, dt = dy B, dA += dtᵀ x, dx += dt A
 */
function linearBackward<F, I>(
  ops: Ops<F, I>, dx: View<F>, dW: View<F> | undefined, dB: View<F> | undefined,
  dy: View<F>, x: View<F>, w: Weight<F, I>, N: number, out: number, inp: number, accumulateDx: boolean, ad?: AdapterGrad<F>,
): void {
  if (isHalf(w)) {
    // an f16 weight is frozen (engine.ts allows it only under LoRA): it has no gradient to take
    if (dW || dB) throw new Error('linearBackward: an f16 weight is frozen and has no gradient');
    ops.matmulHalfWeightsBackward(dx, dy, w.half, N, out, inp, { accumulate: accumulateDx });
  } else {
    if (dW) ops.matmul(dW, dy, x, out, inp, N, { transA: true, accumulate: true });
    if (dB) ops.biasBackward(dB, dy, N, out);
    ops.matmul(dx, dy, w, N, inp, out, { accumulate: accumulateDx });
  }
  if (ad) {
    ops.matmul(ad.dB, dy, ad.t, out, ad.r, N, { transA: true, accumulate: true });
    ops.matmul(ad.dt, dy, ad.b, N, ad.r, out);
    ops.matmul(ad.dA, ad.dt, x, ad.r, inp, N, { transA: true, accumulate: true });
    ops.matmul(dx, ad.dt, ad.a, N, inp, ad.r, { accumulate: true });
  }
}

/** the adapter of projection `t` in this layer, when the model has adapters */
function adapterOf<F, W>(p: LayerParams<F, W>, a: LayerActs<F>, t: LoraTarget, inp: number): Adapter<F> | undefined {
  const pair = p.lora?.[t];
  if (!pair || !a.lora) return undefined;
  return { ...pair, r: pair.a.length / inp, t: a.lora[t] };
}

/**
 * q, k, v of one layer from its normed input ln (N,C), N = B*T rows: projections (+ bias), then (Qwen3) an
 * RMSNorm over each head's D values, then RoPE on q and k. Results in a.q, a.k, a.v.
 */
export function queryKeyValue<F, I>(
  ops: Ops<F, I>, p: LayerParams<F, Weight<F, I>>, a: LayerActs<F>, positions: View<I>, B: number, T: number, C: number, d: AttentionDims, eps: number, theta: number,
): void {
  const N = B * T, HD = d.H * d.D, KD = d.Hkv * d.D;
  const [aq, ak, av] = (['q_proj', 'k_proj', 'v_proj'] as const).map((t) => adapterOf(p, a, t, C));
  if (p.qn && p.kn) {
    linear(ops, a.qRaw!, a.ln1, p.q, p.qb, N, HD, C, aq);
    linear(ops, a.kRaw!, a.ln1, p.k, p.kb, N, KD, C, ak);
    // (N,H*D) is (N*H, D) row-major: one norm row per (token, head)
    ops.rmsnormForward(a.q, a.rstdq!, a.qRaw!, p.qn, N * d.H, d.D, eps);
    ops.rmsnormForward(a.k, a.rstdk!, a.kRaw!, p.kn, N * d.Hkv, d.D, eps);
  } else {
    linear(ops, a.q, a.ln1, p.q, p.qb, N, HD, C, aq);
    linear(ops, a.k, a.ln1, p.k, p.kb, N, KD, C, ak);
  }
  linear(ops, a.v, a.ln1, p.v, p.vb, N, KD, C, av);
  ops.ropeForward(a.q, positions, B, T, d.H, d.D, theta);
  ops.ropeForward(a.k, positions, B, T, d.Hkv, d.D, theta);
}

export interface ForwardOptions<F> {
  /** compute logprobs of targets at the gathered rows (training); otherwise only logits */
  logprobs: boolean;
  /** after each layer's k/v are computed (post-RoPE), e.g. to fill a KV cache */
  onKV?: (layer: number, k: View<F>, v: View<F>) => void;
}

/** Forward over (B,T) tokens; acts.mask must already hold the key mask. */
export function modelForward<F, I>(
  ops: Ops<F, I>, config: ModelConfig, P: RunParams<F, I>, A: Acts<F>, ints: IntInputs<I>,
  { B, T, Ns, Rc = Ns }: BatchShape, gather: Gather[], options: ForwardOptions<F>,
): void {
  const C = config.hidden_size, V = config.vocab_size, I = config.intermediate_size, L = config.num_hidden_layers;
  const d = dimsOf(config, B, T);
  const HD = d.H * d.D, N = B * T, eps = config.rms_norm_eps, theta = config.rope_theta;

  ops.embeddingForward(A.layers[0].x, ints.tokens, P.embed, N, C);
  for (let l = 0; l < L; l++) {
    const p = P.layers[l], a = A.layers[l];
    ops.rmsnormForward(a.ln1, a.rstd1, a.x, p.ln1, N, C, eps);
    queryKeyValue(ops, p, a, ints.positions, B, T, C, d, eps, theta);
    options.onKV?.(l, a.k, a.v);
    ops.attentionForward(a.attOut, a.att, a.q, a.k, a.v, A.mask, d);
    linear(ops, A.tmp, a.attOut, p.o, undefined, N, C, HD, adapterOf(p, a, 'o_proj', HD));
    ops.add(a.r, a.x, A.tmp, N * C);
    ops.rmsnormForward(a.ln2, a.rstd2, a.r, p.ln2, N, C, eps);
    linear(ops, a.gate, a.ln2, p.gate, undefined, N, I, C, adapterOf(p, a, 'gate_proj', C));
    linear(ops, a.up, a.ln2, p.up, undefined, N, I, C, adapterOf(p, a, 'up_proj', C));
    ops.swigluForward(a.act, a.gate, a.up, N, I);
    linear(ops, A.tmp, a.act, p.down, undefined, N, C, I, adapterOf(p, a, 'down_proj', I));
    ops.add(l + 1 < L ? A.layers[l + 1].x : A.xFinal, a.r, A.tmp, N * C);
  }
  ops.rmsnormForward(A.lnf, A.rstdf, A.xFinal, P.norm, N, C, eps);
  if (Ns === 0) return;
  let at = 0;
  for (const g of gather) {
    ops.copy(ops.view(A.h, at * C, g.count * C), ops.view(A.lnf, g.row * C, g.count * C));
    at += g.count;
  }
  if (!options.logprobs && Rc < Ns) throw new Error('logits for every gathered row need Rc = Ns');
  for (let c0 = 0; c0 < Ns; c0 += Rc) {
    const rows = Math.min(Rc, Ns - c0);
    const logits = ops.view(A.logits, 0, rows * V);
    linear(ops, logits, ops.view(A.h, c0 * C, rows * C), P.lmHead, undefined, rows, V, C);
    if (options.logprobs) {
      ops.logprobsForward(ops.view(A.logprobs, c0, rows), ops.view(A.lse, c0, rows), logits, ops.view(ints.targets, c0, rows), rows, V);
    }
  }
}

/**
 * Backward of sum(dLogprobs * logprobs) for the last modelForward; S.dLogprobs holds the weights.
 * G: the base weights' gradients, or null for a frozen base (LoRA: only the adapters' gradients, GL, are
 * accumulated; the base's are never computed, and the norm gains' go to a discarded sink).
 */
export function modelBackward<F, I>(
  ops: Ops<F, I>, config: ModelConfig, P: RunParams<F, I>, G: ModelParams<F> | null, A: Acts<F>, S: GradScratch<F>,
  ints: IntInputs<I>, { B, T, Ns, Rc = Ns }: BatchShape, gather: Gather[], GL: Partial<Record<LoraTarget, LoraPair<F>>>[] | null = null,
): void {
  const C = config.hidden_size, V = config.vocab_size, I = config.intermediate_size, L = config.num_hidden_layers;
  const d = dimsOf(config, B, T);
  const HD = d.H * d.D, KD = d.Hkv * d.D, N = B * T, theta = config.rope_theta;
  const sink = (n: number) => ops.view(S.dNormSink!, 0, n);

  ops.zero(S.dLn);
  if (Ns > 0) {
    for (let c0 = 0; c0 < Ns; c0 += Rc) {
      const rows = Math.min(Rc, Ns - c0);
      const logits = ops.view(A.logits, 0, rows * V), dLogits = ops.view(S.dLogits, 0, rows * V);
      const h = ops.view(A.h, c0 * C, rows * C);
      // a single chunk still holds its logits from the forward; otherwise recompute this chunk's
      if (Rc < Ns) linear(ops, logits, h, P.lmHead, undefined, rows, V, C);
      ops.logprobsBackward(dLogits, ops.view(S.dLogprobs, c0, rows), logits, ops.view(A.lse, c0, rows), ops.view(ints.targets, c0, rows), rows, V);
      linearBackward(ops, ops.view(S.dh, c0 * C, rows * C), G?.lmHead, undefined, dLogits, h, P.lmHead, rows, V, C, false);
    }
    let at = 0;
    for (const g of gather) {
      ops.copy(ops.view(S.dLn, g.row * C, g.count * C), ops.view(S.dh, at * C, g.count * C));
      at += g.count;
    }
  }
  ops.zero(S.dx);
  ops.rmsnormBackward(S.dx, G?.norm ?? sink(C), S.dLn, A.xFinal, P.norm, A.rstdf, N, C);
  for (let l = L - 1; l >= 0; l--) {
    const p = P.layers[l], g = G?.layers[l], a = A.layers[l];
    const ad = (t: LoraTarget, inp: number): AdapterGrad<F> | undefined => {
      const fwd = adapterOf(p, a, t, inp), grad = GL?.[l][t];
      return fwd && grad ? { ...fwd, dA: grad.a, dB: grad.b, dt: ops.view(S.dLoraT!, 0, N * fwd.r) } : undefined;
    };
    // x_next = r + down(swiglu(gate(ln2), up(ln2))), ln2 = rmsnorm(r)
    ops.copy(S.dr, S.dx);
    linearBackward(ops, S.dAct, g?.down, undefined, S.dx, a.act, p.down, N, C, I, false, ad('down_proj', I));
    ops.swigluBackward(S.dGate, S.dUp, S.dAct, a.gate, a.up, N, I);
    linearBackward(ops, S.dLn, g?.gate, undefined, S.dGate, a.ln2, p.gate, N, I, C, false, ad('gate_proj', C));
    linearBackward(ops, S.dLn, g?.up, undefined, S.dUp, a.ln2, p.up, N, I, C, true, ad('up_proj', C));
    ops.rmsnormBackward(S.dr, g?.ln2 ?? sink(C), S.dLn, a.r, p.ln2, a.rstd2, N, C);
    // r = x + o(attention(rope(q(ln1)), rope(k(ln1)), v(ln1))), ln1 = rmsnorm(x)
    ops.copy(S.dx, S.dr);
    linearBackward(ops, S.dAttOut, g?.o, undefined, S.dr, a.attOut, p.o, N, C, HD, false, ad('o_proj', HD));
    ops.attentionBackward(S.dq, S.dk, S.dv, S.dAttOut, a.att, a.q, a.k, a.v, d);
    ops.ropeBackward(S.dq, ints.positions, B, T, d.H, d.D, theta);
    ops.ropeBackward(S.dk, ints.positions, B, T, d.Hkv, d.D, theta);
    let dq = S.dq, dk = S.dk;
    if (p.qn && p.kn) {
      // q = headnorm(qRaw): rmsnormBackward accumulates, so the pre-norm grads start from zero
      ops.zero(S.dqRaw!);
      ops.zero(S.dkRaw!);
      ops.rmsnormBackward(S.dqRaw!, g?.qn ?? sink(d.D), S.dq, a.qRaw!, p.qn, a.rstdq!, N * d.H, d.D);
      ops.rmsnormBackward(S.dkRaw!, g?.kn ?? sink(d.D), S.dk, a.kRaw!, p.kn, a.rstdk!, N * d.Hkv, d.D);
      dq = S.dqRaw!;
      dk = S.dkRaw!;
    }
    // a frozen base has no bias gradients either
    linearBackward(ops, S.dLn, g?.q, g?.qb, dq, a.ln1, p.q, N, HD, C, false, ad('q_proj', C));
    linearBackward(ops, S.dLn, g?.k, g?.kb, dk, a.ln1, p.k, N, KD, C, true, ad('k_proj', C));
    linearBackward(ops, S.dLn, g?.v, g?.vb, S.dv, a.ln1, p.v, N, KD, C, true, ad('v_proj', C));
    ops.rmsnormBackward(S.dx, g?.ln1 ?? sink(C), S.dLn, a.x, p.ln1, a.rstd1, N, C);
  }
  if (G) ops.embeddingBackward(G.embed, S.dx, ints.tokens, N, C, V);
}

export interface DecodeState<F, I> {
  kv: { k: View<F>; v: View<F> }[]; // per layer (B,S,Hkv,D)
  cacheMask: View<F>; // (B,S)
  S: number;
  slots: View<I>; // (B) cache slot written this step
}

/**
 * One decode step for B rows of one token each: ints.tokens/positions are (B); writes logits (B,V) to
 * A.logits. A is an inference activation set for (B, T=1, Ns=B).
 */
export function modelDecodeStep<F, I>(
  ops: Ops<F, I>, config: ModelConfig, P: RunParams<F, I>, A: Acts<F>, ints: IntInputs<I>, B: number, cache: DecodeState<F, I>,
): void {
  const C = config.hidden_size, V = config.vocab_size, I = config.intermediate_size, L = config.num_hidden_layers;
  const d = dimsOf(config, B, 1);
  const { H, Hkv, D } = d;
  const HD = H * D, eps = config.rms_norm_eps, theta = config.rope_theta;
  const a = A.layers[0];
  ops.embeddingForward(a.x, ints.tokens, P.embed, B, C);
  for (let l = 0; l < L; l++) {
    const p = P.layers[l];
    ops.rmsnormForward(a.ln1, a.rstd1, a.x, p.ln1, B, C, eps);
    queryKeyValue(ops, p, a, ints.positions, B, 1, C, d, eps, theta);
    ops.cacheWrite(cache.kv[l].k, a.k, cache.slots, B, cache.S, Hkv, D);
    ops.cacheWrite(cache.kv[l].v, a.v, cache.slots, B, cache.S, Hkv, D);
    ops.attentionDecode(a.attOut, a.q, cache.kv[l].k, cache.kv[l].v, cache.cacheMask, B, cache.S, H, Hkv, D);
    linear(ops, A.tmp, a.attOut, p.o, undefined, B, C, HD, adapterOf(p, a, 'o_proj', HD));
    ops.add(a.r, a.x, A.tmp, B * C);
    ops.rmsnormForward(a.ln2, a.rstd2, a.r, p.ln2, B, C, eps);
    linear(ops, a.gate, a.ln2, p.gate, undefined, B, I, C, adapterOf(p, a, 'gate_proj', C));
    linear(ops, a.up, a.ln2, p.up, undefined, B, I, C, adapterOf(p, a, 'up_proj', C));
    ops.swigluForward(a.act, a.gate, a.up, B, I);
    linear(ops, A.tmp, a.act, p.down, undefined, B, C, I, adapterOf(p, a, 'down_proj', I));
    ops.add(a.x, a.r, A.tmp, B * C);
  }
  ops.rmsnormForward(A.lnf, A.rstdf, a.x, P.norm, B, C, eps);
  linear(ops, A.logits, A.lnf, P.lmHead, undefined, B, V, C);
}
