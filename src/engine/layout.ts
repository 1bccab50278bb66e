// One table of [Hugging Face name, shape] rows, in a fixed order, lays out every flat per-role buffer:
// params, grads (the same layout), Adam m and v. The flat params buffer is what is saved. Activations are
// laid out the same way from their own table, per batch shape.
//
// Every row starts on a multiple of ROW_ALIGN (64) elements, 256 bytes: WebGPU binds a storage range only
// at minStorageBufferOffsetAlignment (256 bytes on every adapter we know), so a tensor that shared a
// 256-byte block with its neighbour could not be bound writable beside it, and the recorder would route it
// through a temporary copy (an "alias copy"). The gaps are zeros that no op reads or writes.

import type { ModelConfig } from './api.ts';
import type { AttentionDims } from './ops.ts';
import { headDim } from './config.ts';
import { WeightsMismatchError } from './errors.ts';
import { LORA_TARGETS } from './lora-targets.ts';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** element offset in the flat buffer */
  offset: number;
  length: number;
  /** AdamW decays matrices, not norm gains or biases */
  decay: boolean;
}

export interface Layout {
  tensors: TensorSpec[];
  byName: Map<string, TensorSpec>;
  /** total elements, alignment gaps included (what a buffer for this table holds) */
  size: number;
}

/** Elements between row starts: 256 bytes, WebGPU's storage-binding offset alignment. */
export const ROW_ALIGN = 64;

/** n rounded up to a multiple of ROW_ALIGN. */
export function alignRow(n: number): number {
  return Math.ceil(n / ROW_ALIGN) * ROW_ALIGN;
}

function build(rows: [string, number[], boolean][]): Layout {
  const tensors: TensorSpec[] = [];
  let offset = 0;
  for (const [name, shape, decay] of rows) {
    const length = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, length, decay });
    offset = alignRow(offset + length);
  }
  return { tensors, byName: new Map(tensors.map((t) => [t.name, t])), size: offset };
}

/**
 * Where AdamW decays: [start, end) pairs over the table's decayed tensors, flattened. Neighbouring decayed
 * tensors (and the zero gaps between them, which stay zero under AdamW) merge into one range, so a Llama
 * layer gives two (q..o, gate..down) and the whole model about 2 per layer: a few hundred bytes where a
 * mask would be as large as the params.
 */
export function decayRanges(layout: Layout): Int32Array {
  const out: number[] = [];
  let open = false;
  for (const t of layout.tensors) {
    if (t.decay && t.length > 0) {
      if (open) out[out.length - 1] = t.offset + t.length;
      else out.push(t.offset, t.offset + t.length);
      open = true;
    } else if (!t.decay && t.length > 0) open = false;
  }
  return Int32Array.from(out);
}

/** Elements of real tensors in a table (its size less the alignment gaps): a model's parameter count. */
export function tensorElements(layout: Layout): number {
  return layout.tensors.reduce((a, t) => a + t.length, 0);
}

export function layerPrefix(l: number): string {
  return `model.layers.${l}.`;
}

/** The parameter table: HF names, HF shapes ((out, in) for linear weights). */
export function paramLayout(config: ModelConfig): Layout {
  const C = config.hidden_size, V = config.vocab_size, I = config.intermediate_size;
  const D = headDim(config);
  const HD = config.num_attention_heads * D;
  const KD = config.num_key_value_heads * D;
  const rows: [string, number[], boolean][] = [['model.embed_tokens.weight', [V, C], true]];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = layerPrefix(l);
    rows.push([`${p}input_layernorm.weight`, [C], false]);
    rows.push([`${p}self_attn.q_proj.weight`, [HD, C], true]);
    if (config.attention_bias) rows.push([`${p}self_attn.q_proj.bias`, [HD], false]);
    rows.push([`${p}self_attn.k_proj.weight`, [KD, C], true]);
    if (config.attention_bias) rows.push([`${p}self_attn.k_proj.bias`, [KD], false]);
    rows.push([`${p}self_attn.v_proj.weight`, [KD, C], true]);
    if (config.attention_bias) rows.push([`${p}self_attn.v_proj.bias`, [KD], false]);
    rows.push([`${p}self_attn.o_proj.weight`, [C, HD], true]);
    if (config.qk_norm) rows.push([`${p}self_attn.q_norm.weight`, [D], false], [`${p}self_attn.k_norm.weight`, [D], false]);
    rows.push([`${p}post_attention_layernorm.weight`, [C], false]);
    rows.push([`${p}mlp.gate_proj.weight`, [I, C], true]);
    rows.push([`${p}mlp.up_proj.weight`, [I, C], true]);
    rows.push([`${p}mlp.down_proj.weight`, [C, I], true]);
  }
  rows.push(['model.norm.weight', [C], false]);
  if (!config.tie_word_embeddings) rows.push(['lm_head.weight', [V, C], true]);
  return build(rows);
}

