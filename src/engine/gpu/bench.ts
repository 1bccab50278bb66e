// The engine benchmark's measurements, shared by the Node script (scripts/bench-engine.ts) and the Chromium
// page it drives: the best matmul this backend runs (its "peak"), prefill, decode and training throughput of
// one engine, and training FLOP/s as a fraction of that peak.

import type { ModelConfig } from '../api.ts';
import type { ModelEngine } from '../engine.ts';
import type { GpuContext } from '../device.ts';
import { headDim, smolLM2_135MConfig, tinyConfig } from '../config.ts';
import { matmulInto } from '../cpu/matmul.ts';
import { createGpuOps, type GpuOps } from './ops.ts';
import type { KernelFamily } from './family.ts';
import type { KernelTime } from './profiler.ts';

export interface BenchPlan {
  name: 'tiny' | 'smollm2-135m';
  config: ModelConfig;
  /** training batch: B sequences of T tokens, all but the first scored */
  B: number;
  T: number;
  /** timed training steps (the fastest counts) */
  trainSteps: number;
  /** timed prefill and sampling runs (the fastest counts) */
  repeats: number;
  promptLen: number;
  newTokens: number;
  /**
   * time the first training step, with no warm-up step (it then includes the training pipelines' compiles
   * and first allocations): for a shape whose every step takes minutes on a slow adapter. Sampling keeps its
   * warm-up (a cold prefill would be mostly compiling, and decode is the difference of two runs).
   */
  cold?: boolean;
}

export function benchPlan(name: string): BenchPlan {
  if (name === 'tiny') return { name, config: tinyConfig(), B: 4, T: 32, trainSteps: 5, repeats: 5, promptLen: 16, newTokens: 16 };
  // SwiftShader runs ~2 GFLOP/s: one 32-token training step of 135M parameters is ~30 GFLOP
  if (name === 'smollm2-135m') return { name, config: smolLM2_135MConfig(), B: 1, T: 32, trainSteps: 1, repeats: 2, promptLen: 16, newTokens: 6 };
  throw new Error(`unknown bench config '${name}' (tiny | smollm2-135m)`);
}

export interface BenchResult {
  backend: 'cpu' | 'webgpu';
  adapter: string;
  config: string;
  matmul_peak_gflops: number;
  matmul_peak_shape: string;
  prefill_tok_s: number;
  /** null when the machine's other load swamped the difference it is measured from */
  decode_tok_s: number | null;
  train_tok_s: number;
  train_gflops: number;
  train_fraction_of_peak: number;
  /**
   * The same fraction with both sides in CPU-seconds instead of wall seconds, where the device IS the CPU
   * (SwiftShader in Node, the CPU reference): immune to other load on a shared machine, blind to idle time.
   */
  train_fraction_of_peak_cpu_time?: number;
  matmul_peak_gflops_cpu_time?: number;
  train_gflops_cpu_time?: number;
  train_step_s: number;
  train_flops_per_step: number;
  batch: string;
  /** GPU time per kernel over one extra training step (WebGPU with timestamp-query only) */
  train_profile?: KernelTime[];
  /** WebGPU: the kernel family measured (gpu/family.ts) */
  kernels?: KernelFamily;
  /** WebGPU: bindings the recorder had to route through a temporary copy (overlapping a writable one) over the whole run */
  alias_copies?: number;
  /** the same by kernel: which op's views still share a 256-byte block (empty with the 64-element layout) */
  alias_copies_by_kernel?: Record<string, number>;
  /** WebGPU: dispatches and submissions over the whole run, and readbacks per sampled token */
  dispatches?: number;
  submits?: number;
  decode_reads_per_token?: number;
}

/** FLOPs of one forward + backward (2 + 4 per multiply-add) of B sequences of T tokens with Ns scored. */
export function trainFlops(config: ModelConfig, B: number, T: number, Ns: number): number {
  const C = config.hidden_size, I = config.intermediate_size, D = headDim(config);
  const H = config.num_attention_heads, Hkv = config.num_key_value_heads, L = config.num_hidden_layers;
  const N = B * T;
  const layerMacs = N * (C * H * D + 2 * C * Hkv * D + H * D * C + 3 * C * I);
  const attentionMacs = B * H * D * T * (T + 1); // q.k and att.v over the causal half
  const headMacs = Ns * config.vocab_size * C;
  return 6 * (L * (layerMacs + attentionMacs) + headMacs);
}

const now = () => performance.now();

/** A matmul peak: best wall-clock GFLOP/s, and best per CPU-second where a CPU clock is given. */
export interface Peak {
  gflops: number;
  shape: string;
  gflopsCpuTime?: number;
}

/** Seconds of CPU time this process has used (all threads: includes an in-process SwiftShader's workers). */
export type CpuClock = () => number;

