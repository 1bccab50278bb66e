// A trained model out as the folder transformers.js and onnxruntime-web open: onnx/model.onnx (the decoder
// with past key values, in the input/output names and shapes transformers.js feeds: input_ids,
// attention_mask, position_ids, past_key_values.{l}.key/value → logits, present.{l}.key/value),
// config.json, and the tokenizer / generation files passed through. The graph is the Hugging Face
// Llama / Qwen2 / Qwen3 forward written in standard ONNX ops (opset 17, no contrib ops), so any ONNX
// runtime runs it. Weights are stored f32, linear weights transposed to (in, out) for MatMul.
import type { ModelConfig } from '../api.ts';
import { headDim, parseConfig } from '../config.ts';
import type { FileSink } from '../hf.ts';
import { packWeights, paramLayout, layerPrefix, type NamedTensor } from '../layout.ts';
import { GraphBuilder } from './graph.ts';
import { DataLocation, DataType, encodeModel, type TensorMessage } from './proto.ts';

export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

export const ONNX_OPSET = 17;
/** protobuf messages are capped at 2 GiB; larger models would need ONNX external data */
const MAX_MODEL_BYTES = 2 ** 31 - 2 ** 24;
/** HF's attention mask value: the most negative float32 */
const MASK_MIN = -3.4028234663852886e38;

/** (rows, cols) row-major → (cols, rows) */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export interface DecoderOnnx {
  /** onnx/model.onnx */
  model: Uint8Array;
  /** external data files, in order: onnx/model.onnx_data, model.onnx_data_1, ... (empty when inline) */
  data: Uint8Array[];
}

export interface ExternalDataOptions {
  /** weights in external data files (default: only when they do not fit one protobuf) */
  external?: boolean;
  /** bytes per data file at most (default 1 GiB: a browser holds each file as one ArrayBuffer) */
  chunkBytes?: number;
}

/** external data file names as transformers.js asks for them */
export function dataFileName(i: number): string {
  return `model.onnx_data${i === 0 ? '' : `_${i}`}`;
}

