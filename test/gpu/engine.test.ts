// The one generic engine on WebGPU against the same engine on the CPU reference, on tiny configs: token
// logprobs, gradients, an AdamW step, a fixed batch overfitted step by step, greedy decoding, and the named
// error for a model that does not fit the device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import type { GpuContext } from '../../src/engine/device.ts';
import { createCpuEngine } from '../../src/engine/cpu/index.ts';
import { bindingBytesFor, createGpuEngine, type KernelFamily } from '../../src/engine/gpu/index.ts';
import { smolLM2_135MConfig, tinyConfig } from '../../src/engine/config.ts';
import { paramLayout } from '../../src/engine/layout.ts';
import { initWeights } from '../../src/engine/init.ts';
import { initLora, loraParamCount } from '../../src/engine/lora.ts';
import { ModelTooLargeError } from '../../src/engine/errors.ts';
import type { AdamWConfig, ModelConfig, TrainSequence } from '../../src/engine/api.ts';

const llama = tinyConfig({ vocab_size: 40, hidden_size: 24, intermediate_size: 40, num_attention_heads: 6, num_key_value_heads: 2 });
const qwen = tinyConfig({
  model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], attention_bias: true, tie_word_embeddings: false,
  vocab_size: 37, hidden_size: 24, intermediate_size: 28, num_attention_heads: 4, num_key_value_heads: 1, num_hidden_layers: 3,
});
// H * D = 32 != hidden 24, as in Qwen3-0.6B (16 heads x 128 vs 1024)
const qwen3 = tinyConfig({
  model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 41, hidden_size: 24, intermediate_size: 36,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rope_theta: 1000000,
});
const batch: TrainSequence[] = [
  { tokens: [1, 5, 9, 13, 2, 7, 30, 4], completionStart: 3 },
  { tokens: [1, 7, 22, 3, 11], completionStart: 2 },
  { tokens: [1, 19, 8], completionStart: 1 },
];
const adam: AdamWConfig = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };

function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  expect(got.length).toBe(want.length);
  return err / Math.max(scale, 1e-30);
}

const flat = (rows: number[][]) => rows.flat();
let context: GpuContext | null = null;
const gpu = () => {
  if (!context) throw new Error('no GPU context (beforeAll failed)');
  return context;
};
beforeAll(async () => {
  context = await getTestGpu();
});

