// The teacher-forced logits scorer agrees with the engine's own forwardLogprobs (log-softmax of its rows at
// the targets), on a model with biases and untied head too, and refuses bad input with named errors.
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { createCpuLogitsScorer } from '../../../src/engine/logits.ts';
import { ShapeError, TokenRangeError } from '../../../src/engine/errors.ts';

const qwen = tinyConfig({
  model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], attention_bias: true, tie_word_embeddings: false,
  vocab_size: 37, hidden_size: 24, intermediate_size: 28, num_attention_heads: 4, num_key_value_heads: 1, num_hidden_layers: 3,
});

describe('createLogitsScorer', () => {
  for (const [name, config] of [['llama', tinyConfig()], ['qwen2', qwen]] as const) {
    it(`${name}: log-softmax of its rows equals forwardLogprobs`, async () => {
      const w = initWeights(config, 3, 0.3);
      const engine = createCpuEngine(config, w), scorer = createCpuLogitsScorer(config, w);
      const V = config.vocab_size;
      const batch = [{ tokens: [1, 5, 9, 13, 2, 7], completionStart: 2 }, { tokens: [1, 7, 3], completionStart: 1 }, { tokens: [4, 4], completionStart: 2 }];
      const want = await engine.forwardLogprobs(batch);
      const got = await scorer.completionLogits(batch);
      batch.forEach((s, b) => {
        expect(got[b].length).toBe((s.tokens.length - s.completionStart) * V);
        want[b].forEach((lp, t) => {
          const row = got[b].subarray(t * V, (t + 1) * V);
          const max = Math.max(...row);
          const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
          expect(Math.abs(row[s.tokens[s.completionStart + t]] - lse - lp)).toBeLessThan(1e-5);
        });
      });
      await expect(scorer.completionLogits([])).rejects.toThrow(ShapeError);
      await expect(scorer.completionLogits([{ tokens: [1, V], completionStart: 1 }])).rejects.toThrow(TokenRangeError);
      await expect(scorer.completionLogits([{ tokens: [1, 2], completionStart: 0 }])).rejects.toThrow(ShapeError);
      scorer.dispose();
      await expect(scorer.completionLogits(batch)).rejects.toThrow(ShapeError);
      engine.dispose();
    });
  }
});
