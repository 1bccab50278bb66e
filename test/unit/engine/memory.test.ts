// Parameter counts of real checkpoints from their published config.json files, and the memory estimate's
// refusals. The counts are the published ones (SmolLM2-135M: 134,515,008; Qwen2.5-0.5B: 494,032,768), so
// the layout table provably has every tensor of those models at the right shape.
import { describe, expect, it } from 'vitest';
import { parseConfig, smolLM2_135MConfig } from '../../../src/engine/config.ts';
import { paramLayout } from '../../../src/engine/layout.ts';
import { checkFits, estimateSamplingBytes, estimateTrainingBytes, paramBytes } from '../../../src/engine/memory.ts';
import { ModelTooLargeError } from '../../../src/engine/errors.ts';

const smolJson = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0,
  hidden_act: 'silu', hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536, is_llama_config: true,
  max_position_embeddings: 8192, model_type: 'llama', num_attention_heads: 9, num_hidden_layers: 30, num_key_value_heads: 3,
  pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null, rope_theta: 100000,
  tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true, vocab_size: 49152,
};
const qwenJson = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
  hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
  model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
  rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true,
  use_sliding_window: false, vocab_size: 151936,
};

describe('layout of real configs', () => {
  it('SmolLM2-135M: 134,515,008 parameters, no biases, tied head', () => {
    const config = parseConfig(smolJson);
    expect(config).toEqual({ ...smolLM2_135MConfig(), torch_dtype: 'bfloat16' });
    const layout = paramLayout(config);
    expect(layout.size).toBe(134_515_008);
    expect(layout.byName.has('lm_head.weight')).toBe(false);
    expect(layout.byName.get('model.layers.29.self_attn.k_proj.weight')!.shape).toEqual([192, 576]);
  });

  it('Qwen2.5-0.5B: 494,032,768 parameters, q/k/v biases', () => {
    const config = parseConfig(qwenJson);
    expect(config.attention_bias).toBe(true);
    expect(config.head_dim).toBe(64);
    const layout = paramLayout(config);
    expect(layout.size).toBe(494_032_768);
    expect(layout.byName.get('model.layers.0.self_attn.v_proj.bias')!.shape).toEqual([128]);
  });
});

describe('memory estimate', () => {
  it('grows with batch and sequence; training holds 4 extra copies of the params', () => {
    const config = smolLM2_135MConfig();
    const a = estimateTrainingBytes(config, 4, 128);
    const b = estimateTrainingBytes(config, 8, 128);
    expect(a.buffers.grads).toBe(paramBytes(config));
    expect(b.buffers.activations).toBeGreaterThan(1.9 * a.buffers.activations);
    expect(a.total).toBeGreaterThan(4 * paramBytes(config));
    const s = estimateSamplingBytes(config, 8, 100, 200);
    // KV cache: 30 layers x (k + v) x 8 rows x 300 slots x 192 floats
    expect(s.buffers.kvCache).toBe((30 * 2 * 8 * 300 * 192 + 8 * 300) * 4);
  });

  it('refuses with ModelTooLargeError naming the numbers (total and single buffer)', () => {
    const config = parseConfig(qwenJson);
    const est = estimateTrainingBytes(config, 8, 512);
    expect(() => checkFits('training Qwen2.5-0.5B', est, { maxTotalBytes: 2 ** 32 })).toThrow(ModelTooLargeError);
    expect(() => checkFits('training Qwen2.5-0.5B', est, { maxTotalBytes: 2 ** 32 })).toThrow(/needs .* MiB in all .* limit is 4096.0 MiB/);
    // no single buffer of Qwen2.5-0.5B training grows past 1 GiB but params and its copies (1.8 GiB each)
    expect(() => checkFits('x', est, { maxBufferBytes: 2 ** 30 })).toThrow(/buffer "grads" needs 1884.6 MiB/);
    expect(est.largestName).toBe('grads');
    // the LM head holds ~32 MiB of logits at a time whatever the batch
    expect(estimateTrainingBytes(config, 64, 512).buffers.gradScratch).toBeLessThan(est.buffers.gradScratch * 8);
    expect(() => checkFits('x', estimateTrainingBytes(smolLM2_135MConfig(), 1, 16), { maxTotalBytes: 2 ** 33, maxBufferBytes: 2 ** 30 })).not.toThrow();
  });
});