/** moves the f32 weights of the graph into data files (tensor by tensor, a tensor never split) */
function externalize(initializers: TensorMessage[], chunkBytes: number): Uint8Array[] {
  const chunks: { parts: Uint8Array[]; size: number }[] = [];
  for (const t of initializers) {
    if (t.dataType !== DataType.FLOAT || !t.rawData || t.rawData.length < 1024) continue;
    const n = t.rawData.length;
    if (n > chunkBytes) throw new OnnxExportError(`tensor ${t.name} (${n} bytes) is larger than one data file (${chunkBytes} bytes)`);
    if (chunks.length === 0 || chunks[chunks.length - 1].size + n > chunkBytes) chunks.push({ parts: [], size: 0 });
    const c = chunks[chunks.length - 1];
    t.externalData = [
      { key: 'location', value: dataFileName(chunks.length - 1) }, { key: 'offset', value: String(c.size) }, { key: 'length', value: String(n) },
    ];
    t.dataLocation = DataLocation.EXTERNAL;
    c.parts.push(t.rawData);
    c.size += n;
    delete t.rawData;
  }
  return chunks.map((c) => {
    const out = new Uint8Array(c.size);
    let at = 0;
    for (const p of c.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  });
}

/** The decoder as ModelProto bytes, inline. Throws OnnxExportError when the weights do not fit one protobuf. */
export function buildDecoderOnnx(configIn: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, producerVersion = '0'): Uint8Array {
  return buildDecoderOnnxFiles(configIn, weights, { external: false }, producerVersion).model;
}

/** The decoder as ModelProto bytes plus, for big models (or on request), its external data files. */
export function buildDecoderOnnxFiles(
  configIn: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, options: ExternalDataOptions = {}, producerVersion = '0',
): DecoderOnnx {
  const config = parseConfig(configIn);
  const layout = paramLayout(config);
  // checked before anything is copied
  const bytes = layout.size * 4;
  const external = options.external ?? bytes > MAX_MODEL_BYTES;
  if (!external && bytes > MAX_MODEL_BYTES) {
    throw new OnnxExportError(`the model's ${(bytes / 2 ** 30).toFixed(2)} GiB of f32 weights exceed one ONNX protobuf (2 GiB): export with external data`);
  }
  const chunkBytes = options.chunkBytes ?? 2 ** 30;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1024) throw new OnnxExportError(`chunkBytes must be an integer >= 1024, got ${chunkBytes}`);
  const flat = packWeights(config, weights, layout); // validates names and shapes
  const w = (name: string) => {
    const t = layout.byName.get(name)!;
    return flat.subarray(t.offset, t.offset + t.length);
  };
  const C = config.hidden_size, V = config.vocab_size, I = config.intermediate_size, L = config.num_hidden_layers;
  const H = config.num_attention_heads, Hkv = config.num_key_value_heads, D = headDim(config), rep = H / Hkv;
  const eps = config.rms_norm_eps;

  const g = new GraphBuilder();
  const F = DataType.FLOAT, I64 = DataType.INT64;
  const inputIds = g.input('input_ids', I64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', I64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', I64, ['batch_size', 'sequence_length']);
  const past = Array.from({ length: L }, (_, l) => ({
    k: g.input(`past_key_values.${l}.key`, F, ['batch_size', Hkv, 'past_sequence_length', D]),
    v: g.input(`past_key_values.${l}.value`, F, ['batch_size', Hkv, 'past_sequence_length', D]),
  }));
  const linearW = (name: string, out: number, inp: number) => g.floats(`${name}.T`, transpose(w(name), out, inp), [inp, out]);
  const linear = (x: string, name: string, out: number, inp: number, bias?: string) => {
    const y = g.op('MatMul', [x, linearW(name, out, inp)]);
    return bias ? g.op('Add', [y, g.floats(bias, w(bias), [out])]) : y;
  };
  const rmsnorm = (x: string, weightName: string, n: number) => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.floatConst([eps], [])])])]);
    return g.op('Mul', [g.op('Mul', [x, inv]), g.floats(weightName, w(weightName), [n])]);
  };

  // Mask (B,1,1,S,T) for scores (B,Hkv,rep,S,T): query i sits at absolute position T-S+i and sees keys
  // j <= T-S+i that attention_mask keeps.
  const total = g.op('Squeeze', [g.op('Slice', [g.op('Shape', [attentionMask]), g.int64([1]), g.int64([2])]), g.int64([0])]);
  const seq = g.op('Squeeze', [g.op('Slice', [g.op('Shape', [inputIds]), g.int64([1]), g.int64([2])]), g.int64([0])]);
  const keys = g.op('Range', [g.int64([0], []), total, g.int64([1], [])]);
  const queries = g.op('Range', [g.op('Sub', [total, seq]), total, g.int64([1], [])]);
  const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [keys, g.int64([0])]), g.op('Unsqueeze', [queries, g.int64([1])])]);
  const keep = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: { int: DataType.BOOL } }), g.int64([1, 2, 3])]);
  const maskBias = g.op('Where', [g.op('And', [causal, keep]), g.floatConst([0], []), g.floatConst([MASK_MIN], [])]);

  // RoPE tables (B,1,S,D), inv_freq in f32 as Hugging Face computes it
  const invFreq = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) invFreq[i] = 1 / Math.pow(config.rope_theta, (2 * i) / D);
  const freqs = g.op('Mul', [g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: { int: F } }), g.int64([2])]), g.floats('rope.inv_freq', invFreq, [D / 2])]);
  const emb = g.op('Concat', [freqs, freqs], { axis: { int: -1 } });
  const cos = g.op('Unsqueeze', [g.op('Cos', [emb]), g.int64([1])]);
  const sin = g.op('Unsqueeze', [g.op('Sin', [emb]), g.int64([1])]);
  const rope = (x: string) => {
    const x1 = g.op('Slice', [x, g.int64([0]), g.int64([D / 2]), g.int64([3])]);
    const x2 = g.op('Slice', [x, g.int64([D / 2]), g.int64([D]), g.int64([3])]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: { int: 3 } });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };
  /** (B,S,n*D) → (B,n,S,D), with Qwen3's per-head norm on the way */
  const heads = (x: string, n: number, norm?: string) => {
    let y = g.op('Reshape', [x, g.int64([0, 0, n, D])]);
    if (norm) y = rmsnorm(y, norm, D);
    return g.op('Transpose', [y], { perm: { ints: [0, 2, 1, 3] } });
  };

  let h = g.op('Gather', [g.floats('model.embed_tokens.weight', w('model.embed_tokens.weight'), [V, C]), inputIds]);
  const scale = g.floatConst([1 / Math.sqrt(D)], []);
  for (let l = 0; l < L; l++) {
    const p = layerPrefix(l), a = `${p}self_attn.`;
    const bias = (n: string) => (config.attention_bias ? `${a}${n}_proj.bias` : undefined);
    const ln1 = rmsnorm(h, `${p}input_layernorm.weight`, C);
    const q = rope(heads(linear(ln1, `${a}q_proj.weight`, H * D, C, bias('q')), H, config.qk_norm ? `${a}q_norm.weight` : undefined));
    const k = rope(heads(linear(ln1, `${a}k_proj.weight`, Hkv * D, C, bias('k')), Hkv, config.qk_norm ? `${a}k_norm.weight` : undefined));
    const v = heads(linear(ln1, `${a}v_proj.weight`, Hkv * D, C, bias('v')), Hkv);
    const presentK = g.op('Concat', [past[l].k, k], { axis: { int: 2 } }, `present.${l}.key`);
    const presentV = g.op('Concat', [past[l].v, v], { axis: { int: 2 } }, `present.${l}.value`);
    g.output(presentK, F, ['batch_size', Hkv, 'total_sequence_length', D]);
    g.output(presentV, F, ['batch_size', Hkv, 'total_sequence_length', D]);
    // grouped-query attention without copying k/v: query heads kv*rep .. kv*rep+rep-1 share kv head kv
    // (Hugging Face's repeat_kv order); broadcasting over the rep axis does the sharing
    const q5 = g.op('Reshape', [q, g.int64([0, Hkv, rep, -1, D])]);
    const kT = g.op('Transpose', [g.op('Unsqueeze', [presentK, g.int64([2])])], { perm: { ints: [0, 1, 2, 4, 3] } });
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q5, kT]), scale]), maskBias]);
    const probs = g.op('Softmax', [scores], { axis: { int: -1 } });
    const o5 = g.op('MatMul', [probs, g.op('Unsqueeze', [presentV, g.int64([2])])]);
    const o = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [o5, g.int64([0, H, -1, D])])], { perm: { ints: [0, 2, 1, 3] } }), g.int64([0, 0, H * D])]);
    h = g.op('Add', [h, linear(o, `${a}o_proj.weight`, C, H * D)]);
    const ln2 = rmsnorm(h, `${p}post_attention_layernorm.weight`, C);
    const gate = linear(ln2, `${p}mlp.gate_proj.weight`, I, C);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), linear(ln2, `${p}mlp.up_proj.weight`, I, C)]);
    h = g.op('Add', [h, linear(act, `${p}mlp.down_proj.weight`, C, I)]);
  }
  const lnf = rmsnorm(h, 'model.norm.weight', C);
  // Gemm reads the head as stored (V, C) with transB, so a tied head is the embedding itself, not a copy
  const headW = config.tie_word_embeddings ? 'model.embed_tokens.weight' : g.floats('lm_head.weight', w('lm_head.weight'), [V, C]);
  const rows = g.op('Gemm', [g.op('Reshape', [lnf, g.int64([-1, C])]), headW], { transB: { int: 1 } });
  g.op('Reshape', [rows, g.op('Concat', [g.op('Shape', [inputIds]), g.int64([V])], { axis: { int: 0 } })], {}, 'logits');
  g.output('logits', F, ['batch_size', 'sequence_length', V]);

  const data = external ? externalize(g.initializers, chunkBytes) : [];
  const model = encodeModel({
    irVersion: 8, opset: ONNX_OPSET, producerName: 'tabswarm', producerVersion,
    docString: `${config.model_type} decoder exported by tabswarm`, graph: g.graph('tabswarm-decoder'),
  });
  return { model, data };
}

