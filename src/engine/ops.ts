// The op set the model is written against. One model (forward, backward, sampling, AdamW) runs on two
// backends: the CPU reference (F = Float32Array, I = Int32Array) and WebGPU (F and I are views into GPU
// buffers; calls record dispatches into the current command encoder and run at flush()).
//
// Conventions (llm.c style):
//  - argument order: outputs, inputs, weights, then dims;
//  - every tensor is row-major f32 (ints are i32) and passed as a View: a buffer plus an element offset;
//  - a shape comment on every argument; "+=" marks an output that ACCUMULATES (backward into grads);
//    every other output is overwritten. Zeroing grads is an explicit `zero` call.
//  - Linear layers follow Hugging Face: weight W is (out, in) and y = x Wᵀ (+ b).

export interface View<Buf> {
  buffer: Buf;
  /** element offset into buffer */
  offset: number;
  /** element count */
  length: number;
}

export interface MatmulOptions {
  /** a is stored (K,M) and used transposed. */
  transA?: boolean;
  /** b is stored (N,K) and used transposed (y = x Wᵀ for HF weights). */
  transB?: boolean;
  /** out += result instead of out = result. */
  accumulate?: boolean;
}

export interface AttentionDims {
  B: number; // batch
  T: number; // sequence length (queries and keys)
  H: number; // query heads
  Hkv: number; // key/value heads; H % Hkv === 0 (grouped-query attention)
  D: number; // head dim
}

export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
  /** multiply grads by this before the update (global-norm clipping: min(1, maxNorm / norm)) */
  gradScale: number;
}

/** The token-choice rule of sampling.ts: temperature 0 is greedy; topK 0 / topP 1 switch a filter off. */
export interface SamplerParams {
  temperature: number;
  topK?: number;
  topP?: number;
}

/** sampleTokens writes this token for a row it leaves to the caller (the GPU's candidate list overflowed) */
export const TOKEN_CHOOSE_ON_CPU = -1;
/** sampleTokens writes this token for a row with non-finite logits */
export const TOKEN_NON_FINITE = -2;

export interface Ops<F, I> {
  readonly backend: 'cpu' | 'webgpu';

  // ---- memory -------------------------------------------------------------------------------------------
  allocF32(length: number, label: string): View<F>; // zero-filled
  allocI32(length: number, label: string): View<I>; // zero-filled
  writeF32(dst: View<F>, data: Float32Array): void;
  writeI32(dst: View<I>, data: Int32Array): void;
  readF32(src: View<F>): Promise<Float32Array>; // waits for recorded work (GPU) first
  readI32(src: View<I>): Promise<Int32Array>; // the same for ints (packed halves)
  view<T extends F | I>(parent: View<T>, offset: number, length: number): View<T>; // sub-view, offset relative to parent
  zero(dst: View<F>): void;
  copy(dst: View<F>, src: View<F>): void;
  /** submit recorded work (GPU); no-op on CPU */
  flush(): void;
  /**
   * Throws the named error for a fault of the work done since the last check (GPU: device lost, an
   * allocation out of memory, validation errors); absent on the CPU, where faults throw where they happen.
   */
  checkFaults?(): Promise<void>;
  free(v: View<F> | View<I>): void;

