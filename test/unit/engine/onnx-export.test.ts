// Export round trip: engine weights → onnx/model.onnx (our protobuf writer) → onnxruntime-web (the wasm
// runtime transformers.js uses) in Node. Full-sequence logprobs must match the engine's, and greedy decoding
// through the exported KV cache (prefill, then one token at a time with past_key_values) must give the
// engine's tokens, for a left-padded batch, on Llama (GQA, tied), Qwen2 (biases, untied) and Qwen3 (head norms,
// explicit head_dim).
import { describe, expect, it } from 'vitest';
import type * as Ort from 'onnxruntime-web';
import { ortWebNode } from '../../../scripts/lib/ort-web-node.ts';
import type { ModelConfig } from '../../../src/engine/api.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { memoryFolder } from '../../../src/engine/hf.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { unpackWeights } from '../../../src/engine/layout.ts';
import { buildDecoderOnnx, buildDecoderOnnxFiles, dataFileName, exportOnnxFolder, OnnxExportError, ONNX_OPSET } from '../../../src/engine/onnx/export.ts';
import { decodeModel } from '../../../src/engine/onnx/proto.ts';
import { WeightsMismatchError } from '../../../src/engine/errors.ts';

const ort = ortWebNode();

const configs: [string, ModelConfig][] = [
  ['llama (GQA 4/2, tied)', tinyConfig({ vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_attention_heads: 4, num_key_value_heads: 2 })],
  ['qwen2 (q/k/v bias, untied, MQA)', tinyConfig({
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], tie_word_embeddings: false, vocab_size: 37, hidden_size: 24,
    intermediate_size: 28, num_attention_heads: 4, num_key_value_heads: 1, num_hidden_layers: 3, rope_theta: 1000000,
  })],
  ['qwen3 (q/k head norms, head_dim 8 with hidden 24)', tinyConfig({
    model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 41, hidden_size: 24, intermediate_size: 36,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rope_theta: 1000000,
  })],
];

/** weights with visibly non-unit norm gains and non-zero biases, so each role matters */
function weightsFor(config: ModelConfig): Float32Array {
  const flat = initWeights(config, 9, 0.25);
  const e = createCpuEngine(config, flat);
  for (const t of e.layout.tensors) {
    if (t.shape.length === 1) for (let i = 0; i < t.length; i++) flat[t.offset + i] = (t.name.endsWith('bias') ? 0 : 1) + 0.3 * Math.sin(3 * i + t.offset);
  }
  e.dispose();
  return flat;
}

const i64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

