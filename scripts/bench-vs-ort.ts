// npm run bench:vs-ort [-- --json FILE] [--quick | --model default|smollm2] [--batch B] [--prompt P] [--new N] [--reps R] [--browser]
// Our engine vs transformers.js on onnxruntime-web, same model, same prompt ids, same batch, greedy: prefill
// and decode tokens/s. The model goes to transformers.js through our own ONNX export (onnx/model.onnx), so
// both run exactly the same weights. Models: the shipped default model, and a SmolLM2-135M-shaped Llama with
// random weights (--quick: the default model only). Engines: our CPU reference and our WebGPU engine (Node:
// Dawn from npm `webgpu`; a CPU adapter here), transformers.js + onnxruntime-web wasm (single thread, as
// transformers.js' default in a page without cross-origin isolation). Prefill time = generate(1 token);
// decode tok/s = B·N / (time(N+1 tokens) − time(1 token)); median of R timed runs after one warm-up.
// Also prints the GRPO-step memory estimate of a Qwen2.5-0.5B-shaped model, full fine-tuning vs LoRA r=16.
// By default in Node. --browser runs it in one headless Chromium page instead (scripts/bench-vs-ort-page.ts):
// our CPU and WebGPU engines (the page's adapter) and transformers.js with onnxruntime-web's wasm and webgpu
// execution providers; an engine that cannot run there is reported with its error, not left out.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ortWebNode } from './lib/ort-web-node.ts';
import type { Engine, ModelConfig } from '../src/engine/api.ts';
import { qwen25_05BConfig, smolLM2_135MConfig } from '../src/engine/config.ts';
import { createCpuEngine } from '../src/engine/cpu/index.ts';
import { requestGpu } from '../src/engine/device.ts';
import { bindingBytesFor, createGpuEngine } from '../src/engine/gpu/index.ts';
import { loadHfModel } from '../src/engine/hf.ts';
import { dirSink, dirSource } from '../src/engine/hf-node.ts';
import { initWeights } from '../src/engine/init.ts';
import { unpackWeights, type NamedTensor } from '../src/engine/layout.ts';
import { estimateLoraTrainingBytes } from '../src/engine/lora.ts';
import { estimateModelBytes, estimateTrainingBytes } from '../src/engine/memory.ts';
import { exportOnnxFolder } from '../src/engine/onnx/export.ts';
import { benchPrompts, measure, vsOrtRatios, type VsOrtRow } from './lib/vs-ort.ts';

ortWebNode(true); // before transformers.js is imported

interface Args { json?: string; models: ('default' | 'smollm2')[]; batch: number; prompt: number; newTokens: number; reps: number; browser: boolean }

