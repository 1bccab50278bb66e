// The real-GPU figures of issue 12, in one run (scripts/bench/device-gpu.sh drives it on a device machine):
//   1. matmul 2048³ (x·W and x·Wᵀ) per kernel family: GFLOP/s over back-to-back dispatches in one
//      submission, GPU time per dispatch from timestamp queries where the adapter has them, and the share of
//      the device's fp32 peak (--peak-tflops, or a table of known devices below; WebGPU cannot tell);
//   2. SmolLM2-135M-shaped decode at batch 1 (random weights: only shapes matter for speed), tok/s;
//   3. one GRPO step of 16 sequences x 128 tokens (forward + backward + AdamW), seconds.
// Goals (issue 12): matmul >= 40% of peak, decode >= 150 tok/s, GRPO step < 1 s. The figures are printed as
// measured and written as JSON; a missed goal is reported, not hidden. --quick shrinks every shape so the
// script itself can be checked on SwiftShader (its figures then mean nothing for a GPU).
//
//   npm run -s tsnode scripts/bench/device-gpu.ts -- [--json FILE] [--quick] [--peak-tflops X] [--kernels gpu|cpu]

import { writeFileSync } from 'node:fs';
import { requestGpu, type GpuContext } from '../../src/engine/device.ts';
import { bindingBytesFor, createGpuEngine, createGpuOps, isKernelFamily, type KernelFamily } from '../../src/engine/gpu/index.ts';
import { smolLM2_135MConfig, tinyConfig } from '../../src/engine/config.ts';
import { initWeights } from '../../src/engine/init.ts';
import type { ModelConfig } from '../../src/engine/api.ts';

interface Args { json?: string; quick: boolean; peakTflops?: number; kernels: KernelFamily }

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, kernels: 'gpu' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = value();
    else if (a === '--quick') args.quick = true;
    else if (a === '--peak-tflops') {
      const p = Number(value());
      if (!(p > 0)) throw new Error(`--peak-tflops must be a positive number, got ${p}`);
      args.peakTflops = p;
    } else if (a === '--kernels') {
      const k = value();
      if (!isKernelFamily(k)) throw new Error(`--kernels must be gpu or cpu, got ${k}`);
      args.kernels = k;
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

// Dense fp32 (non-tensor-core) peaks from the vendors' data sheets, TFLOP/s, matched against the adapter's
// description. WebGPU exposes neither clocks nor core counts, so an unknown device needs --peak-tflops.
const KNOWN_PEAKS: [RegExp, number][] = [
  [/h200|h100.*sxm|gh200/i, 67], [/h100/i, 51], [/a100/i, 19.5], [/l40s/i, 91.6], [/l4\b/i, 30.3],
  [/rtx 4090/i, 82.6], [/rtx 4080/i, 48.7], [/rtx 3090/i, 35.6], [/a10g?\b/i, 31.2], [/t4\b/i, 8.1],
  [/apple m1\b/i, 2.6], [/apple m2\b/i, 3.6], [/apple m3\b/i, 4.1],
];

function knownPeak(description: string): number | undefined {
  return KNOWN_PEAKS.find(([re]) => re.test(description))?.[1];
}

async function nodeGpu(minBinding: number): Promise<GpuContext> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  (globalThis as { __deviceBenchGpu?: GPU }).__deviceBenchGpu = gpu; // Dawn tears the instance down if collected
  const context = await requestGpu({ gpu, minStorageBufferBindingSize: minBinding });
  if (!context) {
    throw new Error('no WebGPU adapter in Node: Dawn needs the Vulkan loader (libvulkan.so.1) and a Vulkan driver; see scripts/bench/device-gpu.sh');
  }
  return context;
}

const now = () => performance.now();

interface MatmulFigure { kernels: KernelFamily; shape: string; reps: number; wall_gflops: number; gpu_gflops?: number; of_peak?: number }

