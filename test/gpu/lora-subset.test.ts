// LoRA on a subset of the projections (a swarm config's lora.targets) on WebGPU, both kernel families, against
// the CPU engine: logprobs, adapter gradients, the frozen base after a step, and greedy tokens.
import { beforeAll, describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import type { GpuContext } from '../../src/engine/device.ts';
import { createCpuEngine } from '../../src/engine/cpu/index.ts';
import { createGpuEngine, type KernelFamily } from '../../src/engine/gpu/index.ts';
import { tinyConfig } from '../../src/engine/config.ts';
import { initWeights } from '../../src/engine/init.ts';
import { initLora, loraParamCount, type LoraConfig } from '../../src/engine/lora.ts';

const qwen3 = tinyConfig({
  model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 41, hidden_size: 24, intermediate_size: 36,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rope_theta: 1000000,
});
const subset: LoraConfig = { rank: 4, targets: ['k_proj', 'o_proj', 'up_proj'] };
const seqs = [{ tokens: [1, 5, 9, 13, 2, 7, 30, 4], completionStart: 3 }, { tokens: [1, 7, 22, 3, 11], completionStart: 2 }];
const adam = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe.each(['cpu', 'gpu'] as KernelFamily[])('LoRA on k/o/up only, WebGPU (%s kernels) vs CPU', (kernels) => {
  let gpu: GpuContext;
  beforeAll(async () => {
    gpu = await getTestGpu();
  });

  it('agrees on logprobs, adapter gradients, the step and greedy tokens', async () => {
    const weights = initWeights(qwen3, 7, 0.2);
    const lora = { config: subset, adapter: initLora(qwen3, subset, 3, 0.2) };
    const cpu = createCpuEngine(qwen3, weights, { lora });
    const g = await createGpuEngine(gpu, qwen3, weights, { kernels, lora });
    try {
      const lpC = await cpu.forwardLogprobs(seqs);
      expect(maxDiff((await g.forwardLogprobs(seqs)).flat(), lpC.flat())).toBeLessThan(1e-4);
      const d = lpC.map((r, b) => r.map((_, t) => ((b + 1) * (t % 3 === 0 ? -1 : 0.5)) / 4));
      cpu.zeroGrads();
      g.zeroGrads();
      await cpu.backwardLogprobs(d);
      await g.backwardLogprobs(d);
      const gradC = await cpu.readGrads();
      expect(gradC.length).toBe(loraParamCount(qwen3, subset));
      const scale = Math.max(...Array.from(gradC, Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(maxDiff(await g.readGrads(), gradC) / scale).toBeLessThan(1e-4);
      await cpu.optimizerStep(adam);
      await g.optimizerStep(adam);
      expect(await g.readParams()).toEqual(weights);
      expect(maxDiff((await g.readAdapter())!, (await cpu.readAdapter())!)).toBeLessThan(0.05 * adam.lr);
      const greedy = { maxNewTokens: 8, temperature: 0, seed: 1, stopTokens: [] };
      expect((await g.sample([[1, 5, 9], [1, 7]], greedy)).tokens).toEqual((await cpu.sample([[1, 5, 9], [1, 7]], greedy)).tokens);
    } finally {
      cpu.dispose();
      g.dispose();
    }
    // pipelines of a kernel family compile on first use: ~70 s on SwiftShader when the machine is busy
  }, 240_000);
});