export interface OnnxFolderOptions {
  /** config.json as loaded, so the fields the engine does not read (token ids, architectures) survive */
  rawConfig?: Record<string, unknown>;
  /** tokenizer.json, tokenizer_config.json, generation_config.json, ... copied as they are */
  files?: ReadonlyMap<string, Uint8Array>;
  /** external data (default: only for a model over one protobuf's 2 GiB) */
  externalData?: ExternalDataOptions;
}

/** Files a transformers.js folder may carry besides the model; anything else passed in is refused. */
const PASSED_THROUGH = new Set(['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']);

/** Writes onnx/model.onnx, config.json and the passed-through files. */
export async function exportOnnxFolder(sink: FileSink, config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, options: OnnxFolderOptions = {}): Promise<void> {
  for (const name of options.files?.keys() ?? []) {
    if (!PASSED_THROUGH.has(name)) throw new OnnxExportError(`"${name}" is not a tokenizer or generation file (allowed: ${[...PASSED_THROUGH].join(', ')})`);
  }
  const { model, data } = buildDecoderOnnxFiles(config, weights, options.externalData);
  const json: Record<string, unknown> = { ...(options.rawConfig ?? config), torch_dtype: 'float32' };
  // transformers.js fetches the data files only when config.json says how many there are
  if (data.length > 0) json['transformers.js_config'] = { use_external_data_format: { 'model.onnx': data.length } };
  await sink.write('onnx/model.onnx', model);
  for (const [i, bytes] of data.entries()) await sink.write(`onnx/${dataFileName(i)}`, bytes);
  await sink.write('config.json', new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
  for (const [name, bytes] of options.files ?? []) await sink.write(name, bytes);
}