/** Best GFLOP/s of the WebGPU matmul over shapes the models use, each timed over `reps` back-to-back runs. */
export async function gpuMatmulPeak(
  gpu: GpuContext, shapes: [number, number, number, boolean][], reps = 4, cpuClock?: CpuClock, kernels?: KernelFamily,
): Promise<Peak> {
  const ops = await createGpuOps(gpu, { kernels });
  let best: Peak = { gflops: 0, shape: '' };
  try {
    for (const [M, N, K, transB] of shapes) {
      const a = ops.allocF32(M * K, 'bench.a'), b = ops.allocF32(K * N, 'bench.b'), c = ops.allocF32(M * N, 'bench.c');
      ops.writeF32(a, Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
      ops.writeF32(b, Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5));
      ops.matmul(c, a, b, M, N, K, { transB });
      await ops.readF32(ops.view(c, 0, 1)); // warm: pipelines, first-touch of buffers
      // the fastest single run: other load on the machine only ever adds time
      for (let r = 0; r < reps; r++) {
        const t0 = now(), c0 = cpuClock?.();
        ops.matmul(c, a, b, M, N, K, { transB });
        await ops.readF32(ops.view(c, 0, 1));
        const gflops = (2 * M * N * K) / ((now() - t0) / 1000) / 1e9;
        if (gflops > best.gflops) best = { ...best, gflops, shape: `${M}x${N}x${K}${transB ? ' (x Wt)' : ''}` };
        if (cpuClock && c0 !== undefined) {
          const perCpu = (2 * M * N * K) / (cpuClock() - c0) / 1e9;
          if (perCpu > (best.gflopsCpuTime ?? 0)) best.gflopsCpuTime = perCpu;
        }
      }
      for (const v of [a, b, c]) ops.free(v);
    }
  } finally {
    ops.flush();
    ops.destroy();
  }
  return best;
}

/** Best GFLOP/s of the CPU reference's matmul over the same shapes. */
export function cpuMatmulPeak(shapes: [number, number, number, boolean][], cpuClock?: CpuClock): Peak {
  let best: Peak = { gflops: 0, shape: '' };
  for (const [M, N, K, transB] of shapes) {
    const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
    const c = new Float32Array(M * N);
    matmulInto(c, 0, a, 0, b, 0, M, N, K, false, transB, false);
    for (let r = 0; r < 2; r++) {
      const t0 = now(), c0 = cpuClock?.();
      matmulInto(c, 0, a, 0, b, 0, M, N, K, false, transB, false);
      const gflops = (2 * M * N * K) / ((now() - t0) / 1000) / 1e9;
      if (gflops > best.gflops) best = { ...best, gflops, shape: `${M}x${N}x${K}${transB ? ' (x Wt)' : ''}` };
      if (cpuClock && c0 !== undefined) best.gflopsCpuTime = Math.max(best.gflopsCpuTime ?? 0, (2 * M * N * K) / (cpuClock() - c0) / 1e9);
    }
  }
  return best;
}

/** The matmul shapes of a training step of `plan` (activations times HF weights, and the weight gradients). */
export function planMatmulShapes(plan: BenchPlan): [number, number, number, boolean][] {
  const N = plan.B * plan.T, C = plan.config.hidden_size, I = plan.config.intermediate_size;
  return [
    [N, C, C, true],
    [N, I, C, true],
    [N, C, I, false],
    [Math.max(N, 256), Math.max(C, 256), Math.max(C, 256), false],
  ];
}

function deterministicTokens(count: number, vocab: number, salt: number): number[] {
  return Array.from({ length: count }, (_, i) => (i * 2654435761 + salt * 40503) % vocab >>> 0);
}

/**
 * Prefill, decode and training throughput of `engine`. `sync` waits for queued device work (the engine's
 * optimizer step returns before its update has run on a GPU). profileOps (WebGPU): the engine's ops, for
 * the work counts; with `profile`, one more timestamped training step gives GPU time per kernel.
 */
