// The whole model on the CPU reference: gradients against finite differences (Llama with GQA and tied head;
// Qwen2 with q/k/v biases and an untied head; Qwen3 with per-head q/k norms and an explicit head_dim), gradient accumulation, and a tiny model overfitting a batch.
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import type { ModelConfig, TrainSequence } from '../../../src/engine/api.ts';
import { randn, rng } from './helpers.ts';

const batch: TrainSequence[] = [
  { tokens: [1, 5, 9, 3, 7, 11], completionStart: 2 },
  { tokens: [1, 4, 8, 2], completionStart: 1 }, // shorter: right-padded inside the batch
];

async function weightedLoss(config: ModelConfig, flat: Float32Array, w: number[][]): Promise<number> {
  const e = createCpuEngine(config, flat);
  const lp = await e.forwardLogprobs(batch);
  e.dispose();
  return lp.reduce((s, row, b) => s + row.reduce((t, x, i) => t + x * w[b][i], 0), 0);
}

// init: optional override of a tensor's initial values (norm gains start at exactly 1, which would leave
// a gain's own gradient check blind to a swapped weight/gain role)
async function gradCheck(config: ModelConfig, init?: (name: string, i: number) => number | undefined): Promise<void> {
  const flat = initWeights(config, 3, 0.15);
  if (init) {
    for (const t of createCpuEngine(config, flat).layout.tensors) {
      for (let i = 0; i < t.length; i++) flat[t.offset + i] = init(t.name, i) ?? flat[t.offset + i];
    }
  }
  const e = createCpuEngine(config, flat);
  const w = batch.map((s, b) => Array.from(randn(s.tokens.length - s.completionStart, 10 + b)));
  e.zeroGrads();
  await e.forwardLogprobs(batch);
  await e.backwardLogprobs(w);
  const grads = await e.readGrads();
  const r = rng(5);
  const h = 1e-2;
  let checked = 0;
  for (const t of e.layout.tensors) {
    // two entries from every tensor, so every parameter role (incl. biases, norms, head) is exercised
    for (let j = 0; j < 2; j++) {
      const i = t.offset + Math.floor(r() * t.length);
      const saved = flat[i];
      flat[i] = saved + h;
      const lp = await weightedLoss(config, flat, w);
      flat[i] = saved - h;
      const lm = await weightedLoss(config, flat, w);
      flat[i] = saved;
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - grads[i]);
      if (err > 3e-3 + 3e-2 * Math.max(Math.abs(fd), Math.abs(grads[i]))) {
        expect.fail(`${t.name}[${i - t.offset}]: analytic ${grads[i]} vs finite difference ${fd}`);
      }
      checked++;
    }
  }
  expect(checked).toBe(2 * e.layout.tensors.length);
  // the check must be able to fail: gradients are not all ~0
  expect(Math.max(...Array.from(grads, Math.abs))).toBeGreaterThan(0.05);
}

describe('whole-model gradient = finite differences (CPU reference)', () => {
  it('llama-style, grouped-query attention, tied embeddings', async () => {
    await gradCheck(tinyConfig({ vocab_size: 16, hidden_size: 8, intermediate_size: 12, num_attention_heads: 4, num_key_value_heads: 2 }));
  });

  it('qwen2-style: q/k/v biases, untied LM head', async () => {
    await gradCheck(tinyConfig({
      model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: 16, hidden_size: 8, intermediate_size: 12,
      num_attention_heads: 2, num_key_value_heads: 1, tie_word_embeddings: false, rope_theta: 1000000,
    }));
  });

  it('qwen3-style: per-head q/k RMSNorm, explicit head_dim (H * D != hidden), no biases', async () => {
    const config = tinyConfig({
      model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 16, hidden_size: 8, intermediate_size: 12,
      num_attention_heads: 2, num_key_value_heads: 1, head_dim: 6, rope_theta: 1000000,
    });
    expect(config.qk_norm).toBe(true);
    await gradCheck(config, (name, i) => (name.endsWith('q_norm.weight') || name.endsWith('k_norm.weight') ? 1 + 0.3 * Math.sin(i + 1) : undefined));
  });
});