/** `reps` matmuls recorded into one submission and read once: launch latency is amortised, not measured. */
async function matmulFigure(gpu: GpuContext, kernels: KernelFamily, n: number, transB: boolean, reps: number, peakTflops?: number): Promise<MatmulFigure> {
  const ops = await createGpuOps(gpu, { kernels });
  try {
    const a = ops.allocF32(n * n, 'mm.a'), b = ops.allocF32(n * n, 'mm.b'), c = ops.allocF32(n * n, 'mm.c');
    ops.writeF32(a, Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
    ops.writeF32(b, Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5));
    const flops = 2 * n * n * n;
    ops.matmul(c, a, b, n, n, n, { transB });
    await ops.readF32(ops.view(c, 0, 1)); // warm: pipeline, first touch
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const t0 = now();
      for (let r = 0; r < reps; r++) ops.matmul(c, a, b, n, n, n, { transB });
      await ops.readF32(ops.view(c, 0, 1));
      best = Math.min(best, (now() - t0) / 1000 / reps);
    }
    let gpuSeconds: number | undefined;
    if (ops.recorder.startProfiling()) {
      for (let r = 0; r < reps; r++) ops.matmul(c, a, b, n, n, n, { transB });
      await ops.readF32(ops.view(c, 0, 1));
      const times = await ops.recorder.profiler!.results();
      const mm = times.filter((t) => t.name.startsWith('matmul'));
      const ms = mm.reduce((s, t) => s + t.ms, 0), count = mm.reduce((s, t) => s + t.count, 0);
      if (count > 0 && ms > 0) gpuSeconds = ms / 1000 / count;
    }
    for (const v of [a, b, c]) ops.free(v);
    const wall = flops / best / 1e9;
    const gpuRate = gpuSeconds ? flops / gpuSeconds / 1e9 : undefined;
    const rate = gpuRate ?? wall;
    return {
      kernels, shape: `${n}x${n}x${n}${transB ? ' (x Wt)' : ''}`, reps, wall_gflops: wall,
      ...(gpuRate ? { gpu_gflops: gpuRate } : {}),
      ...(peakTflops ? { of_peak: rate / (peakTflops * 1000) } : {}),
    };
  } finally {
    ops.flush();
    ops.destroy();
  }
}

function tokens(count: number, vocab: number, salt: number): number[] {
  return Array.from({ length: count }, (_, i) => ((i * 2654435761 + salt * 40503) >>> 0) % vocab);
}

/** Batch-1 greedy decode: the time of newTokens tokens less the time of 1 (prefill), best of 3. */
async function decodeFigure(gpu: GpuContext, config: ModelConfig, kernels: KernelFamily, promptLen: number, newTokens: number) {
  const engine = await createGpuEngine(gpu, config, initWeights(config, 1), { kernels });
  try {
    const prompt = [tokens(promptLen, config.vocab_size, 1)];
    const o = { temperature: 0, seed: 1, stopTokens: [] as number[] };
    await engine.sample(prompt, { ...o, maxNewTokens: 4 }); // warm
    const best = async (n: number) => {
      let t = Infinity;
      for (let r = 0; r < 3; r++) {
        const t0 = now();
        await engine.sample(prompt, { ...o, maxNewTokens: n });
        t = Math.min(t, (now() - t0) / 1000);
      }
      return t;
    };
    const one = await best(1), many = await best(newTokens);
    return { batch: 1, prompt_tokens: promptLen, new_tokens: newTokens, prefill_s: one, decode_tok_s: (newTokens - 1) / (many - one) };
  } finally {
    engine.dispose();
  }
}

