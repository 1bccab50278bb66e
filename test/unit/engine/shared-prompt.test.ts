// The shared-prompt scorer (each prompt once, completions packed) gives the logits of the padded batch and of
// each row scored alone, on Llama, Qwen2 (biases, untied head) and Qwen3 (q/k norms) shapes, with rows that
// share prompts, prompts of different lengths, one-token and empty completions.
import { describe, expect, it } from 'vitest';
import { tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { SHARED_CHUNK_TOKENS, createCpuLogitsScorer } from '../../../src/engine/logits.ts';
import type { TrainSequence } from '../../../src/engine/api.ts';

const configs = {
  llama: tinyConfig(),
  qwen2: tinyConfig({
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], attention_bias: true, tie_word_embeddings: false,
    vocab_size: 37, hidden_size: 24, intermediate_size: 28, num_attention_heads: 4, num_key_value_heads: 1, num_hidden_layers: 3,
  }),
  qwen3: tinyConfig({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], qk_norm: true, head_dim: 8 }),
};

function batchFor(V: number): TrainSequence[] {
  const t = (xs: number[]) => xs.map((x) => x % V);
  const p1 = t([1, 5, 9, 13]), p2 = t([1, 7]), p3 = t([3, 3, 4, 8, 11, 2, 6]);
  return [
    { tokens: [...p1, ...t([2, 7, 7, 1])], completionStart: p1.length },
    { tokens: [...p2, ...t([4])], completionStart: p2.length },
    { tokens: [...p1, ...t([6, 3])], completionStart: p1.length },
    { tokens: [...p3, ...t([9, 9, 9, 9, 9, 10])], completionStart: p3.length },
    { tokens: [...p2], completionStart: p2.length },
    { tokens: [...p1, ...t([2, 7, 8])], completionStart: p1.length },
    { tokens: [...p2, ...t([5, 12, 3])], completionStart: p2.length },
  ];
}

describe('shared-prompt logits', () => {
  for (const [name, config] of Object.entries(configs)) {
    it(`${name}: equal to the padded batch and to each row alone`, async () => {
      const w = initWeights(config, 5, 0.4);
      const shared = createCpuLogitsScorer(config, w), padded = createCpuLogitsScorer(config, w, { strategy: 'padded' });
      const batch = batchFor(config.vocab_size);
      const got = await shared.completionLogits(batch);
      const want = await padded.completionLogits(batch);
      const alone = await Promise.all(batch.map(async (s) => (await padded.completionLogits([s]))[0]));
      let maxDelta = 0, values = 0;
      batch.forEach((s, b) => {
        expect(got[b].length).toBe((s.tokens.length - s.completionStart) * config.vocab_size);
        expect(want[b].length).toBe(got[b].length);
        got[b].forEach((x, j) => {
          expect(Number.isFinite(x)).toBe(true);
          maxDelta = Math.max(maxDelta, Math.abs(x - want[b][j]), Math.abs(x - alone[b][j]));
          values++;
        });
      });
      expect(values).toBeGreaterThan(15 * config.vocab_size);
      expect(maxDelta).toBeLessThan(1e-5);
      shared.dispose();
      padded.dispose();
    });
  }

  it('a batch over SHARED_CHUNK_TOKENS goes through in chunks with the same logits', async () => {
    const config = configs.llama, w = initWeights(config, 9, 0.4), V = config.vocab_size;
    const shared = createCpuLogitsScorer(config, w), padded = createCpuLogitsScorer(config, w, { strategy: 'padded' });
    // 120 rows of 40 tokens: 4,800 > 4,096, so the question split across the chunk boundary runs its prompt twice
    const batch = Array.from({ length: 120 }, (_, i) => {
      const prompt = [1, 3 + (i >> 3), 7, 5 + (i % 3)].map((x) => x % V);
      return { tokens: [...prompt, ...Array.from({ length: 36 }, (_, t) => (i * 7 + t * 3) % V)], completionStart: prompt.length };
    });
    expect(batch.reduce((n, s) => n + s.tokens.length, 0)).toBeGreaterThan(SHARED_CHUNK_TOKENS);
    const got = await shared.completionLogits(batch), want = await padded.completionLogits(batch);
    let maxDelta = 0;
    got.forEach((row, b) => {
      expect(row.length).toBe(36 * V);
      row.forEach((x, j) => (maxDelta = Math.max(maxDelta, Math.abs(x - want[b][j]))));
    });
    expect(maxDelta).toBeLessThan(1e-5);
    shared.dispose();
    padded.dispose();
  });

  it('a different prompt gives different logits (the prompt is really used)', async () => {
    const config = configs.llama, w = initWeights(config, 5, 0.4);
    const s = createCpuLogitsScorer(config, w);
    const [a, b] = await s.completionLogits([{ tokens: [1, 5, 9, 2, 7], completionStart: 3 }, { tokens: [1, 6, 9, 2, 7], completionStart: 3 }]);
    let diff = 0;
    a.forEach((x, j) => (diff = Math.max(diff, Math.abs(x - b[j]))));
    expect(diff).toBeGreaterThan(1e-3);
    s.dispose();
  });
});