describe('training on the CPU reference', () => {
  it('gradient accumulation over micro-batches equals one batch', async () => {
    const config = tinyConfig();
    const flat = initWeights(config, 1);
    const w = batch.map((s) => Array.from({ length: s.tokens.length - s.completionStart }, () => -0.25));
    const whole = createCpuEngine(config, flat);
    whole.zeroGrads();
    await whole.forwardLogprobs(batch);
    await whole.backwardLogprobs(w);
    const g1 = await whole.readGrads();
    const micro = createCpuEngine(config, flat);
    micro.zeroGrads();
    for (let b = 0; b < batch.length; b++) {
      await micro.forwardLogprobs([batch[b]]);
      await micro.backwardLogprobs([w[b]]);
    }
    const g2 = await micro.readGrads();
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < g1.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(g1[i] - g2[i]));
      maxAbs = Math.max(maxAbs, Math.abs(g1[i]));
    }
    expect(maxAbs).toBeGreaterThan(1e-3);
    expect(maxDiff).toBeLessThan(1e-5 + 1e-4 * maxAbs);
  });

  it('the LM head in chunks of rows (recomputed in backward) gives the same logprobs and gradients', async () => {
    const config = tinyConfig();
    const flat = initWeights(config, 6);
    const w = batch.map((s, b) => Array.from(randn(s.tokens.length - s.completionStart, 20 + b)));
    const run = async (logitRows?: number) => {
      const e = createCpuEngine(config, flat, { logitRows });
      e.zeroGrads();
      const lp = await e.forwardLogprobs(batch);
      await e.backwardLogprobs(w);
      return { lp, grads: await e.readGrads() };
    };
    const whole = await run();
    for (const rows of [1, 3]) {
      const chunked = await run(rows);
      expect(chunked.lp).toEqual(whole.lp);
      for (let i = 0; i < whole.grads.length; i++) expect(Math.abs(chunked.grads[i] - whole.grads[i])).toBeLessThan(1e-6);
    }
  });

  it('a tiny model overfits a fixed batch: next-token loss falls', async () => {
    const config = tinyConfig({ vocab_size: 24, hidden_size: 32, intermediate_size: 64 });
    const e = createCpuEngine(config, initWeights(config, 2));
    const data: TrainSequence[] = [
      { tokens: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23], completionStart: 1 },
      { tokens: [1, 4, 6, 8, 10, 12, 14, 16, 18, 20], completionStart: 1 },
    ];
    const n = data.reduce((s, d) => s + d.tokens.length - 1, 0);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      e.zeroGrads();
      const lp = await e.forwardLogprobs(data);
      losses.push(-lp.flat().reduce((a, b) => a + b, 0) / n);
      await e.backwardLogprobs(lp.map((row) => row.map(() => -1 / n)));
      const { gradNorm } = await e.optimizerStep({ lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
      expect(Number.isFinite(gradNorm)).toBe(true);
    }
    expect(losses[0]).toBeGreaterThan(Math.log(24) - 0.3);
    expect(losses.at(-1)!).toBeLessThan(0.3 * losses[0]);
    expect(e.steps).toBe(40);
  });

  it('clipping: the reported norm is pre-clip, and the update is bounded by lr', async () => {
    const config = tinyConfig();
    const flat = initWeights(config, 4);
    const e = createCpuEngine(config, flat);
    e.zeroGrads();
    await e.forwardLogprobs(batch);
    await e.backwardLogprobs(batch.map((s) => Array.from({ length: s.tokens.length - s.completionStart }, () => -100)));
    const grads = await e.readGrads();
    const norm = Math.sqrt(grads.reduce((s, g) => s + g * g, 0));
    const { gradNorm } = await e.optimizerStep({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
    expect(gradNorm).toBeCloseTo(norm, 2);
    const after = await e.readParams();
    let maxStep = 0;
    for (let i = 0; i < flat.length; i++) maxStep = Math.max(maxStep, Math.abs(after[i] - flat[i]));
    expect(maxStep).toBeLessThanOrEqual(1e-3 * 1.001);
    expect(maxStep).toBeGreaterThan(5e-4);
  });
});
