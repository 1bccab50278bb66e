// safetensors and Hugging Face folders: bit-identical round trips, bf16/fp16 checkpoints, shards, and
// every kind of broken file giving a named error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { parseConfig, tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { packWeights, paramLayout, unpackWeights } from '../../../src/engine/layout.ts';
import { loadHfModel, loadTensors, memoryFolder, saveHfModel } from '../../../src/engine/hf.ts';
import { dirSink, dirSource } from '../../../src/engine/hf-node.ts';
import {
  floatToBf16, floatToHalf, parseSafetensors, readHeader, serializeSafetensors,
} from '../../../src/engine/safetensors.ts';
import { ConfigError, SafetensorsError, UnsupportedModelError, WeightsMismatchError } from '../../../src/engine/errors.ts';

const config = tinyConfig({ model_type: 'qwen2', tie_word_embeddings: false });
const flat = initWeights(config, 5, 0.2);
const named = unpackWeights(config, flat);
const batch = [{ tokens: [1, 4, 9, 16, 25, 3], completionStart: 2 }];
const tmp = mkdtempSync(join(tmpdir(), 'tabswarm-hf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function fileWith(header: object, data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

describe('safetensors', () => {
  it('F32 round trip is bit-identical (NaN payloads, -0, subnormals) and re-serialises to the same bytes', () => {
    const odd = new Float32Array(6);
    bits(odd).set([0x7fc01234, 0x80000000, 0x00000001, 0x7f7fffff, 0xff800000, 0x3f800001]);
    const tensors = new Map([['b', { shape: [2, 3], data: odd }], ['a', { shape: [1], data: Float32Array.of(0.1) }]]);
    const bytes = serializeSafetensors(tensors);
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
    const back = parseSafetensors(bytes);
    expect(Array.from(bits(back.tensors.get('b')!.data))).toEqual(Array.from(bits(odd)));
    expect(back.tensors.get('b')!.shape).toEqual([2, 3]);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(serializeSafetensors(back.tensors)).toEqual(bytes);
  });

  it('reads a hand-made file with unsorted, non-contiguous entries in F16, BF16 and F64', () => {
    const data = new Uint8Array(32);
    const dv = new DataView(data.buffer);
    dv.setUint16(0, 0x3c00, true); // f16 1.0
    dv.setUint16(2, 0xc000, true); // f16 -2
    dv.setUint16(4, 0x0001, true); // f16 smallest subnormal 2^-24
    dv.setUint16(6, 0x7bff, true); // f16 max 65504
    dv.setUint16(8, 0x3f80, true); // bf16 1.0
    dv.setUint16(10, 0xc0a0, true); // bf16 -5
    dv.setFloat64(16, Math.PI, true);
    const file = fileWith({
      z: { dtype: 'F64', shape: [1], data_offsets: [16, 24] },
      h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2, 1], data_offsets: [8, 12] },
    }, data);
    const t = parseSafetensors(file).tensors;
    expect(Array.from(t.get('h')!.data)).toEqual([1, -2, 2 ** -24, 65504]);
    expect(Array.from(t.get('b')!.data)).toEqual([1, -5]);
    expect(t.get('z')!.data[0]).toBeCloseTo(Math.PI, 6);
    expect(t.get('h')!.dtype).toBe('F16');
  });

  it('f16 and bf16 encoders round to nearest even and survive a decode', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(70000)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(1);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBf16(NaN) & 0x7f80).toBe(0x7f80);
    const x = Float32Array.from([0.1, -3.7, 1e-3, 123.456]);
    for (const dtype of ['F16', 'BF16'] as const) {
      const back = parseSafetensors(serializeSafetensors(new Map([['x', { shape: [4], data: x }]]), { dtype })).tensors.get('x')!.data;
      for (let i = 0; i < 4; i++) expect(Math.abs(back[i] - x[i])).toBeLessThan(Math.abs(x[i]) * (dtype === 'F16' ? 1e-3 : 8e-3));
    }
  });

  it('broken files give SafetensorsError, never a crash', () => {
    const good = serializeSafetensors(new Map([['w', { shape: [4], data: Float32Array.of(1, 2, 3, 4) }]]));
    const bad = (bytes: Uint8Array, match: RegExp) => expect(() => parseSafetensors(bytes, 'x.safetensors')).toThrow(match);
    expect(() => parseSafetensors(new Uint8Array(3))).toThrow(SafetensorsError);
    bad(good.slice(0, good.length - 1), /truncated/);
    bad(good.slice(0, 20), /truncated/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    bad(huge, /implausible/);
    const garbled = good.slice();
    garbled[10] = 0x7b;
    garbled[12] = 0xff;
    bad(garbled, /not valid UTF-8 JSON/);
    bad(fileWith({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /unsupported dtype/);
    bad(fileWith({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12/);
    bad(fileWith({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(8)), /bad shape/);
    bad(fileWith({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, new Uint8Array(12)), /overlap/);
    bad(fileWith([1, 2] as unknown as object, new Uint8Array(0)), /not a JSON object/);
    expect(readHeader(good).tensors.get('w')!.end).toBe(16);
  });
});

describe('Hugging Face folders', () => {
  it('save -> load -> save is byte-identical on disk, and the loaded model computes the same', async () => {
    await saveHfModel(dirSink(join(tmp, 'a')), config, named);
    const loaded = await loadHfModel(dirSource(join(tmp, 'a')));
    expect(Array.from(bits(loaded.flat))).toEqual(Array.from(bits(flat)));
    expect(loaded.config).toEqual({ ...config, torch_dtype: 'float32' });
    expect(loaded.dtypes).toEqual(['F32']);
    const e = createCpuEngine(loaded.config, loaded.flat);
    await saveHfModel(dirSink(join(tmp, 'b')), loaded.config, await e.exportWeights(), { rawConfig: loaded.rawConfig });
    const [a, b] = await Promise.all(['a', 'b'].map((d) => dirSource(join(tmp, d)).read('model.safetensors')));
    expect(b).toEqual(a);
    const c1 = await dirSource(join(tmp, 'a')).read('config.json');
    expect(JSON.parse(new TextDecoder().decode(c1!)).torch_dtype).toBe('float32');
    expect(await e.forwardLogprobs(batch)).toEqual(await createCpuEngine(config, flat).forwardLogprobs(batch));
  });

  it('a bf16 checkpoint with HF names loads and computes close to the f32 model', async () => {
    const folder = memoryFolder();
    await saveHfModel(folder, config, named, { dtype: 'BF16' });
    const loaded = await loadHfModel(folder);
    expect(loaded.dtypes).toEqual(['BF16']);
    expect(loaded.weights.has('model.layers.1.self_attn.k_proj.bias')).toBe(true);
    for (let i = 0; i < 50; i++) expect(loaded.flat[i]).toBe(new Float32Array(new Uint32Array([floatToBf16(flat[i]) << 16]).buffer)[0]);
    const [lp16] = await createCpuEngine(loaded.config, loaded.flat).forwardLogprobs(batch);
    const [lp32] = await createCpuEngine(config, flat).forwardLogprobs(batch);
    for (let i = 0; i < lp32.length; i++) expect(Math.abs(lp16[i] - lp32[i])).toBeLessThan(0.05);
  });

  it('sharded checkpoints (model.safetensors.index.json) load the same as one file', async () => {
    const names = [...named.keys()];
    const half = Math.floor(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const files = new Map<string, Uint8Array>();
    const weightMap: Record<string, string> = {};
    shards.forEach((group, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      files.set(file, serializeSafetensors(new Map(group.map((n) => [n, named.get(n)!])), { dtype: 'F16' }));
      for (const n of group) weightMap[n] = file;
    });
    files.set('config.json', new TextEncoder().encode(JSON.stringify(config)));
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })));
    const loaded = await loadHfModel(memoryFolder(files));
    expect(loaded.dtypes).toEqual(['F16']);
    const all = await loadTensors(memoryFolder(files));
    expect([...all.tensors.keys()].sort()).toEqual([...named.keys()].sort());
    expect(all.tensors.get('model.norm.weight')!.data).toEqual(loaded.weights.get('model.norm.weight')!.data);
    for (let i = 0; i < flat.length; i += 97) expect(Math.abs(loaded.flat[i] - flat[i])).toBeLessThan(1e-3 * Math.abs(flat[i]) + 1e-7);

    const missing = new Map(files);
    missing.delete('model-00002-of-00002.safetensors');
    await expect(loadHfModel(memoryFolder(missing))).rejects.toThrow(/shard model-00002-of-00002.safetensors .* is missing/);
    const lying = new Map(files);
    lying.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ weight_map: { ...weightMap, 'model.norm.weight': 'model-00001-of-00002.safetensors' } })));
    await expect(loadHfModel(memoryFolder(lying))).rejects.toThrow(SafetensorsError);
    const escaping = new Map(files);
    escaping.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ weight_map: { x: '../etc/passwd' } })));
    await expect(loadHfModel(memoryFolder(escaping))).rejects.toThrow(SafetensorsError);
  });

  it('folder errors are named: no config, unknown architecture, no weights, wrong shapes, truncated file', async () => {
    const ok = memoryFolder();
    await saveHfModel(ok, config, named);
    const without = (name: string) => memoryFolder(new Map([...ok.files].filter(([n]) => n !== name)));
    await expect(loadHfModel(without('config.json'))).rejects.toThrow(ConfigError);
    await expect(loadHfModel(without('model.safetensors'))).rejects.toThrow(/neither model.safetensors/);
    const gpt2 = memoryFolder(new Map(ok.files));
    gpt2.files.set('config.json', new TextEncoder().encode(JSON.stringify({ ...config, model_type: 'gpt2' })));
    await expect(loadHfModel(gpt2)).rejects.toThrow(UnsupportedModelError);
    const bigger = memoryFolder(new Map(ok.files));
    bigger.files.set('config.json', new TextEncoder().encode(JSON.stringify({ ...config, intermediate_size: 32 })));
    await expect(loadHfModel(bigger)).rejects.toThrow(WeightsMismatchError);
    const cut = memoryFolder(new Map(ok.files));
    const st = ok.files.get('model.safetensors')!;
    cut.files.set('model.safetensors', st.slice(0, st.length - 100));
    await expect(loadHfModel(cut)).rejects.toThrow(/truncated/);
    await expect(saveHfModel(memoryFolder(), config, new Map([...named].slice(1)))).rejects.toThrow(WeightsMismatchError);
  });
});

