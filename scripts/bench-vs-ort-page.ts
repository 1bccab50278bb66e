// Browser side of `npm run bench:vs-ort -- --browser`: in one Chromium page, the same model, prompts and batch
// through our CPU engine, our WebGPU engine (the page's adapter: SwiftShader here) and transformers.js on
// onnxruntime-web with the wasm and the webgpu execution providers. transformers.js gets our own ONNX export
// of the same weights, served from memory through its `env.fetch` hook; ort's wasm comes from node_modules.
import type { Engine, ModelConfig } from '../src/engine/api.ts';
import { smolLM2_135MConfig } from '../src/engine/config.ts';
import { createCpuEngine } from '../src/engine/cpu/index.ts';
import { requestGpu } from '../src/engine/device.ts';
import { bindingBytesFor, createGpuEngine } from '../src/engine/gpu/index.ts';
import { loadHfModel, memoryFolder, urlSource } from '../src/engine/hf.ts';
import { initWeights } from '../src/engine/init.ts';
import { unpackWeights } from '../src/engine/layout.ts';
import { exportOnnxFolder } from '../src/engine/onnx/export.ts';
import { benchPrompts, measure, type VsOrtRow } from './lib/vs-ort.ts';

async function modelFor(name: string): Promise<{ label: string; config: ModelConfig; flat: Float32Array; rawConfig?: Record<string, unknown> }> {
  if (name === 'default') {
    const m = await loadHfModel(urlSource(new URL('/models/default/', location.href)));
    return { label: 'default (123k)', config: m.config, flat: m.flat, rawConfig: m.rawConfig };
  }
  const config = smolLM2_135MConfig();
  return { label: 'SmolLM2-135M shape', config, flat: initWeights(config, 1) };
}

async function runVsOrt(name: string, B: number, promptLen: number, N: number, reps: number): Promise<VsOrtRow[]> {
  const { label, config, flat, rawConfig } = await modelFor(name);
  const P = Math.min(promptLen, config.max_position_embeddings - N - 2);
  const prompts = benchPrompts(B, P, config.vocab_size);
  const rows: VsOrtRow[] = [];
  const record = (engine: string, m: { prefill: number; decode: number | null }, error?: string) => {
    rows.push({ model: label, engine, B, promptLen: P, newTokens: N, prefillTokPerS: m.prefill, decodeTokPerS: m.decode, ...(error ? { error } : {}) });
    console.log(`${label} ${engine}: prefill ${m.prefill.toFixed(1)} tok/s, decode ${m.decode?.toFixed(2) ?? (error ? `failed: ${error}` : 'noise')} tok/s`);
  };
  const ours = async (engineName: string, e: Engine) => {
    try {
      record(engineName, await measure(async (n) => void (await e.sample(prompts, { maxNewTokens: n, temperature: 0, seed: 0, stopTokens: [] })), B, P, N, reps));
    } finally {
      e.dispose();
    }
  };
  await ours('tabswarm cpu (chromium)', createCpuEngine(config, flat));
  const gpu = await requestGpu({ minStorageBufferBindingSize: bindingBytesFor(config, { B: 1, T: 1 }, { B, promptLen: P, newTokens: N + 1 }) });
  if (gpu) {
    await ours(`tabswarm webgpu (chromium, ${gpu.adapterInfo.label})`, await createGpuEngine(gpu, config, flat));
    gpu.destroy();
  } else record('tabswarm webgpu (chromium)', { prefill: 0, decode: null }, 'no WebGPU adapter in this page');

  const folder = memoryFolder();
  await exportOnnxFolder(folder, config, unpackWeights(config, flat), { rawConfig });
  const { AutoModelForCausalLM, Tensor, env } = await import('@huggingface/transformers');
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.useBrowserCache = false;
  env.remoteHost = 'https://hub.invalid/';
  env.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    if (url.origin === location.origin) return fetch(input, init);
    const m = /\/resolve\/main\/(.+)$/.exec(url.pathname);
    const bytes = m ? folder.files.get(m[1]) : undefined;
    return bytes ? new Response(bytes.slice(), { headers: { 'content-length': String(bytes.length) } }) : new Response('not found', { status: 404 });
  }) as typeof fetch;
  const ortDist = new URL('/node_modules/onnxruntime-web/dist/', location.origin).toString();
  const wasm = (env.backends.onnx as { wasm: { wasmPaths: unknown; numThreads: number } }).wasm;
  wasm.wasmPaths = { mjs: `${ortDist}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${ortDist}ort-wasm-simd-threaded.asyncify.wasm` };
  wasm.numThreads = 1; // a page without cross-origin isolation has no threads
  const ids = new Tensor('int64', BigInt64Array.from(prompts.flat().map(BigInt)), [B, P]);
  const mask = new Tensor('int64', new BigInt64Array(B * P).fill(1n), [B, P]);
  for (const device of ['wasm', 'webgpu'] as const) {
    const engine = `transformers.js ort-web ${device} (chromium)`;
    try {
      const lm = await AutoModelForCausalLM.from_pretrained(`tabswarm/${name}`, { dtype: 'fp32', device });
      const generate = async (n: number) => void (await lm.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: n, min_new_tokens: n, do_sample: false } as Parameters<typeof lm.generate>[0]));
      record(engine, await measure(generate, B, P, N, reps));
      await lm.dispose();
    } catch (error) {
      record(engine, { prefill: 0, decode: null }, `${(error as Error).name}: ${(error as Error).message.slice(0, 300)}`);
    }
  }
  return rows;
}

(window as unknown as { runVsOrt: typeof runVsOrt }).runVsOrt = runVsOrt;