/** Shape of one forward pass: B rows of T tokens, of which Ns positions get logits. */
export interface BatchShape {
  B: number;
  T: number;
  /** rows projected to the vocabulary (scored positions in training, last positions in prefill) */
  Ns: number;
  /**
   * rows of logits held at once (default Ns): the LM head runs in chunks of this many rows so a large
   * vocabulary does not need (Ns, V) logits and their gradient in memory; backward recomputes each chunk.
   */
  Rc?: number;
}

/** Logit rows per chunk in training: about 32 MiB of logits per chunk whatever the vocabulary. */
export function logitChunkRows(config: ModelConfig, Ns: number): number {
  return Math.max(1, Math.min(Ns, Math.floor(2 ** 23 / config.vocab_size)));
}

/** Elements attention keeps between forward and backward at some dims (Ops.attentionStateSize). */
export type AttentionStateSize = (d: AttentionDims) => number;
/** The CPU reference's (and the 'cpu' kernel family's) (B,H,T,T) probabilities: the most any backend keeps. */
export const attentionProbsSize: AttentionStateSize = ({ B, H, T }) => B * H * T * T;

/**
 * One layer's activations (what its backward needs). Each layer gets its own buffer from this table, so no
 * single buffer grows with depth (WebGPU caps one binding, often at 128 MiB - 2 GiB); inference keeps one
 * and every layer reuses it.
 */
export function layerActLayout(config: ModelConfig, { B, T }: BatchShape, loraRank = 0, attState: AttentionStateSize = attentionProbsSize): Layout {
  const C = config.hidden_size, I = config.intermediate_size;
  const D = headDim(config);
  const H = config.num_attention_heads, Hkv = config.num_key_value_heads;
  const N = B * T;
  const rows: [string, number[], boolean][] = [
    ['x', [N, C], false], // residual stream entering the layer
    ['ln1', [N, C], false], ['rstd1', [N], false],
    ['q', [N, H * D], false], ['k', [N, Hkv * D], false], ['v', [N, Hkv * D], false],
    // what attention keeps for its backward: (B,H,T,T) probabilities, or a flash kernel's lse and mask
    ['att', [attState({ B, T, H, Hkv, D })], false], ['attOut', [N, H * D], false],
    ['r', [N, C], false], // residual after attention
    ['ln2', [N, C], false], ['rstd2', [N], false],
    ['gate', [N, I], false], ['up', [N, I], false], ['act', [N, I], false],
  ];
  // Qwen3: q and k before their per-head RMSNorm, and its 1/rms per (token, head)
  if (config.qk_norm) rows.push(['qRaw', [N, H * D], false], ['kRaw', [N, Hkv * D], false], ['rstdq', [N * H], false], ['rstdk', [N * Hkv], false]);
  // LoRA: each adapted projection's x Aᵀ (N, r), which B's gradient needs
  if (loraRank > 0) for (const t of LORA_TARGETS) rows.push([`lora.${t}`, [N, loraRank], false]);
  return build(rows);
}

/** Activations outside the layers: key mask, final norm, LM head and objective. */
export function headActLayout(config: ModelConfig, { B, T, Ns, Rc = Ns }: BatchShape): Layout {
  const C = config.hidden_size, V = config.vocab_size;
  const N = B * T;
  return build([
    ['mask', [B, T], false],
    ['xFinal', [N, C], false], ['lnf', [N, C], false], ['rstdf', [N], false],
    ['tmp', [N, C], false], // projection outputs before they join the residual
    ['h', [Ns, C], false], ['logits', [Rc, V], false], ['logprobs', [Ns], false], ['lse', [Ns], false],
  ]);
}