describe('qwen3 configs', () => {
  const qwen3 = {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', vocab_size: 64, hidden_size: 16, intermediate_size: 32,
    num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64,
    rope_theta: 1000000, rms_norm_eps: 1e-6, tie_word_embeddings: true, attention_bias: false, sliding_window: null,
  };

  it('parse with per-head q/k norms, the explicit head_dim and no biases; a saved folder loads back', async () => {
    const c = parseConfig(qwen3);
    expect([c.qk_norm, c.attention_bias, c.head_dim]).toEqual([true, false, 8]);
    const names = paramLayout(c).tensors.map((t) => t.name);
    expect(names).toContain('model.layers.0.self_attn.q_norm.weight');
    expect(paramLayout(c).byName.get('model.layers.0.self_attn.k_norm.weight')!.shape).toEqual([8]);
    expect(paramLayout(c).byName.get('model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([32, 16]);
    expect(names.some((n) => n.endsWith('.bias'))).toBe(false);
    const folder = memoryFolder();
    const weights = unpackWeights(c, initWeights(c, 2));
    await saveHfModel(folder, c, weights);
    const back = await loadHfModel(folder);
    expect(back.config.qk_norm).toBe(true);
    // a qwen3 checkpoint without its head norms is refused by name
    const missing = new Map([...weights].filter(([n]) => !n.endsWith('q_norm.weight')));
    expect(() => packWeights(c, missing)).toThrow(/missing model.layers.0.self_attn.q_norm.weight/);
  });

  it('refuses attention_bias (it would bias o_proj too) and sliding windows', () => {
    expect(() => parseConfig({ ...qwen3, attention_bias: true })).toThrow(UnsupportedModelError);
    expect(() => parseConfig({ ...qwen3, use_sliding_window: true })).toThrow(UnsupportedModelError);
  });
});

describe('saving keeps what the engine does not read', () => {
  it('rawConfig fields survive a save; torch_dtype says what was written', async () => {
    const dir = fileURLToPath(new URL('./golden/qwen2-bias-untied-bf16/', import.meta.url));
    const model = await loadHfModel(dirSource(dir));
    const out = memoryFolder();
    await saveHfModel(out, model.config, model.weights, { rawConfig: model.rawConfig });
    const json = JSON.parse(new TextDecoder().decode(out.files.get('config.json')!));
    expect(json.sliding_window).toBe(256);
    expect(json.architectures).toEqual(['Qwen2ForCausalLM']);
    expect(json.torch_dtype).toBe('float32');
    const again = await loadHfModel(out);
    expect(Array.from(bits(again.flat))).toEqual(Array.from(bits(model.flat)));
  });
});

describe('urlSource', () => {
  it('reads files over fetch; 404 and an HTML fallback page read as absent', async () => {
    const { urlSource } = await import('../../../src/engine/hf.ts');
    const folder = memoryFolder();
    await saveHfModel(folder, config, named);
    const seen: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      const url = new URL(String(input));
      seen.push(url.pathname);
      const name = url.pathname.split('/').pop()!;
      const bytes = folder.files.get(name);
      if (bytes) return new Response(new Uint8Array(bytes).buffer, { headers: { 'content-type': 'application/octet-stream' } });
      if (name.endsWith('.json')) return new Response('not found', { status: 404 });
      return new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } });
    }) as typeof fetch;
    const loaded = await loadHfModel(urlSource('http://127.0.0.1:1/models/tiny', fakeFetch));
    expect(Array.from(bits(loaded.flat))).toEqual(Array.from(bits(flat)));
    expect(seen).toContain('/models/tiny/model.safetensors');
    const src = urlSource('http://127.0.0.1:1/models/tiny/', fakeFetch);
    expect(await src.read('model.safetensors.index.json')).toBeNull();
    expect(await src.read('missing.safetensors')).toBeNull();
  });
});
