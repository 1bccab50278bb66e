// Test doubles for the code AROUND the engine (runner plumbing): a character tokenizer and a scripted
// engine that replays given completions and records what it was asked. Real-engine behaviour is tested
// in engine-grpo.test.ts.
import type { AdamWConfig, Engine, ModelConfig, OptimizerState, SampleOptions, SampleResult, TrainSequence } from '../../../src/engine/api.ts';
import type { TextTokenizer } from '../../../src/rl/format.ts';
import { paramLayout, unpackWeights } from '../../../src/engine/layout.ts';

export const charTokenizer: TextTokenizer = {
  bosId: 1,
  eosId: 2,
  encode: (text) => [...text].map((c) => Math.min(c.codePointAt(0) ?? 3, 127)),
  decode: (ids) => ids.filter((i) => i >= 3).map((i) => String.fromCharCode(i)).join(''),
};

export class ScriptedEngine implements Engine {
  readonly backend = 'cpu' as const;
  readonly config: ModelConfig = {
    model_type: 'llama', vocab_size: 128, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1,
    num_attention_heads: 1, num_key_value_heads: 1, max_position_embeddings: 256, rope_theta: 10000,
    rms_norm_eps: 1e-5, tie_word_embeddings: true,
  };
  sampleCalls: { prompts: number[][]; options: SampleOptions }[] = [];
  trained: TrainSequence[] = [];
  dLogprobs: number[][] = [];
  steps = 0;
  /** runs inside sample / forwardLogprobs before they answer (tests abort a round from here) */
  duringSample?: () => void | Promise<void>;
  duringForward?: () => void | Promise<void>;

  /** completion text for a decoded prompt and row index */
  constructor(private readonly answer: (prompt: string, row: number) => string) {}

  async sample(prompts: number[][], options: SampleOptions): Promise<SampleResult> {
    this.sampleCalls.push({ prompts, options });
    await this.duringSample?.();
    // like the real engine, which checks between decode steps
    if (options.signal?.aborted) throw new DOMException('sampling aborted', 'AbortError');
    const tokens = prompts.map((p, row) => [...charTokenizer.encode(this.answer(charTokenizer.decode(p), row)), charTokenizer.eosId]);
    return { tokens, logprobs: tokens.map((t) => t.map(() => -0.5)), finish: tokens.map(() => 'stop' as const) };
  }
  async forwardLogprobs(batch: TrainSequence[]): Promise<number[][]> {
    this.trained.push(...batch);
    await this.duringForward?.();
    return batch.map((s) => s.tokens.slice(s.completionStart).map(() => -0.5));
  }
  async backwardLogprobs(d: number[][]): Promise<void> {
    this.dLogprobs.push(...d);
  }
  zeroGrads(): void {}
  /** the learning rate of each optimizer step */
  lrs: number[] = [];
  async optimizerStep(config: AdamWConfig): Promise<{ gradNorm: number }> {
    this.steps++;
    this.lrs.push(config.lr);
    return { gradNorm: 1 };
  }
  async exportOptimizerState(): Promise<OptimizerState> {
    return { m: new Float32Array(0), v: new Float32Array(0), steps: this.steps };
  }
  async importOptimizerState(state: OptimizerState): Promise<void> {
    this.steps = state.steps;
  }
  /** zeros in the config's layout: enough for the runner to hash "the weights" it commits to */
  async exportWeights() {
    return unpackWeights(this.config, new Float32Array(paramLayout(this.config).size));
  }
  dispose(): void {}
}
