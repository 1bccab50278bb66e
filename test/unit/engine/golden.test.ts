// Golden parity: HF folders and expected outputs made by an independent float64 numpy implementation of the
// Hugging Face Llama / Qwen2 / Qwen3 forward (golden/make_golden.py), read through our safetensors reader (the files
// were written by Python, in reverse-sorted layout, F32 and BF16). Catches convention errors that a
// self-consistent gradient check cannot: RoPE layout, GQA head mapping, norms (Qwen3's per-head q/k norms), biases, tied/untied heads.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { loadHfModel } from '../../../src/engine/hf.ts';
import { dirSource } from '../../../src/engine/hf-node.ts';

interface Expected {
  sequences: number[][];
  logprobs: number[][];
  prompt: number[];
  greedy: number[];
}

for (const name of ['llama-gqa-f32', 'qwen2-bias-untied-bf16', 'qwen3-qknorm-headdim-f32']) {
  describe(`golden ${name}`, () => {
    const dir = fileURLToPath(new URL(`./golden/${name}/`, import.meta.url));
    const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as Expected;

    it('token logprobs of a batch of unequal sequences match the float64 reference', async () => {
      const model = await loadHfModel(dirSource(dir));
      const e = createCpuEngine(model.config, model.flat);
      const got = await e.forwardLogprobs(expected.sequences.map((tokens) => ({ tokens, completionStart: 1 })));
      let maxErr = 0;
      got.forEach((row, b) => row.forEach((x, t) => (maxErr = Math.max(maxErr, Math.abs(x - expected.logprobs[b][t])))));
      expect(got.map((r) => r.length)).toEqual(expected.logprobs.map((r) => r.length));
      expect(maxErr).toBeLessThan(2e-4);
    });

    it('greedy decoding with the KV cache reproduces the reference continuation', async () => {
      const model = await loadHfModel(dirSource(dir));
      const e = createCpuEngine(model.config, model.flat);
      const s = await e.sample([expected.prompt], { maxNewTokens: expected.greedy.length, temperature: 0, seed: 0, stopTokens: [] });
      expect(s.tokens[0]).toEqual(expected.greedy);
    });
  });
}