describe.each(['cpu', 'gpu'] as KernelFamily[])('WebGPU engine (%s kernel family) agrees with the CPU engine', (kernels) => {
  let gpu: GpuContext;
  beforeAll(async () => {
    gpu = await getTestGpu();
  });

  const configs = [['llama (tied, GQA 6/2)', llama], ['qwen2 (q/k/v bias, untied, MQA)', qwen], ['qwen3 (q/k head norms, head_dim 8)', qwen3]];
  for (const [name, config] of configs as [string, ModelConfig][]) {
    it(`${name}: logprobs, gradients and one AdamW step`, async () => {
      const weights = initWeights(config, 7, 0.2);
      const cpu = createCpuEngine(config, weights);
      const g = await createGpuEngine(gpu, config, weights, { kernels });
      try {
        const lpC = await cpu.forwardLogprobs(batch.map((s) => ({ ...s, tokens: s.tokens.map((t) => t % config.vocab_size) })));
        const lpG = await g.forwardLogprobs(batch.map((s) => ({ ...s, tokens: s.tokens.map((t) => t % config.vocab_size) })));
        expect(lpG.map((r) => r.length)).toEqual(lpC.map((r) => r.length));
        expect(maxRelError(flat(lpG), flat(lpC))).toBeLessThan(1e-5);

        const d = lpC.map((r, b) => r.map((_, t) => ((b + 1) * (t % 3 === 0 ? -1 : 0.5)) / 4));
        cpu.zeroGrads();
        g.zeroGrads();
        await cpu.backwardLogprobs(d);
        await g.backwardLogprobs(d);
        const gradC = await cpu.readGrads();
        const gradG = await g.readGrads();
        expect(Math.max(...gradC.map(Math.abs))).toBeGreaterThan(0);
        expect(maxRelError(gradG, gradC)).toBeLessThan(1e-4);

        const stepC = await cpu.optimizerStep(adam);
        const stepG = await g.optimizerStep(adam);
        expect(Math.abs(stepG.gradNorm - stepC.gradNorm) / stepC.gradNorm).toBeLessThan(1e-4);
        const pC = await cpu.readParams();
        const pG = await g.readParams();
        // Adam normalises each gradient, so where a gradient is ~0 a tiny backend difference moves the
        // update by a visible fraction of lr: compare against the step size, not the weights
        let worst = 0;
        for (let i = 0; i < pC.length; i++) worst = Math.max(worst, Math.abs(pG[i] - pC[i]));
        expect(worst).toBeLessThan(0.05 * adam.lr);
        // the step moved the weights
        expect(maxRelError(pC, weights)).toBeGreaterThan(1e-3);
        // every table row starts on 64 elements: no binding went through a temporary copy
        expect(Object.fromEntries(g.ops.recorder.aliasCopiesByKernel)).toEqual({});
      } finally {
        cpu.dispose();
        g.dispose();
      }
    });
  }

  it('overfits a fixed batch on both backends, matching step by step', async () => {
    const weights = initWeights(llama, 3, 0.1);
    const cpu = createCpuEngine(llama, weights);
    const g = await createGpuEngine(gpu, llama, weights, { kernels });
    const losses: [number, number][] = [];
    try {
      for (let step = 0; step < 12; step++) {
        const pair: number[] = [];
        for (const e of [cpu, g]) {
          e.zeroGrads();
          const lp = await e.forwardLogprobs(batch);
          const n = flat(lp).length;
          pair.push(-flat(lp).reduce((a, b) => a + b, 0) / n);
          // loss = -mean(logprob): dLoss/dlogprob = -1/n
          await e.backwardLogprobs(lp.map((r) => r.map(() => -1 / n)));
          await e.optimizerStep({ ...adam, lr: 3e-2, weightDecay: 0 });
        }
        losses.push([pair[0], pair[1]]);
      }
      for (const [c, w] of losses) expect(Math.abs(c - w)).toBeLessThan(2e-3 * Math.max(1, Math.abs(c)));
      expect(losses[11][0]).toBeLessThan(losses[0][0] * 0.5);
      expect(losses[11][1]).toBeLessThan(losses[0][1] * 0.5);
    } finally {
      cpu.dispose();
      g.dispose();
    }
  });

  for (const [name, config] of [['llama', llama], ['qwen3', qwen3]] as [string, ModelConfig][]) it(`${name}: greedy decoding gives the same tokens; seeded sampling repeats on the GPU`, async () => {
    const weights = initWeights(config, 11, 0.3);
    const cpu = createCpuEngine(config, weights);
    const g = await createGpuEngine(gpu, config, weights, { kernels });
    try {
      const prompts = [[1, 5, 9, 13], [1, 7]];
      const greedy = { maxNewTokens: 10, temperature: 0, seed: 1, stopTokens: [] };
      const c = await cpu.sample(prompts, greedy);
      const w = await g.sample(prompts, greedy);
      expect(w.tokens).toEqual(c.tokens);
      expect(maxRelError(flat(w.logprobs), flat(c.logprobs))).toBeLessThan(1e-4);
      const sampled = { maxNewTokens: 8, temperature: 1, topP: 0.9, seed: 5, stopTokens: [] };
      const a = await g.sample(prompts, sampled);
      const b = await g.sample(prompts, sampled);
      expect(a.tokens).toEqual(b.tokens);
      // KV-cache decode on the GPU equals full recomputation on the GPU
      const full = await g.forwardLogprobs(prompts.map((p, r) => ({ tokens: [...p, ...a.tokens[r]], completionStart: p.length })));
      expect(maxRelError(flat(full), flat(a.logprobs))).toBeLessThan(1e-4);
      expect(Object.fromEntries(g.ops.recorder.aliasCopiesByKernel)).toEqual({});
    } finally {
      cpu.dispose();
      g.dispose();
    }
  });

  it('LoRA on qwen3: adapter gradients, an AdamW step on the adapter alone, and greedy tokens agree with the CPU', async () => {
    const weights = initWeights(qwen3, 7, 0.2);
    const lora = { config: { rank: 4 }, adapter: initLora(qwen3, { rank: 4 }, 3, 0.2) };
    const cpu = createCpuEngine(qwen3, weights, { lora });
    const g = await createGpuEngine(gpu, qwen3, weights, { kernels, lora });
    try {
      const seqs = batch.map((s) => ({ ...s, tokens: s.tokens.map((t) => t % qwen3.vocab_size) }));
      const lpC = await cpu.forwardLogprobs(seqs);
      expect(maxRelError(flat(await g.forwardLogprobs(seqs)), flat(lpC))).toBeLessThan(1e-5);
      const d = lpC.map((r, b) => r.map((_, t) => ((b + 1) * (t % 3 === 0 ? -1 : 0.5)) / 4));
      cpu.zeroGrads();
      g.zeroGrads();
      await cpu.backwardLogprobs(d);
      await g.backwardLogprobs(d);
      const gradC = await cpu.readGrads();
      expect(gradC.length).toBe(loraParamCount(qwen3, { rank: 4 }));
      expect(maxRelError(await g.readGrads(), gradC)).toBeLessThan(1e-4);
      await cpu.optimizerStep(adam);
      await g.optimizerStep(adam);
      expect(await g.readParams()).toEqual(weights);
      const aC = (await cpu.readAdapter())!, aG = (await g.readAdapter())!;
      let worst = 0;
      for (let i = 0; i < aC.length; i++) worst = Math.max(worst, Math.abs(aG[i] - aC[i]));
      expect(worst).toBeLessThan(0.05 * adam.lr);
      const greedy = { maxNewTokens: 8, temperature: 0, seed: 1, stopTokens: [] };
      expect((await g.sample([[1, 5, 9], [1, 7]], greedy)).tokens).toEqual((await cpu.sample([[1, 5, 9], [1, 7]], greedy)).tokens);
    } finally {
      cpu.dispose();
      g.dispose();
    }
  });

  it('bindingBytesFor names the buffer size a device must bind for SmolLM2-135M (its params, > 128 MiB)', () => {
    const config = smolLM2_135MConfig();
    const bytes = bindingBytesFor(config, { B: 1, T: 32 }, { B: 1, promptLen: 16, newTokens: 4 });
    expect(bytes).toBe(paramLayout(config).size * 4);
    expect(bytes).toBeGreaterThan(128 * 1024 * 1024);
    // a large vocabulary batch makes the logits the biggest buffer instead
    expect(bindingBytesFor(config, { B: 64, T: 512 }, { B: 1, promptLen: 16, newTokens: 4 })).toBeGreaterThan(bytes);
  });

  it('a model that does not fit the device fails with ModelTooLargeError and allocates nothing', async () => {
    const big = tinyConfig({ vocab_size: 4096, hidden_size: 128, intermediate_size: 256, num_attention_heads: 4, num_key_value_heads: 2 });
    // 2 MiB of embeddings alone against a 1 MiB budget for one buffer
    await expect(createGpuEngine(gpu, big, initWeights(big, 1), { kernels, limits: { maxBufferBytes: 1 << 20 } })).rejects.toThrow(ModelTooLargeError);
  });
});

