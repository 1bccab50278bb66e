// Reading a Hugging Face config.json into the ModelConfig the engine runs. Only Llama-style decoders
// (SmolLM2, Llama without rope scaling), Qwen2 (q/k/v biases) and Qwen3 (per-head q/k RMSNorm, explicit
// head_dim, no biases) are accepted: anything else fails here with a named error rather than producing a
// model that silently computes something different.

import type { ModelConfig } from './api.ts';
import { ConfigError, UnsupportedModelError } from './errors.ts';

const SUPPORTED = new Set(['llama', 'qwen2', 'qwen3']);

function int(raw: Record<string, unknown>, key: string, min = 1): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`config.json: "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(`config.json: "${key}" must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validates a parsed config.json (or a ModelConfig built in code) and fills the defaults HF would use. */
export function parseConfig(json: unknown): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('config.json must be a JSON object');
  const raw = json as Record<string, unknown>;
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') throw new ConfigError('config.json: "model_type" is missing');
  if (!SUPPORTED.has(modelType)) {
    throw new UnsupportedModelError(`model_type "${modelType}" is not supported (supported: ${[...SUPPORTED].join(', ')})`);
  }
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    throw new UnsupportedModelError(`rope_scaling ${JSON.stringify(raw.rope_scaling)} is not supported`);
  }
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') {
    throw new UnsupportedModelError(`hidden_act "${String(raw.hidden_act)}" is not supported (only silu)`);
  }
  if (raw.mlp_bias === true) throw new UnsupportedModelError('mlp_bias is not supported');
  // Llama's attention_bias also puts a bias on o_proj, which this engine does not have (Qwen2's does not).
  if (modelType === 'llama' && raw.attention_bias === true) {
    throw new UnsupportedModelError('llama with attention_bias (q/k/v/o biases) is not supported; qwen2-style q/k/v biases are');
  }
  // Qwen3's attention_bias would also bias o_proj, like Llama's; its released checkpoints have none.
  if (modelType === 'qwen3' && raw.attention_bias === true) {
    throw new UnsupportedModelError('qwen3 with attention_bias (q/k/v/o biases) is not supported');
  }
  if (raw.use_sliding_window === true) throw new UnsupportedModelError('sliding-window attention is not supported');

  const hidden = int(raw, 'hidden_size');
  const heads = int(raw, 'num_attention_heads');
  const kvHeads = raw.num_key_value_heads === undefined ? heads : int(raw, 'num_key_value_heads');
  if (heads % kvHeads !== 0) throw new ConfigError(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? hidden / heads : int(raw, 'head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new ConfigError(`head dim ${headDim} (hidden_size / num_attention_heads) must be an even integer`);
  }
  const tie = raw.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') throw new ConfigError('config.json: "tie_word_embeddings" must be a boolean');
  // Qwen2 always has q/k/v biases (its config does not say so).
  const bias = modelType === 'qwen2';
  // Qwen3 normalises every query and key head (RMSNorm over head_dim, one gain per dim) before RoPE.
  const qkNorm = modelType === 'qwen3';

  const config: ModelConfig = {
    model_type: modelType,
    vocab_size: int(raw, 'vocab_size'),
    hidden_size: hidden,
    intermediate_size: int(raw, 'intermediate_size'),
    num_hidden_layers: int(raw, 'num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    max_position_embeddings: int(raw, 'max_position_embeddings'),
    rope_theta: num(raw, 'rope_theta', 10000),
    rms_norm_eps: num(raw, 'rms_norm_eps', 1e-6),
    tie_word_embeddings: tie,
    attention_bias: bias,
    qk_norm: qkNorm,
  };
  if (Array.isArray(raw.architectures)) config.architectures = raw.architectures.map(String);
  for (const key of ['bos_token_id', 'eos_token_id'] as const) {
    const v = raw[key];
    if (typeof v === 'number' || v === null || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
      (config as unknown as Record<string, unknown>)[key] = v;
    }
  }
  if (typeof raw.torch_dtype === 'string') config.torch_dtype = raw.torch_dtype;
  return config;
}

/** head dim of a parsed config */
export function headDim(config: ModelConfig): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}

/** eos ids as a list (config.json allows a number, a list or null) */
export function eosTokens(config: ModelConfig): number[] {
  const e = config.eos_token_id;
  return e === undefined || e === null ? [] : Array.isArray(e) ? e : [e];
}

/** A tiny Llama-style config for tests and demos; GQA by default. */
export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return parseConfig({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 32,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rope_theta: 10000,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
    ...overrides,
  });
}

/** SmolLM2-135M's shape (values from its published config.json), for benchmarks with random weights. */
export function smolLM2_135MConfig(): ModelConfig {
  return parseConfig({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 49152,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    max_position_embeddings: 8192,
    rope_theta: 100000,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: 0,
  });
}

/** Qwen2.5-0.5B's shape (values from its published config.json), for memory estimates and benchmarks. */
export function qwen25_05BConfig(): ModelConfig {
  return parseConfig({
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: 151936,
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    max_position_embeddings: 32768,
    rope_theta: 1000000,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    bos_token_id: 151643,
    eos_token_id: 151643,
  });
}
