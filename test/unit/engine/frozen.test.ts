// A LoRA engine whose frozen base is stored as f16 (frozen.ts) against the same engine on f32 weights that
// were rounded to the same halves: on the CPU reference both widen to the same f32 values and run the very
// same matmul calls, so logprobs, adapter gradients, an AdamW step and sampled tokens agree EXACTLY.
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { smolLM2_135MConfig, tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { paramLayout } from '../../../src/engine/layout.ts';
import { estimateModelBytes } from '../../../src/engine/memory.ts';
import { ShapeError } from '../../../src/engine/errors.ts';
import { fromHalfBits, toHalfBits } from '../../../src/engine/half.ts';
import {
  baseWeightBytes, defaultFrozenWeights, frozenLayouts, joinFrozen, roundProjectionsToHalf, splitFrozen,
} from '../../../src/engine/frozen.ts';
import { estimateContributionBytes, runnerConfigFor } from '../../../src/worker/plan.ts';
import type { AdamWConfig, ModelConfig, TrainSequence } from '../../../src/engine/api.ts';

// odd shapes: vocab 37/41, GQA 6/2 and MQA, untied LM head with q/k/v biases, Qwen3 head norms with H*D != C
const llama = tinyConfig({ vocab_size: 37, hidden_size: 24, intermediate_size: 38, num_attention_heads: 6, num_key_value_heads: 2 });
const qwen = tinyConfig({
  model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], attention_bias: true, tie_word_embeddings: false,
  vocab_size: 41, hidden_size: 20, intermediate_size: 30, num_attention_heads: 5, num_key_value_heads: 1, num_hidden_layers: 3,
});
const qwen3 = tinyConfig({
  model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 41, hidden_size: 24, intermediate_size: 36,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8,
});
const batch: TrainSequence[] = [
  { tokens: [1, 5, 9, 13, 2, 7, 30, 4], completionStart: 3 },
  { tokens: [1, 7, 22, 3, 11], completionStart: 2 },
  { tokens: [1, 19, 8], completionStart: 1 },
];
const adam: AdamWConfig = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
const lora = (seed: number) => ({ config: { rank: 3 }, seed });

