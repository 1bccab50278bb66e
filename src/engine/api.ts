// What the rest of tabswarm (the RL core, the worker) sees of the engine. Backend-independent: the same
// interface is served by the CPU reference and by WebGPU. Token sequences are plain arrays at this level.

/** The subset of a Hugging Face config.json the engine reads (Llama / Qwen2 / Qwen3 / SmolLM2 families). */
export interface ModelConfig {
  architectures?: string[];
  model_type: string; // 'llama' | 'qwen2' | ...
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim?: number;
  max_position_embeddings: number;
  rope_theta: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  /** Qwen2 has q/k/v biases; Llama does not (attention_bias false) */
  attention_bias?: boolean;
  /** Qwen3: RMSNorm (weights q_norm / k_norm, shape head_dim) on each query and key head before RoPE */
  qk_norm?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  torch_dtype?: string;
}

export interface SampleOptions {
  maxNewTokens: number;
  temperature: number; // 0 = greedy
  topP?: number; // default 1
  topK?: number; // default 0 = off
  /** uint32; same seed + same backend + same weights => same tokens */
  seed: number;
  stopTokens: number[];
  /**
   * Checked between decode steps (the engine also yields to the event loop there so a pause or stop message
   * can arrive): once aborted, sample rejects with an AbortError DOMException and frees its buffers.
   */
  signal?: AbortSignal;
}

export interface SampleResult {
  /** generated tokens per prompt, stop token included when one ended the row */
  tokens: number[][];
  /** log p(token) under the sampling distribution's underlying model (temperature-1 logits), per token */
  logprobs: number[][];
  finish: ('stop' | 'length')[];
}

/** A training micro-batch: prompt + completion token sequences with per-token weights. */
export interface TrainSequence {
  tokens: number[];
  /** index of the first completion token; only positions >= completionStart are scored */
  completionStart: number;
}

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this (0 = no clipping) */
  maxGradNorm: number;
}

export interface OptimizerState {
  m: Float32Array;
  v: Float32Array;
  steps: number;
}

export interface Engine {
  readonly backend: 'cpu' | 'webgpu';
  readonly config: ModelConfig;
  /** batched generation with a KV cache */
  sample(prompts: number[][], options: SampleOptions): Promise<SampleResult>;
  /**
   * Forward pass; returns, per sequence, the logprob of each completion token (length = tokens.length -
   * completionStart), and keeps what backward needs.
   */
  forwardLogprobs(batch: TrainSequence[]): Promise<number[][]>;
  /**
   * Backward of sum_b sum_t dLogprobs[b][t] * logprob[b][t] for the last forwardLogprobs, ACCUMULATING into
   * the gradients (call several times for gradient accumulation over micro-batches).
   */
  backwardLogprobs(dLogprobs: number[][]): Promise<void>;
  zeroGrads(): void;
  /** AdamW over all parameters with global-norm clipping; returns the pre-clip gradient norm */
  optimizerStep(config: AdamWConfig): Promise<{ gradNorm: number }>;
  /**
   * Adam's moments (flat, paramLayout order) and the step count (bias correction), copied out; zeros and
   * 0 steps before the first training call.
   */
  exportOptimizerState(): Promise<OptimizerState>;
  /** restores what exportOptimizerState gave; a length mismatch is a named error and changes nothing */
  importOptimizerState(state: OptimizerState): Promise<void>;
  /** weights under their Hugging Face names */
  exportWeights(): Promise<Map<string, { shape: number[]; data: Float32Array }>>;
  dispose(): void;
}