/** One GRPO-shaped step: B sequences of T tokens, the last T - prompt scored, forward + backward + AdamW. */
async function grpoFigure(gpu: GpuContext, config: ModelConfig, kernels: KernelFamily, B: number, T: number, prompt: number) {
  const engine = await createGpuEngine(gpu, config, initWeights(config, 1), { kernels });
  try {
    const batch = Array.from({ length: B }, (_, b) => ({ tokens: tokens(T, config.vocab_size, 100 + b), completionStart: prompt }));
    const Ns = B * (T - prompt);
    // a GRPO weighting: each sequence's advantage over its scored tokens (signs alternate within the group)
    const adv = Array.from({ length: B }, (_, b) => (b % 2 === 0 ? 1 : -1) / Ns);
    const adam = { lr: 1e-5, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
    const step = async () => {
      engine.zeroGrads();
      const lp = await engine.forwardLogprobs(batch);
      await engine.backwardLogprobs(lp.map((r, b) => r.map(() => adv[b])));
      await engine.optimizerStep(adam);
      await gpu.device.queue.onSubmittedWorkDone();
    };
    await step(); // warm: training buffers, pipelines
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = now();
      await step();
      best = Math.min(best, (now() - t0) / 1000);
    }
    let profile: { name: string; ms: number; count: number }[] | undefined;
    if (engine.ops.recorder.startProfiling()) {
      await step();
      profile = (await engine.ops.recorder.profiler!.results()).slice(0, 12);
    }
    return { batch: `${B}x${T}`, scored_tokens: Ns, step_s: best, train_tok_s: (B * T) / best, alias_copies: engine.ops.recorder.counts.aliasCopies, ...(profile ? { kernels_of_profiled_step: profile } : {}) };
  } finally {
    engine.dispose();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const model = args.quick ? tinyConfig({ vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2 }) : smolLM2_135MConfig();
  const n = args.quick ? 256 : 2048;
  const [B, T, prompt] = args.quick ? [2, 16, 4] : [16, 128, 32];
  const newTokens = args.quick ? 8 : 128;
  const gpu = await nodeGpu(bindingBytesFor(model, { B, T }, { B: 1, promptLen: 16, newTokens }));
  const started = now();
  const description = `${gpu.adapterInfo.vendor} ${gpu.adapterInfo.architecture} ${gpu.adapterInfo.device} ${gpu.adapterInfo.description}`;
  const peakTflops = args.peakTflops ?? knownPeak(description);
  const log = (s: string) => console.error(`[${((now() - started) / 1000).toFixed(1)} s] ${s}`);
  log(`adapter ${gpu.adapterInfo.label}; features ${[...gpu.features].join(' ')}; fp32 peak ${peakTflops ?? 'unknown (pass --peak-tflops)'} TFLOP/s`);
  const result: Record<string, unknown> = {
    adapter: gpu.adapterInfo, features: [...gpu.features], peak_tflops: peakTflops ?? null, quick: args.quick, node: process.version,
  };
  try {
    const matmul: MatmulFigure[] = [];
    for (const kernels of ['gpu', 'cpu'] as KernelFamily[]) {
      for (const transB of [false, true]) {
        const f = await matmulFigure(gpu, kernels, n, transB, args.quick ? 2 : 20, peakTflops);
        log(`matmul ${kernels} ${f.shape}: ${f.wall_gflops.toFixed(1)} GFLOP/s wall${f.gpu_gflops ? `, ${f.gpu_gflops.toFixed(1)} GPU-time` : ''}${f.of_peak !== undefined ? `, ${(100 * f.of_peak).toFixed(1)}% of peak` : ''}`);
        matmul.push(f);
      }
    }
    result.matmul = matmul;
    result.decode = await decodeFigure(gpu, model, args.kernels, 16, newTokens);
    log(`decode (batch 1, ${args.kernels} kernels): ${JSON.stringify(result.decode)}`);
    result.grpo_step = await grpoFigure(gpu, model, args.kernels, B, T, prompt);
    log(`GRPO step ${B}x${T} (${args.kernels} kernels): ${JSON.stringify(result.grpo_step)}`);
    const best = Math.max(...matmul.filter((m) => m.kernels === 'gpu').map((m) => m.of_peak ?? 0));
    result.goals = {
      matmul_40pct_of_peak: peakTflops ? best >= 0.4 : null,
      decode_150_tok_s: (result.decode as { decode_tok_s: number }).decode_tok_s >= 150,
      grpo_step_under_1s: (result.grpo_step as { step_s: number }).step_s < 1,
    };
    log(`goals: ${JSON.stringify(result.goals)}${args.quick ? ' (--quick: shapes shrunk, figures not comparable)' : ''}`);
  } catch (e) {
    result.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`failed: ${result.error}`);
    process.exitCode = 1;
  } finally {
    result.wall_s = (now() - started) / 1000;
    if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
    gpu.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.exitCode = 1;
});