function parseArgs(argv: string[]): Args {
  const args: Args = { models: ['default', 'smollm2'], batch: 1, prompt: 32, newTokens: 16, reps: 3, browser: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--json') args.json = argv[++i];
    else if (a === '--quick') args.models = ['default'];
    else if (a === '--model') {
      const m = argv[++i];
      if (m !== 'default' && m !== 'smollm2') throw new Error(`--model must be default or smollm2, got ${m}`);
      args.models = [m];
    }
    else if (a === '--batch') args.batch = int();
    else if (a === '--prompt') args.prompt = int();
    else if (a === '--new') args.newTokens = int();
    else if (a === '--reps') args.reps = int();
    else if (a === '--browser') args.browser = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

type Row = VsOrtRow;

let dawn: GPU | null = null; // kept referenced: Dawn tears the instance down if it is collected
async function nodeGpu(minBinding: number) {
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawn ??= create([]);
  return requestGpu({ gpu: dawn, minStorageBufferBindingSize: minBinding });
}

/** the same measurements in one headless Chromium page (Vite serves scripts/bench-vs-ort.html) */
async function runBrowser(a: Args): Promise<Row[]> {
  const { createServer } = await import('vite');
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import('../test/setup/chromium.ts');
  const root = new URL('..', import.meta.url).pathname;
  const server = await createServer({
    root, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0 },
    optimizeDeps: { entries: ['scripts/bench-vs-ort.html'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not start');
  const profile = mkdtempSync(join(tmpdir(), 'bench-vs-ort-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await context.newPage();
    page.on('console', (m) => console.error(`  [page] ${m.text()}`));
    await page.goto(`http://127.0.0.1:${address.port}/scripts/bench-vs-ort.html`);
    await page.waitForFunction(() => 'runVsOrt' in window, undefined, { timeout: 120_000 });
    const rows: Row[] = [];
    for (const model of a.models) {
      rows.push(...(await page.evaluate(
        ([m, B, P, N, R]) => (window as unknown as { runVsOrt(m: string, B: number, P: number, N: number, R: number): Promise<Row[]> }).runVsOrt(m, B, P, N, R),
        [model, a.batch, a.prompt, a.newTokens, a.reps] as const,
      )));
    }
    return rows;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await server.close();
  }
}

async function benchModel(
  name: string, config: ModelConfig, weights: ReadonlyMap<string, NamedTensor> | Float32Array, rawConfig: Record<string, unknown> | undefined, a: Args,
): Promise<Row[]> {
  const rows: Row[] = [];
  const P = Math.min(a.prompt, config.max_position_embeddings - a.newTokens - 2);
  const prompts = benchPrompts(a.batch, P, config.vocab_size);
  const record = (engine: string, m: { prefill: number; decode: number | null }) => {
    rows.push({ model: name, engine, B: a.batch, promptLen: P, newTokens: a.newTokens, prefillTokPerS: m.prefill, decodeTokPerS: m.decode });
    console.error(`${name.padEnd(22)} ${engine.padEnd(30)} prefill ${m.prefill.toFixed(1).padStart(9)} tok/s   decode ${(m.decode?.toFixed(2) ?? 'noise').padStart(8)} tok/s`);
  };
  const ours = async (engineName: string, e: Engine) => {
    record(engineName, await measure(async (n) => void (await e.sample(prompts, { maxNewTokens: n, temperature: 0, seed: 0, stopTokens: [] })), a.batch, P, a.newTokens, a.reps));
    e.dispose();
  };
  const flat = weights instanceof Float32Array ? weights : undefined;
  const named = weights instanceof Float32Array ? unpackWeights(config, weights) : weights;
  await ours('tabswarm cpu', flat ? createCpuEngine(config, flat) : createCpuEngine(config, named));
  const gpu = await nodeGpu(bindingBytesFor(config, { B: 1, T: 1 }, { B: a.batch, promptLen: P, newTokens: a.newTokens + 1 }));
  if (gpu) await ours(`tabswarm webgpu (${gpu.adapterInfo.label})`, await createGpuEngine(gpu, config, flat ?? named));
  else console.error('no WebGPU adapter: set VK_ICD_FILENAMES (TESTING.md); skipping our WebGPU engine');

  const dir = mkdtempSync(join(tmpdir(), 'bench-vs-ort-'));
  try {
    await exportOnnxFolder(dirSink(join(dir, 'model')), config, named, { rawConfig });
    const { AutoModelForCausalLM, Tensor, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = `${dir}/`;
    const lm = await AutoModelForCausalLM.from_pretrained('model', { dtype: 'fp32', device: 'auto' });
    const ids = new Tensor('int64', BigInt64Array.from(prompts.flat().map(BigInt)), [a.batch, P]);
    const mask = new Tensor('int64', new BigInt64Array(a.batch * P).fill(1n), [a.batch, P]);
    const generate = async (n: number) => void (await lm.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: n, min_new_tokens: n, do_sample: false } as Parameters<typeof lm.generate>[0]));
    record('transformers.js ort-web wasm', await measure(generate, a.batch, P, a.newTokens, a.reps));
    await lm.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function memoryFigures(): Record<string, number | string> {
  const config = qwen25_05BConfig();
  const B = 8, T = 256, weights = estimateModelBytes(config).total;
  const gib = (x: number) => Number((x / 2 ** 30).toFixed(2));
  return {
    model: 'Qwen2.5-0.5B shape (494M params, f32)', batch: `${B} x ${T} tokens`,
    fullFineTuneGiB: gib(weights + estimateTrainingBytes(config, B, T).total),
    loraR16GiB: gib(weights + estimateLoraTrainingBytes(config, { rank: 16 }, B, T).total),
    measured: 'not here: a 0.5B GRPO step does not fit this 2-core CPU-only machine in a benchmark budget',
  };
}

const args = parseArgs(process.argv.slice(2));
const rows: Row[] = [];
if (args.browser) {
  rows.push(...(await runBrowser(args)));
  const out = {
    command: `npm run bench:vs-ort -- ${process.argv.slice(2).join(' ')}`.trim(), runtime: 'headless chromium (Debian package), one page', date: new Date().toISOString(),
    note: 'WebGPU is the page\'s adapter (SwiftShader, a CPU, on this machine); onnxruntime-web wasm single-threaded (no cross-origin isolation)',
    loadAverage: (await import('node:os')).loadavg()[0],
    rows, ratios: vsOrtRatios(rows),
  };
  console.log(JSON.stringify(out, null, 2));
  if (args.json) writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}
if (args.models.includes('default')) {
  const def = await loadHfModel(dirSource('public/models/default'));
  rows.push(...(await benchModel('default (123k)', def.config, def.flat, def.rawConfig, args)));
}
if (args.models.includes('smollm2')) {
  const smol = smolLM2_135MConfig();
  rows.push(...(await benchModel('SmolLM2-135M shape', smol, initWeights(smol, 1), undefined, args)));
}
const ratios = [...new Set(rows.map((r) => r.model))].flatMap((model) => {
  const ort = rows.find((r) => r.model === model && r.engine.startsWith('transformers.js'));
  return rows.filter((r) => r.model === model && r.engine.startsWith('tabswarm')).map((r) => ({
    model, engine: r.engine, decodeVsTransformersJs: ort && r.decodeTokPerS !== null && ort.decodeTokPerS !== null ? r.decodeTokPerS / ort.decodeTokPerS : null,
    prefillVsTransformersJs: ort ? r.prefillTokPerS / ort.prefillTokPerS : null,
  }));
});
const out = {
  command: `npm run bench:vs-ort -- ${process.argv.slice(2).join(' ')}`.trim(), runtime: `node ${process.version}`, date: new Date().toISOString(),
  note: 'Node, not Chromium; onnxruntime-web wasm single-threaded; WebGPU is whatever adapter Dawn finds (a CPU one here)',
  loadAverage: (await import('node:os')).loadavg()[0],
  rows, ratios, grpoStepMemory: memoryFigures(),
};
console.log(JSON.stringify(out, null, 2));
if (args.json) writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