describe.each(['cpu', 'gpu'] as KernelFamily[])('sampling on the GPU (%s kernel family)', (kernels) => {
  // vocab 1500 > the GPU sampler's 1024 candidates, every logit within its margin: top-k / top-p rows
  // overflow and take the CPU path (their step recomputed, its logits read back)
  const wide = tinyConfig({ vocab_size: 1500, hidden_size: 32, intermediate_size: 48, num_attention_heads: 4, num_key_value_heads: 2 });
  const prompts = [[1, 5, 9, 13], [1, 7], [1, 5, 9, 13], [3]];
  const settings = [
    { temperature: 0 },
    { temperature: 1 },
    { temperature: 0.8, topK: 20 },
    { temperature: 1, topP: 0.9 },
    { temperature: 0.7, topK: 30, topP: 0.8 },
  ];
  for (const [name, config] of [['llama tiny', llama], ['vocab 1500 (CPU fallback rows)', wide]] as const) {
    it(`${name}: the same tokens as the CPU engine for the same seeds, several steps per readback`, async () => {
      const weights = initWeights(config, 13, 0.3);
      const cpu = createCpuEngine(config, weights);
      const g = await createGpuEngine(gpu(), config, weights, { kernels });
      try {
        for (const s of config === llama ? settings : settings.slice(3)) {
          for (const seed of config === llama ? [1, 2] : [1]) {
            const o = { ...s, maxNewTokens: 19, seed, stopTokens: [] };
            const reads = g.ops.recorder.counts.reads;
            const w = await g.sample(prompts, o);
            const readsUsed = g.ops.recorder.counts.reads - reads;
            const c = await cpu.sample(prompts, o);
            expect(w.tokens, `${JSON.stringify(s)} seed ${seed}`).toEqual(c.tokens);
            expect(maxRelError(flat(w.logprobs), flat(c.logprobs))).toBeLessThan(1e-4);
            // the first token, then 18 more in submissions of 8: 1 + 3 readbacks unless a row needed the CPU
            if (config === llama) expect(readsUsed).toBe(4);
            else expect(readsUsed).toBeGreaterThan(4);
          }
        }
      } finally {
        cpu.dispose();
        g.dispose();
      }
    });
  }

  it('stop tokens end rows inside a submission; the other rows go on', async () => {
    const weights = initWeights(llama, 17, 0.3);
    const cpu = createCpuEngine(llama, weights);
    const g = await createGpuEngine(gpu(), llama, weights, { kernels });
    try {
      const free = await cpu.sample([[1, 2, 3]], { maxNewTokens: 12, temperature: 1, seed: 4, stopTokens: [] });
      const stopAt = free.tokens[0][5];
      const o = { maxNewTokens: 12, temperature: 1, seed: 4, stopTokens: [stopAt] };
      const c = await cpu.sample([[1, 2, 3], [4, 5]], o);
      const w = await g.sample([[1, 2, 3], [4, 5]], o);
      expect(w.tokens).toEqual(c.tokens);
      expect(w.finish).toEqual(c.finish);
      expect(c.finish[0]).toBe('stop');
      expect(c.tokens[0].length).toBeLessThanOrEqual(6);
    } finally {
      cpu.dispose();
      g.dispose();
    }
  });
});
