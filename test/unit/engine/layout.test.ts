// The layout tables: every row starts on 64 elements (so WebGPU can bind any tensor beside its neighbours
// without a temporary copy), packing round-trips, weight decay is a short list of ranges, and what attention
// keeps for its backward is the backend's size, not always (B,H,T,T).
import { describe, expect, it } from 'vitest';
import { qwen25_05BConfig, smolLM2_135MConfig, tinyConfig } from '../../../src/engine/config.ts';
import {
  ROW_ALIGN, attentionProbsSize, decayRanges, gradScratchLayout, headActLayout, intLayout, kvLayerLayout, layerActLayout,
  packWeights, paramLayout, tensorElements, unpackWeights, type Layout,
} from '../../../src/engine/layout.ts';
import { estimateTrainingBytes } from '../../../src/engine/memory.ts';
import { initWeights } from '../../../src/engine/init.ts';
import type { ModelConfig } from '../../../src/engine/api.ts';

const odd = tinyConfig({ vocab_size: 37, hidden_size: 24, intermediate_size: 28, num_attention_heads: 4, num_key_value_heads: 1 });
const qwen2 = tinyConfig({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], attention_bias: true, tie_word_embeddings: false, vocab_size: 37, hidden_size: 24, intermediate_size: 28 });
const qwen3 = tinyConfig({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 41, hidden_size: 24, intermediate_size: 36, head_dim: 6 });
const configs: [string, ModelConfig][] = [['tiny', tinyConfig()], ['odd', odd], ['qwen2', qwen2], ['qwen3', qwen3], ['smollm2', smolLM2_135MConfig()]];

function expectAligned(layout: Layout, what: string): void {
  let end = 0;
  for (const t of layout.tensors) {
    expect(t.offset % ROW_ALIGN, `${what}: ${t.name} at ${t.offset}`).toBe(0);
    expect(t.offset, `${what}: ${t.name} overlaps the row before`).toBeGreaterThanOrEqual(end);
    end = t.offset + t.length;
  }
  expect(layout.size % ROW_ALIGN).toBe(0);
  expect(layout.size).toBeGreaterThanOrEqual(end);
  expect(layout.size - end).toBeLessThan(ROW_ALIGN);
}

describe('layout tables', () => {
  for (const [name, config] of configs) {
    it(`${name}: every row of every table starts on ${ROW_ALIGN} elements`, () => {
      const shape = { B: 3, T: 7, Ns: 11, Rc: 5 };
      expectAligned(paramLayout(config), 'params');
      expectAligned(layerActLayout(config, shape), 'layer');
      expectAligned(layerActLayout(config, shape, 3, ({ B, H, T }) => B * H * T + B * T), 'layer (lora, flash)');
      expectAligned(headActLayout(config, shape), 'head');
      expectAligned(gradScratchLayout(config, shape, 3), 'scratch');
      expectAligned(intLayout(shape), 'ints');
      expectAligned(kvLayerLayout(config, 3, 9), 'kv');
    });
  }

  it('packs and unpacks through the gaps; the gaps stay zero', () => {
    const layout = paramLayout(odd);
    expect(layout.size).toBeGreaterThan(tensorElements(layout)); // this config has gaps
    const flat = initWeights(odd, 3);
    const named = unpackWeights(odd, flat, layout);
    expect(packWeights(odd, named, layout)).toEqual(flat);
    const used = new Uint8Array(layout.size);
    for (const t of layout.tensors) used.fill(1, t.offset, t.offset + t.length);
    for (let i = 0; i < layout.size; i++) if (!used[i]) expect(flat[i]).toBe(0);
  });

  it('SmolLM2-135M and Qwen2.5-0.5B already have 64-multiple rows: their params need no gap', () => {
    for (const config of [smolLM2_135MConfig(), qwen25_05BConfig()]) {
      const layout = paramLayout(config);
      expect(layout.size).toBe(tensorElements(layout));
    }
  });
});

describe('decay ranges', () => {
  for (const [name, config] of configs) {
    it(`${name}: exactly the decayed tensors, in a few sorted ranges`, () => {
      const layout = paramLayout(config);
      const r = decayRanges(layout);
      expect(r.length % 2).toBe(0);
      for (let k = 0; k < r.length; k += 2) {
        expect(r[k]).toBeLessThan(r[k + 1]);
        if (k > 0) expect(r[k]).toBeGreaterThan(r[k - 1]); // disjoint and not touching (else they would merge)
      }
      const inRange = (i: number) => {
        for (let k = 0; k < r.length; k += 2) if (i >= r[k] && i < r[k + 1]) return true;
        return false;
      };
      for (const t of layout.tensors) {
        for (const i of [t.offset, t.offset + (t.length >> 1), t.offset + t.length - 1]) expect(inRange(i), `${t.name}[${i - t.offset}]`).toBe(t.decay);
      }
      // embedding, then per layer q..o and gate..down (qwen2: its q/k/v biases split q..o into four)
      const L = config.num_hidden_layers;
      const perLayer = config.attention_bias ? 5 : 2;
      expect(r.length / 2).toBe(1 + perLayer * L + (config.tie_word_embeddings ? 0 : 1));
    });
  }
});

describe('attention state in the activation tables', () => {
  it('a flash-style backend keeps (B,H,T) + (B,T), not (B,H,T,T): SmolLM2-135M training at 8 x 256 needs ~540 MiB less', () => {
    const config = smolLM2_135MConfig();
    const flash = ({ B, H, T }: { B: number; H: number; T: number }) => B * H * T + B * T;
    const shape = { B: 8, T: 256, Ns: 8 * 255 };
    const probs = layerActLayout(config, shape).byName.get('att')!;
    const lse = layerActLayout(config, shape, 0, flash).byName.get('att')!;
    expect(probs.length).toBe(attentionProbsSize({ B: 8, T: 256, H: 9, Hkv: 3, D: 64 }));
    expect(lse.length).toBe(8 * 9 * 256 + 8 * 256);
    const saved = estimateTrainingBytes(config, 8, 256).total - estimateTrainingBytes(config, 8, 256, undefined, undefined, flash).total;
    expect(saved).toBe(config.num_hidden_layers * (probs.length - lse.length) * 4);
    expect(saved / 2 ** 20).toBeGreaterThan(500);
  });
});
