// A LoRA engine with an f16 frozen base on WebGPU against the CPU reference with the same f16 base: both
// read the very same halves (packed on the CPU, half.ts) and widen them exactly, so what differs is only
// the order of f32 accumulation. Run in Node Dawn, in a Chromium page (frozen.test.ts) and in a dedicated
// worker (frozen-worker.ts), for both kernel families.
import type { GpuContext } from '../../../src/engine/device.ts';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { createGpuEngine, type KernelFamily } from '../../../src/engine/gpu/index.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import type { ModelConfig, TrainSequence } from '../../../src/engine/api.ts';

/** odd shapes: vocab 37/41, GQA 6/2 and MQA with biases, widths that are no multiple of a tile or of 4 */
export const FROZEN_CONFIGS: [string, ModelConfig][] = [
  ['llama (tied, GQA 6/2)', tinyConfig({ vocab_size: 37, hidden_size: 24, intermediate_size: 38, num_attention_heads: 6, num_key_value_heads: 2 })],
  ['qwen2 (biases, untied, MQA, hidden 18)', tinyConfig({
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], attention_bias: true, tie_word_embeddings: false,
    vocab_size: 41, hidden_size: 18, intermediate_size: 30, num_attention_heads: 3, num_key_value_heads: 1, num_hidden_layers: 3,
  })],
];
const batch: TrainSequence[] = [
  { tokens: [1, 5, 9, 13, 2, 7, 30, 4, 8], completionStart: 3 },
  { tokens: [1, 7, 22, 3, 11], completionStart: 2 },
  { tokens: [1, 19, 8], completionStart: 1 },
];

/** Tolerances (max |gpu - cpu| / max |cpu|): the f32 engine test's own, for the same reason (reassociation). */
export const FROZEN_TOLERANCE = { logprobs: 1e-5, grads: 1e-4, decodeLogprobs: 1e-4 };

export interface FrozenCheck {
  name: string;
  frozen: string[];
  logprobs: number;
  grads: number;
  /** the largest |grad| on the CPU: the comparison is not between zeros */
  gradScale: number;
  greedySame: boolean;
  decodeLogprobs: number;
  aliasCopies: number;
}

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / Math.max(scale, 1e-30);
}

export async function checkFrozenEngines(gpu: GpuContext, kernels: KernelFamily): Promise<FrozenCheck[]> {
  const out: FrozenCheck[] = [];
  for (const [name, config] of FROZEN_CONFIGS) {
    const weights = initWeights(config, 7, 0.3);
    const lora = { config: { rank: 3 }, seed: 4 };
    const cpu = createCpuEngine(config, weights, { lora, frozenWeights: 'f16' });
    const g = await createGpuEngine(gpu, config, weights, { kernels, lora, frozenWeights: 'f16' });
    try {
      const lpC = await cpu.forwardLogprobs(batch), lpG = await g.forwardLogprobs(batch);
      const d = lpC.map((r, b) => r.map((_, t) => ((b + 1) * (t % 3 === 0 ? -1 : 0.5)) / 4));
      for (const e of [cpu, g]) {
        e.zeroGrads();
        await e.backwardLogprobs(d);
      }
      const gradC = await cpu.readGrads(), gradG = await g.readGrads();
      const prompts = [[1, 5, 9, 13], [1, 7]];
      const greedy = { maxNewTokens: 8, temperature: 0, seed: 1, stopTokens: [] };
      const sc = await cpu.sample(prompts, greedy), sg = await g.sample(prompts, greedy);
      out.push({
        name,
        frozen: [cpu.frozenWeights, g.frozenWeights],
        logprobs: relError(lpG.flat(), lpC.flat()),
        grads: relError(gradG, gradC),
        gradScale: Math.max(...gradC.map(Math.abs)),
        greedySame: JSON.stringify(sg.tokens) === JSON.stringify(sc.tokens),
        decodeLogprobs: relError(sg.logprobs.flat(), sc.logprobs.flat()),
        aliasCopies: g.ops.recorder.counts.aliasCopies,
      });
    } finally {
      cpu.dispose();
      g.dispose();
    }
  }
  return out;
}
