// LoRA on a subset of the projections (a swarm config's `lora.targets`): only those carry an adapter, the
// rest run as the frozen base; base + adapter is still the merged model, gradients still equal finite
// differences, the PEFT folder names the targets and reads back as written, and bad targets are named.
import { describe, expect, it } from 'vitest';
import type { TrainSequence } from '../../../src/engine/api.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { ConfigError, ShapeError } from '../../../src/engine/errors.ts';
import { memoryFolder } from '../../../src/engine/hf.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { loadLoraAdapter, saveLoraAdapter } from '../../../src/engine/lora-io.ts';
import { adapterHash, initLora, loraLayout, loraParamCount, mergeLora, type LoraConfig } from '../../../src/engine/lora.ts';
import { rng } from './helpers.ts';

const qwen3 = tinyConfig({
  model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 16, hidden_size: 8, intermediate_size: 12,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 6, rope_theta: 1000000,
});
const attnOnly: LoraConfig = { rank: 2, targets: ['q_proj', 'v_proj'] };
const batch: TrainSequence[] = [{ tokens: [1, 5, 9, 3, 7, 11], completionStart: 2 }];
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('LoRA on some projections', () => {
  it('lays out only the targets, equals the merged model and changes only their weights', async () => {
    const names = loraLayout(qwen3, attnOnly).tensors.map((t) => t.name);
    expect(names.every((n) => n.includes('.q_proj.') || n.includes('.v_proj.'))).toBe(true);
    expect(names.length).toBe(2 * 2 * qwen3.num_hidden_layers);
    expect(loraParamCount(qwen3, attnOnly)).toBeLessThan(loraParamCount(qwen3, { rank: 2 }));
    const base = initWeights(qwen3, 3, 0.2);
    const adapter = initLora(qwen3, attnOnly, 5, 0.3);
    const withLora = createCpuEngine(qwen3, base, { lora: { config: attnOnly, adapter } });
    const merged = mergeLora(qwen3, attnOnly, base, adapter);
    const viaMerged = createCpuEngine(qwen3, merged);
    expect(maxDiff((await withLora.forwardLogprobs(batch)).flat(), (await viaMerged.forwardLogprobs(batch)).flat())).toBeLessThan(1e-5);
    const exported = await withLora.exportWeights();
    const original = createCpuEngine(qwen3, base);
    for (const [name, t] of await original.exportWeights()) {
      const changed = maxDiff(t.data, exported.get(name)!.data) > 0;
      expect(changed, name).toBe(name.includes('q_proj.weight') || name.includes('v_proj.weight'));
    }
  });

  it('adapter gradients = finite differences', async () => {
    const base = initWeights(qwen3, 3, 0.2);
    const adapter = initLora(qwen3, attnOnly, 7, 0.3);
    const w = [[0.7, -1.1, 0.4, 0.9]];
    const e = createCpuEngine(qwen3, base, { lora: { config: attnOnly, adapter } });
    e.zeroGrads();
    await e.forwardLogprobs(batch);
    await e.backwardLogprobs(w);
    const grads = await e.readGrads();
    expect(grads.length).toBe(loraParamCount(qwen3, attnOnly));
    const loss = async () => {
      const lp = await createCpuEngine(qwen3, base, { lora: { config: attnOnly, adapter } }).forwardLogprobs(batch);
      return lp[0].reduce((t, x, i) => t + x * w[0][i], 0);
    };
    const r = rng(3), h = 1e-2;
    for (const t of loraLayout(qwen3, attnOnly).tensors) {
      const i = t.offset + Math.floor(r() * t.length);
      const saved = adapter[i];
      adapter[i] = saved + h;
      const lp = await loss();
      adapter[i] = saved - h;
      const lm = await loss();
      adapter[i] = saved;
      const fd = (lp - lm) / (2 * h);
      expect(Math.abs(fd - grads[i]), `${t.name}: ${grads[i]} vs ${fd}`).toBeLessThan(3e-3 + 3e-2 * Math.max(Math.abs(fd), Math.abs(grads[i])));
    }
  });

  it('a PEFT folder names its targets and reads back as written; the hash tells target sets apart', async () => {
    const adapter = initLora(qwen3, attnOnly, 2, 0.1);
    const folder = memoryFolder();
    await saveLoraAdapter(folder, qwen3, attnOnly, adapter);
    const cfg = JSON.parse(new TextDecoder().decode(folder.files.get('adapter_config.json')!)) as { target_modules: string[] };
    expect(cfg.target_modules).toEqual(['q_proj', 'v_proj']);
    const back = await loadLoraAdapter(folder, qwen3);
    expect(back.lora).toEqual(attnOnly);
    expect(back.adapter).toEqual(adapter);
    const full = initLora(qwen3, { rank: 2 }, 2, 0.1);
    const fullFolder = memoryFolder();
    await saveLoraAdapter(fullFolder, qwen3, { rank: 2 }, full);
    expect((await loadLoraAdapter(fullFolder, qwen3)).lora).toEqual({ rank: 2 });
    // same bytes, other targets: another adapter
    const qk: LoraConfig = { rank: 2, targets: ['q_proj', 'k_proj'] };
    expect(await adapterHash(attnOnly, adapter)).not.toBe(await adapterHash(qk, adapter));
    expect(await adapterHash({ rank: 2, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, full)).toBe(await adapterHash({ rank: 2 }, full));
  });

  it('refuses unknown, empty or repeated targets by name', async () => {
    const base = initWeights(qwen3, 3);
    const make = (targets: string[]) => createCpuEngine(qwen3, base, { lora: { config: { rank: 2, targets: targets as LoraConfig['targets'] } } });
    expect(() => make(['lm_head'])).toThrow(ShapeError);
    expect(() => make([])).toThrow(/non-empty/);
    expect(() => make(['q_proj', 'q_proj'])).toThrow(/repeats/);
    const folder = memoryFolder();
    await saveLoraAdapter(folder, qwen3, attnOnly, initLora(qwen3, attnOnly, 1));
    folder.files.set('adapter_config.json', new TextEncoder().encode(JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 2, target_modules: 'all-linear' })));
    await expect(loadLoraAdapter(folder, qwen3)).rejects.toThrow(ConfigError);
  });
});