/** Backward scratch, reused by every layer. */
export function gradScratchLayout(config: ModelConfig, { B, T, Ns, Rc = Ns }: BatchShape, loraRank = 0): Layout {
  const C = config.hidden_size, V = config.vocab_size, I = config.intermediate_size;
  const D = headDim(config);
  const HD = config.num_attention_heads * D, KD = config.num_key_value_heads * D;
  const N = B * T;
  const rows: [string, number[], boolean][] = [
    ['dx', [N, C], false], ['dr', [N, C], false], ['dLn', [N, C], false],
    ['dAttOut', [N, HD], false], ['dq', [N, HD], false], ['dk', [N, KD], false], ['dv', [N, KD], false],
    ['dAct', [N, I], false], ['dGate', [N, I], false], ['dUp', [N, I], false],
    ['dLogprobs', [Ns], false], ['dLogits', [Rc, V], false], ['dh', [Ns, C], false],
  ];
  if (config.qk_norm) rows.push(['dqRaw', [N, HD], false], ['dkRaw', [N, KD], false]);
  // LoRA: d(x Aᵀ) of one projection at a time, and where the frozen norms' gain gradients go (discarded)
  if (loraRank > 0) rows.push(['dLoraT', [N, loraRank], false], ['dNormSink', [Math.max(C, D)], false]);
  return build(rows);
}

/** Integer inputs of one forward pass. */
export function intLayout({ B, T, Ns }: BatchShape): Layout {
  return build([['tokens', [B, T], false], ['positions', [B, T], false], ['targets', [Ns], false]]);
}

/** KV cache of one layer for generation: k and v, each (B, S, Hkv, D); one buffer per layer. */
export function kvLayerLayout(config: ModelConfig, B: number, S: number): Layout {
  const KD = config.num_key_value_heads * headDim(config);
  return build([['k', [B, S, KD], false], ['v', [B, S, KD], false]]);
}

/** A tensor under its Hugging Face name. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

// Names a checkpoint may carry that the model does not use: the rotary table some Llama exports keep, and
// lm_head.weight in tied checkpoints that store it anyway (it equals the embedding).
function ignorable(name: string, config: ModelConfig): boolean {
  return name.endsWith('rotary_emb.inv_freq') || (config.tie_word_embeddings && name === 'lm_head.weight');
}

/** Throws WeightsMismatchError unless the named shapes are exactly the config's tensors (ignorable extras aside). */
export function checkWeightShapes(config: ModelConfig, shapes: ReadonlyMap<string, readonly number[]>, layout = paramLayout(config)): void {
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const t of layout.tensors) {
    const shape = shapes.get(t.name);
    if (!shape) missing.push(t.name);
    else if (shape.join(',') !== t.shape.join(',')) wrong.push(`${t.name} is [${shape}], expected [${t.shape}]`);
  }
  const extra = [...shapes.keys()].filter((n) => !layout.byName.has(n) && !ignorable(n, config));
  if (missing.length || wrong.length || extra.length) {
    const parts = [
      missing.length ? `missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}` : '',
      wrong.length ? `wrong shape: ${wrong.slice(0, 5).join('; ')}` : '',
      extra.length ? `unexpected ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}` : '',
    ].filter(Boolean);
    throw new WeightsMismatchError(`weights do not match the ${config.model_type} config: ${parts.join('; ')}`);
  }
}

/** Packs named tensors into the flat params buffer; every tensor must be present with its exact shape. */
export function packWeights(config: ModelConfig, tensors: ReadonlyMap<string, NamedTensor>, layout = paramLayout(config)): Float32Array {
  checkWeightShapes(config, new Map([...tensors].map(([n, t]) => [n, t.shape])), layout);
  const flat = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    const data = tensors.get(t.name)!.data;
    if (data.length !== t.length) throw new WeightsMismatchError(`${t.name} has ${data.length} values for shape [${t.shape}]`);
    flat.set(data, t.offset);
  }
  return flat;
}

/** The flat params buffer as named tensors (copies). */
export function unpackWeights(config: ModelConfig, flat: Float32Array, layout = paramLayout(config)): Map<string, NamedTensor> {
  return new Map(layout.tensors.map((t) => [t.name, { shape: [...t.shape], data: flat.slice(t.offset, t.offset + t.length) }]));
}