export async function benchEngine(
  engine: ModelEngine, plan: BenchPlan, peak: Peak, adapter: string,
  sync: () => Promise<void>, log: (line: string) => void = () => {}, profileOps?: GpuOps, cpuClock?: CpuClock, profile = false,
): Promise<BenchResult> {
  const V = plan.config.vocab_size;
  const prompts = Array.from({ length: plan.B }, (_, b) => deterministicTokens(plan.promptLen, V, b + 1));
  const greedy = { temperature: 0, seed: 1, stopTokens: [] as number[] };

  // fastest of `repeats` runs: this machine's other load only ever adds time
  const fastest = async (maxNewTokens: number) => {
    let best = Infinity;
    for (let r = 0; r < plan.repeats; r++) {
      const t0 = now();
      await engine.sample(prompts, { ...greedy, maxNewTokens });
      best = Math.min(best, (now() - t0) / 1000);
    }
    return best;
  };
  await engine.sample(prompts, { ...greedy, maxNewTokens: 2 }); // warm-up: pipelines and first allocations
  const prefillS = await fastest(1);
  const reads0 = profileOps?.recorder.counts.reads ?? 0;
  const sampleS = await fastest(plan.newTokens);
  const decodeReads = ((profileOps?.recorder.counts.reads ?? 0) - reads0) / plan.repeats;
  const prefill_tok_s = (plan.B * plan.promptLen) / prefillS;
  // decode time is the difference of two runs; when other load swamps it, say so rather than invent a rate
  const decodeS = sampleS - prefillS;
  const decode_tok_s = decodeS > 0.05 * sampleS ? (plan.B * (plan.newTokens - 1)) / decodeS : null;
  log(`  prefill ${prefill_tok_s.toFixed(1)} tok/s, decode ${decode_tok_s?.toFixed(2) ?? 'unmeasurable (noise)'} tok/s`);

  // a 4-token prompt and a scored completion: with T a multiple of 4, every matmul dimension (B*T rows in the
  // layers, B*(T-4) scored rows at the LM head) is too, which the vec4 kernels need
  const prompt = 4;
  const batch = Array.from({ length: plan.B }, (_, b) => ({ tokens: deterministicTokens(plan.T, V, 100 + b), completionStart: prompt }));
  const Ns = plan.B * (plan.T - prompt);
  const adam = { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
  const step = async () => {
    engine.zeroGrads();
    const lp = await engine.forwardLogprobs(batch);
    await engine.backwardLogprobs(lp.map((r) => r.map(() => -1 / Ns)));
    await engine.optimizerStep(adam);
    await sync();
  };
  if (!plan.cold) await step(); // warm-up: training buffers and pipelines
  let train_step_s = Infinity, train_step_cpu_s = Infinity;
  for (let s = 0; s < plan.trainSteps; s++) {
    const t0 = now(), c0 = cpuClock?.();
    await step();
    train_step_s = Math.min(train_step_s, (now() - t0) / 1000);
    if (cpuClock && c0 !== undefined) train_step_cpu_s = Math.min(train_step_cpu_s, cpuClock() - c0);
  }
  let train_profile: KernelTime[] | undefined;
  if (profile && profileOps?.recorder.startProfiling()) {
    await step();
    train_profile = await profileOps.recorder.profiler!.results();
    const total = train_profile.reduce((a, k) => a + k.ms, 0);
    log(`  profiled step: ${total.toFixed(0)} ms of kernels; ${train_profile.slice(0, 6).map((k) => `${k.name} ${k.ms.toFixed(0)} ms`).join(', ')}`);
  }
  const flops = trainFlops(plan.config, plan.B, plan.T, Ns);
  const train_gflops = flops / train_step_s / 1e9;
  log(`  train step ${train_step_s.toFixed(3)} s, ${train_gflops.toFixed(3)} GFLOP/s`);
  const cpuTime = cpuClock && peak.gflopsCpuTime && Number.isFinite(train_step_cpu_s)
    ? { matmul_peak_gflops_cpu_time: peak.gflopsCpuTime, train_gflops_cpu_time: flops / train_step_cpu_s / 1e9,
        train_fraction_of_peak_cpu_time: flops / train_step_cpu_s / 1e9 / peak.gflopsCpuTime }
    : {};
  return {
    backend: engine.backend,
    adapter,
    config: plan.name,
    matmul_peak_gflops: peak.gflops,
    matmul_peak_shape: peak.shape,
    prefill_tok_s,
    decode_tok_s,
    train_tok_s: (plan.B * plan.T) / train_step_s,
    train_gflops,
    train_fraction_of_peak: train_gflops / peak.gflops,
    ...cpuTime,
    train_step_s,
    train_flops_per_step: flops,
    batch: `train ${plan.B}x${plan.T}, prompt ${plan.B}x${plan.promptLen}, ${plan.newTokens} new${plan.cold ? ', first training step timed (no warm-up step)' : ''}`,
    ...(train_profile ? { train_profile } : {}),
    ...(profileOps ? {
      kernels: profileOps.family,
      alias_copies: profileOps.recorder.counts.aliasCopies,
      alias_copies_by_kernel: Object.fromEntries(profileOps.recorder.aliasCopiesByKernel),
      dispatches: profileOps.recorder.counts.dispatches,
      submits: profileOps.recorder.counts.submits,
      decode_reads_per_token: decodeReads / plan.newTokens,
    } : {}),
  };
}