/** one session run; past = null for the empty cache */
async function run(session: Ort.InferenceSession, config: ModelConfig, ids: number[][], mask: number[][], pos: number[][], past: Record<string, Ort.Tensor> | null) {
  const feeds: Record<string, Ort.Tensor> = { input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos) };
  const D = config.head_dim!;
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = past?.[`present.${l}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [ids.length, config.num_key_value_heads, 0, D]);
    }
  }
  return session.run(feeds);
}

function logSoftmaxAt(logits: Float32Array, row: number, V: number, target: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[row * V + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[row * V + v] - max);
  return logits[row * V + target] - max - Math.log(sum);
}

function argmaxRow(logits: Float32Array, row: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[row * V + v] > logits[row * V + best]) best = v;
  return best;
}

describe('ONNX export → onnxruntime-web', () => {
  for (const [name, config] of configs) {
    it(`${name}: logprobs match the engine; greedy decoding through the exported KV cache gives its tokens`, async () => {
      const flat = weightsFor(config);
      const session = await ort.InferenceSession.create(buildDecoderOnnx(config, unpackWeights(config, flat)));
      const engine = createCpuEngine(config, flat);
      const V = config.vocab_size;

      const seqs = [[1, 5, 9, 3, 7, 11, 2, 8].map((t) => t % V), [1, 4, 8, 2, 30].map((t) => t % V)];
      const want = await engine.forwardLogprobs(seqs.map((tokens) => ({ tokens, completionStart: 1 })));
      let maxErr = 0;
      for (const [b, s] of seqs.entries()) {
        const out = await run(session, config, [s], [s.map(() => 1)], [s.map((_, t) => t)], null);
        expect(out.logits.dims).toEqual([1, s.length, V]);
        const logits = out.logits.data as Float32Array;
        for (let t = 1; t < s.length; t++) maxErr = Math.max(maxErr, Math.abs(logSoftmaxAt(logits, t - 1, V, s[t]) - want[b][t - 1]));
      }
      expect(maxErr).toBeLessThan(1e-4);

      // left-padded batch, as transformers.js feeds it: pads masked, positions count real tokens only
      const prompts = [[1, 5, 9, 13].map((t) => t % V), [1, 7].map((t) => t % V)];
      const steps = 6;
      const engineTokens = (await engine.sample(prompts, { maxNewTokens: steps, temperature: 0, seed: 0, stopTokens: [] })).tokens;
      const Tp = Math.max(...prompts.map((p) => p.length));
      let mask = prompts.map((p) => [...Array<number>(Tp - p.length).fill(0), ...p.map(() => 1)]);
      const ids = prompts.map((p) => [...Array<number>(Tp - p.length).fill(0), ...p]);
      const pos = prompts.map((p) => [...Array<number>(Tp - p.length).fill(0), ...p.map((_, t) => t)]);
      let out = await run(session, config, ids, mask, pos, null);
      const got: number[][] = prompts.map(() => []);
      for (let step = 0; step < steps; step++) {
        const S = out.logits.dims[1];
        const next = prompts.map((_, b) => argmaxRow(out.logits.data as Float32Array, b * S + S - 1, V));
        next.forEach((t, b) => got[b].push(t));
        mask = mask.map((m) => [...m, 1]);
        const positions = prompts.map((p) => [p.length + step]);
        const present = Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('present.')));
        out = await run(session, config, next.map((t) => [t]), mask, positions, present);
        expect(out['present.0.key'].dims[2]).toBe(Tp + step + 1);
      }
      expect(got).toEqual(engineTokens);
      engine.dispose();
    });
  }

  it('writes the transformers.js layout and a ModelProto with opset, inputs and outputs by name', async () => {
    const [, config] = configs[2];
    const weights = unpackWeights(config, weightsFor(config));
    const folder = memoryFolder();
    const tokenizer = new TextEncoder().encode('{}');
    await exportOnnxFolder(folder, config, weights, { rawConfig: { ...config, custom: 1 }, files: new Map([['tokenizer.json', tokenizer]]) });
    expect([...folder.files.keys()].sort()).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json']);
    expect(JSON.parse(new TextDecoder().decode(folder.files.get('config.json')))).toMatchObject({ model_type: 'qwen3', custom: 1, torch_dtype: 'float32' });
    const m = decodeModel(folder.files.get('onnx/model.onnx')!) as {
      opsetImport: { version: number }[]; graph: { input: { name: string }[]; output: { name: string }[]; node: { opType: string }[] };
    };
    expect(m.opsetImport[0].version).toBe(ONNX_OPSET);
    expect(m.graph.input.map((i) => i.name).slice(0, 4)).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']);
    expect(m.graph.output.map((o) => o.name)).toContain('logits');
    expect(m.graph.output.map((o) => o.name)).toContain('present.1.value');
    // only standard ONNX ops: any runtime opens it
    expect(new Set(m.graph.node.map((n) => n.opType))).not.toContain('SimplifiedLayerNormalization');
  });

  it('external data (a model over 2 GiB): weights in several data files give the inline export\'s logits', async () => {
    const [, config] = configs[2];
    const weights = unpackWeights(config, weightsFor(config));
    const inline = buildDecoderOnnx(config, weights);
    const split = buildDecoderOnnxFiles(config, weights, { external: true, chunkBytes: 8192 });
    expect(split.data.length).toBeGreaterThan(2);
    expect(split.model.length).toBeLessThan(inline.length / 2); // small tensors (< 1 KiB) stay inline
    for (const d of split.data) expect(d.length).toBeLessThanOrEqual(8192);
    const a = await ort.InferenceSession.create(inline);
    const b = await ort.InferenceSession.create(split.model, { externalData: split.data.map((data, i) => ({ path: dataFileName(i), data })) });
    const ids = [[1, 5, 9, 3, 7]];
    const ra = await run(a, config, ids, [[1, 1, 1, 1, 1]], [[0, 1, 2, 3, 4]], null);
    const rb = await run(b, config, ids, [[1, 1, 1, 1, 1]], [[0, 1, 2, 3, 4]], null);
    expect(Array.from(rb.logits.data as Float32Array)).toEqual(Array.from(ra.logits.data as Float32Array));
    // the folder says how many data files there are, as transformers.js needs
    const folder = memoryFolder();
    await exportOnnxFolder(folder, config, weights, { externalData: { external: true, chunkBytes: 8192 } });
    expect(folder.files.has(`onnx/${dataFileName(split.data.length - 1)}`)).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(folder.files.get('config.json')))['transformers.js_config']).toEqual({ use_external_data_format: { 'model.onnx': split.data.length } });
    expect(() => buildDecoderOnnxFiles(config, weights, { external: true, chunkBytes: 1024 })).toThrow(/larger than one data file/);
  });

  it('refuses by name: wrong weights, a model over one protobuf, files that are not tokenizer files', async () => {
    const [, config] = configs[0];
    const weights = unpackWeights(config, weightsFor(config));
    expect(() => buildDecoderOnnx(config, new Map([...weights].slice(1)))).toThrow(WeightsMismatchError);
    const huge = tinyConfig({ vocab_size: 151936, hidden_size: 4096, intermediate_size: 64, num_attention_heads: 32, num_key_value_heads: 8 });
    expect(() => buildDecoderOnnx(huge, new Map())).toThrow(OnnxExportError);
    await expect(exportOnnxFolder(memoryFolder(), config, weights, { files: new Map([['../evil.sh', new Uint8Array(1)]]) })).rejects.toThrow(OnnxExportError);
  });
});