describe('frozen f16 base (LoRA)', () => {
  for (const [name, config] of [['llama', llama], ['qwen2', qwen], ['qwen3', qwen3]] as [string, ModelConfig][]) {
    it(`${name}: equals the f32 engine on the rounded weights, exactly (logprobs, adapter grads, a step, sampling)`, async () => {
      const weights = initWeights(config, 5, 0.3);
      const rounded = roundProjectionsToHalf(config, weights);
      // rounding changed the weights (the comparison below is not f32 against itself)
      expect(rounded.some((x, i) => x !== weights[i])).toBe(true);
      const half = createCpuEngine(config, weights, { lora: lora(2), frozenWeights: 'f16' });
      const ref = createCpuEngine(config, rounded, { lora: lora(2), frozenWeights: 'f32' });
      try {
        expect(half.frozenWeights).toBe('f16');
        expect(ref.frozenWeights).toBe('f32');
        expect(await half.readParams()).toEqual(rounded);
        for (let step = 0; step < 2; step++) {
          const lp = await half.forwardLogprobs(batch);
          expect(lp).toEqual(await ref.forwardLogprobs(batch));
          const d = lp.map((r, b) => r.map((_, t) => ((b + 1) * (t % 3 === 0 ? -1 : 0.5)) / 4));
          for (const e of [half, ref]) {
            e.zeroGrads();
            await e.backwardLogprobs(d);
          }
          const g = await half.readGrads();
          expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(0);
          expect(g).toEqual(await ref.readGrads());
          expect(await half.optimizerStep(adam)).toEqual(await ref.optimizerStep(adam));
          expect(await half.readAdapter()).toEqual(await ref.readAdapter());
        }
        const o = { maxNewTokens: 6, temperature: 1, topP: 0.9, seed: 9, stopTokens: [] };
        expect(await half.sample([[1, 5, 9], [2]], o)).toEqual(await ref.sample([[1, 5, 9], [2]], o));
        // the base never moved, and the export is the merged model of the rounded base
        expect(await half.readParams()).toEqual(rounded);
        const [eh, er] = [await half.exportWeights(), await ref.exportWeights()];
        expect([...eh.keys()]).toEqual([...er.keys()]);
        for (const [k, v] of er) expect(eh.get(k)!.data).toEqual(v.data);
      } finally {
        half.dispose();
        ref.dispose();
      }
    });
  }

  it('splits into an f32 rest and packed halves, and joins back to the rounded weights', () => {
    const weights = initWeights(qwen, 1, 0.5);
    const { rest, words } = splitFrozen(qwen, weights);
    const { rest: rl, halves: hl } = frozenLayouts(qwen);
    expect(rest.length).toBe(rl.size);
    expect(words.length).toBe(hl.size);
    // 7 projections per layer as halves; embed, lm_head, norms and biases f32
    expect(hl.tensors.length).toBe(7 * qwen.num_hidden_layers);
    expect(rl.byName.has('lm_head.weight') && rl.byName.has('model.layers.0.self_attn.q_proj.bias')).toBe(true);
    const joined = joinFrozen(qwen, rest, words);
    const layout = paramLayout(qwen);
    for (const t of layout.tensors) {
      const got = joined.subarray(t.offset, t.offset + t.length), src = weights.subarray(t.offset, t.offset + t.length);
      if (hl.byName.has(t.name)) for (let i = 0; i < t.length; i++) expect(got[i]).toBe(fromHalfBits(toHalfBits(src[i])));
      else expect(got).toEqual(src);
    }
  });

  it('refuses what f16 cannot hold, with named errors, before allocating', () => {
    const w = initWeights(llama, 1);
    expect(() => createCpuEngine(llama, w, { frozenWeights: 'f16' })).toThrow(/needs a LoRA engine/);
    expect(() => createCpuEngine(llama, w, { lora: lora(0), frozenWeights: 'f8' as 'f16' })).toThrow(ShapeError);
    const big = w.slice();
    big[paramLayout(llama).byName.get('model.layers.1.mlp.up_proj.weight')!.offset + 3] = 70000;
    expect(() => createCpuEngine(llama, big, { lora: lora(0), frozenWeights: 'f16' })).toThrow(/up_proj.weight\[3\] = 70000 is beyond f16's range/);
    // the same weights are fine in f32 (an f32 base holds them)
    createCpuEngine(llama, big, { lora: lora(0), frozenWeights: 'f32' }).dispose();
    const odd = tinyConfig({ intermediate_size: 27 });
    expect(() => createCpuEngine(odd, initWeights(odd, 1), { lora: lora(0), frozenWeights: 'f16' })).toThrow(/down_proj.weight has an odd input width 27/);
  });

  it('defaults to f16 only for a LoRA base that came in 16-bit weights', () => {
    const bf16 = { ...llama, torch_dtype: 'bfloat16' }, f16 = { ...llama, torch_dtype: 'float16' }, f32 = { ...llama, torch_dtype: 'float32' };
    expect(defaultFrozenWeights(bf16, true)).toBe('f16');
    expect(defaultFrozenWeights(f16, true)).toBe('f16');
    expect(defaultFrozenWeights(f32, true)).toBe('f32');
    expect(defaultFrozenWeights(llama, true)).toBe('f32');
    expect(defaultFrozenWeights(bf16, false)).toBe('f32');
    const e = createCpuEngine(bf16, roundProjectionsToHalf(llama, initWeights(llama, 2)), { lora: lora(0) });
    expect(e.frozenWeights).toBe('f16');
    e.dispose();
    const full = createCpuEngine(bf16, initWeights(llama, 2));
    expect(full.frozenWeights).toBe('f32');
    full.dispose();
  });

  it('the memory estimate counts the halves: SmolLM2-135M base 61% of its f32 bytes', () => {
    const smol = smolLM2_135MConfig();
    const f32 = baseWeightBytes(smol, 'f32'), f16 = baseWeightBytes(smol, 'f16');
    expect(estimateModelBytes(smol, 'f32').total).toBe(f32);
    expect(estimateModelBytes(smol, 'f16').total).toBe(f16);
    // 30 layers x 3.54M projection weights at 2 bytes, the 28.3M embedding and the norms at 4
    expect(f16 / f32).toBeGreaterThan(0.6);
    expect(f16 / f32).toBeLessThan(0.62);
    // the worker's guard (plan.ts) estimates what the engine will store
    const runner = runnerConfigFor({ swarmId: 's' } as Parameters<typeof runnerConfigFor>[0]);
    const bf16 = { ...smol, torch_dtype: 'bfloat16' };
    const withHalves = estimateContributionBytes(bf16, runner, { rank: 8 }).total;
    const withF32 = estimateContributionBytes({ ...smol, torch_dtype: 'float32' }, runner, { rank: 8 }).total;
    expect(withF32 - withHalves).toBe(f32 - f16);
  });
});