  // ---- layers -------------------------------------------------------------------------------------------
  /** out(M,N) = op(a) op(b); a (M,K) or (K,M) with transA; b (K,N) or (N,K) with transB */
  matmul(out: View<F>, a: View<F>, b: View<F>, M: number, N: number, K: number, options?: MatmulOptions): void;
  /**
   * out(M,N) (+)= x (M,K) Wᵀ where W (N,K) is stored as f16: w holds (N, K/2) words of packed halves
   * (half.ts packHalves), K even; f32 arithmetic. For frozen weights kept at half the bytes.
   */
  matmulHalfWeights(out: View<F>, x: View<F>, w: View<I>, M: number, N: number, K: number, options?: { accumulate?: boolean }): void;
  /**
   * dx (M,K) (+)= dy (M,N) W, W (N,K) stored as matmulHalfWeights has it: the input gradient through a
   * frozen f16 weight (its own gradient is never needed); f32 arithmetic.
   */
  matmulHalfWeightsBackward(dx: View<F>, dy: View<F>, w: View<I>, M: number, N: number, K: number, options?: { accumulate?: boolean }): void;
  /** out (M,N) += bias (N) broadcast over rows */
  addBias(out: View<F>, bias: View<F>, M: number, N: number): void;
  /** dBias (N) += column sums of dOut (M,N) */
  biasBackward(dBias: View<F>, dOut: View<F>, M: number, N: number): void;
  /** out (N,C) = table[tokens] ; tokens (N), table (V,C) */
  embeddingForward(out: View<F>, tokens: View<I>, table: View<F>, N: number, C: number): void;
  /** dTable (V,C) += scatter of dOut (N,C) by tokens (N); deterministic, no float atomics */
  embeddingBackward(dTable: View<F>, dOut: View<F>, tokens: View<I>, N: number, C: number, V: number): void;
  /** out (N,C) = x / rms(x) * weight ; rstd (N) saved for backward */
  rmsnormForward(out: View<F>, rstd: View<F>, x: View<F>, weight: View<F>, N: number, C: number, eps: number): void;
  /** dx (N,C) += ..., dWeight (C) += ... */
  rmsnormBackward(dx: View<F>, dWeight: View<F>, dOut: View<F>, x: View<F>, weight: View<F>, rstd: View<F>, N: number, C: number): void;
  /** in place on x (B,T,Hn,D), rotate-half (Llama/HF) convention; positions (B,T) */
  ropeForward(x: View<F>, positions: View<I>, B: number, T: number, Hn: number, D: number, theta: number): void;
  /** in place on dx (B,T,Hn,D): the inverse rotation */
  ropeBackward(dx: View<F>, positions: View<I>, B: number, T: number, Hn: number, D: number, theta: number): void;
  /**
   * Elements of the `att` state attentionForward keeps for attentionBackward at these dims: the (B,H,T,T)
   * softmax probabilities (CPU reference, 'cpu' kernel family), or for flash kernels only each row's
   * log-sum-exp (B,H,T) and the key mask (B,T). Activation tables size their `att` row from it.
   */
  attentionStateSize(dims: AttentionDims): number;
  /**
   * causal self-attention with GQA. out (B,T,H,D); att (attentionStateSize) what the backward needs;
   * q (B,T,H,D), k (B,T,Hkv,D), v (B,T,Hkv,D); keyMask (B,T) 1 = real token, 0 = padding (never attended).
   */
  attentionForward(out: View<F>, att: View<F>, q: View<F>, k: View<F>, v: View<F>, keyMask: View<F>, dims: AttentionDims): void;
  /** dq, dk, dv overwritten (same shapes as q, k, v) */
  attentionBackward(dq: View<F>, dk: View<F>, dv: View<F>, dOut: View<F>, att: View<F>, q: View<F>, k: View<F>, v: View<F>, dims: AttentionDims): void;
  /**
   * one decode step against a KV cache: out (B,H,D); q (B,H,D); kCache, vCache (B,S,Hkv,D) where S is the
   * cache capacity; keyMask (B,S) 1 for filled, attendable positions (the current token's k/v already written).
   */
  attentionDecode(out: View<F>, q: View<F>, kCache: View<F>, vCache: View<F>, keyMask: View<F>, B: number, S: number, H: number, Hkv: number, D: number): void;
  /** write k (B,1,Hkv,D) (or v) into cache (B,S,Hkv,D) at per-row position pos (B) */
  cacheWrite(cache: View<F>, kv: View<F>, pos: View<I>, B: number, S: number, Hkv: number, D: number): void;
  /** out (N,I) = silu(gate) * up */
  swigluForward(out: View<F>, gate: View<F>, up: View<F>, N: number, I: number): void;
  /** dGate, dUp (N,I) overwritten */
  swigluBackward(dGate: View<F>, dUp: View<F>, dOut: View<F>, gate: View<F>, up: View<F>, N: number, I: number): void;
  /** out = a + b, n elements (residual); out may alias a */
  add(out: View<F>, a: View<F>, b: View<F>, n: number): void;
  /** out += a, n elements */
  accumulate(out: View<F>, a: View<F>, n: number): void;

  // ---- objective ----------------------------------------------------------------------------------------
  /** logprobs (N) = log softmax(logits (N,V))[targets (N)]; lse (N) saved for backward */
  logprobsForward(logprobs: View<F>, lse: View<F>, logits: View<F>, targets: View<I>, N: number, V: number): void;
  /** dLogits (N,V) = dLogprobs[n] * (onehot(target) - softmax(logits)) ; overwritten */
  logprobsBackward(dLogits: View<F>, dLogprobs: View<F>, logits: View<F>, lse: View<F>, targets: View<I>, N: number, V: number): void;

  /**
   * One token per row of logits (B,V) by the rule of sampling.ts chooseToken, each row with its own uniform
   * draw: draws (B) holds the draw's raw 32 bits (u = bits / 2^32, as createRng makes it). choice (B,2) =
   * (token, logprob of it under the unmodified distribution); next (B) = the token (the next decode step's
   * input). A row may get TOKEN_CHOOSE_ON_CPU (GPU) or TOKEN_NON_FINITE as its token.
   */
  sampleTokens(choice: View<F>, next: View<I>, logits: View<F>, draws: View<I>, B: number, V: number, o: SamplerParams): void;

  // ---- optimizer ----------------------------------------------------------------------------------------
  /** sum of squares of x (n), resolved on read; for global-norm clipping */
  sumSquares(out: View<F>, x: View<F>, n: number): void;
  /**
   * one AdamW step over flat params/grads/m/v (n); decoupled weight decay applied inside the decay ranges:
   * decay (ranges, 2) holds [start, end) element ranges, sorted, disjoint, within [0, n) (layout.ts decayRanges)
   */
  adamw(params: View<F>, grads: View<F>, m: View<F>, v: View<F>, decay: View<I>, n: number, ranges: number, p: AdamWParams): void;
}
