// npm run bench:engine [-- --json FILE] [--config tiny|smollm2-135m] [--backend cpu|webgpu] [--browser] [--profile]
//                         [--batch B] [--kernels gpu|cpu|both] [--seq T] [--prompt P] [--new N] [--repeats R] [--steps S] [--cold]
// Measures the engine on the CPU reference and on WebGPU (Node: Dawn from the `webgpu` package; --browser:
// headless Chromium driving scripts/bench-engine.html), prints a table and optionally writes the rows as JSON.
// Weights are random (initWeights); only shapes matter for speed. --profile adds one timestamped training
// step on WebGPU and reports GPU time per kernel (timestamp-query). --kernels picks the WebGPU kernel family
// (default: the adapter's; both: one row per family, for comparing them as ratios in one run).

import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requestGpu } from '../src/engine/device.ts';
import { createCpuEngine } from '../src/engine/cpu/index.ts';
import { bindingBytesFor, createGpuEngine, isCpuAdapter, isKernelFamily, type KernelFamily } from '../src/engine/gpu/index.ts';
import { initWeights } from '../src/engine/init.ts';
import {
  benchEngine, benchPlan, cpuMatmulPeak, gpuMatmulPeak, planMatmulShapes, type BenchPlan, type BenchResult,
} from '../src/engine/gpu/bench.ts';

interface Args {
  json?: string;
  configs: string[];
  backends: ('cpu' | 'webgpu')[];
  browser: boolean;
  profile: boolean;
  /** overrides the plan's batch (training rows and prompts) */
  batch?: number;
  /** WebGPU kernel families to measure; undefined: the adapter's choice */
  kernels: (KernelFamily | undefined)[];
  /**
   * overrides of the plan's sizes, so a big shape finishes on a slow adapter (SmolLM2 on SwiftShader):
   * T training tokens per row, prompt tokens and new tokens for sampling, timed repeats and train steps
   */
  sizes: Partial<Pick<BenchPlan, 'T' | 'promptLen' | 'newTokens' | 'repeats' | 'trainSteps' | 'cold'>>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { configs: ['tiny', 'smollm2-135m'], backends: ['cpu', 'webgpu'], browser: false, profile: false, kernels: [undefined], sizes: {} };
  const positive = (flag: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = value();
    else if (a === '--config') args.configs = [value()];
    else if (a === '--backend') {
      const b = value();
      if (b !== 'cpu' && b !== 'webgpu') throw new Error(`--backend must be cpu or webgpu, got ${b}`);
      args.backends = [b];
    } else if (a === '--browser') args.browser = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--kernels') {
      const k = value();
      if (k === 'both') args.kernels = ['cpu', 'gpu'];
      else if (isKernelFamily(k)) args.kernels = [k];
      else throw new Error(`--kernels must be gpu, cpu or both, got ${k}`);
    }
    else if (a === '--batch') {
      const b = Number(value());
      if (!Number.isInteger(b) || b < 1) throw new Error(`--batch must be a positive integer, got ${b}`);
      args.batch = b;
    }
    // T: a multiple of 4 above the 4-token training prompt, so every matmul dimension suits the vec4 kernels
    else if (a === '--seq') {
      const t = positive(a, value(), 8);
      if (t % 4 !== 0) throw new Error(`--seq must be a multiple of 4, got ${t}`);
      args.sizes.T = t;
    }
    else if (a === '--prompt') args.sizes.promptLen = positive(a, value());
    else if (a === '--new') args.sizes.newTokens = positive(a, value(), 2);
    else if (a === '--repeats') args.sizes.repeats = positive(a, value());
    else if (a === '--steps') args.sizes.trainSteps = positive(a, value());
    else if (a === '--cold') args.sizes.cold = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const c of args.configs) benchPlan(c); // validates the name
  if (args.browser && Object.keys(args.sizes).length > 0) throw new Error('--seq/--prompt/--new/--repeats/--steps/--cold apply to Node runs only (the page runs the plan as named)');
  return args;
}

/** Bytes of the largest single buffer a plan allocates: the device must be able to bind it. */
function largestBuffer(plan: BenchPlan): number {
  return bindingBytesFor(plan.config, plan, { B: plan.B, promptLen: plan.promptLen, newTokens: plan.newTokens });
}

async function nodeGpu(minBinding: number) {
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  (globalThis as { __benchGpu?: GPU }).__benchGpu = gpu; // Dawn tears the instance down if it is collected
  const context = await requestGpu({ gpu, minStorageBufferBindingSize: minBinding });
  if (!context) throw new Error('no WebGPU adapter in Node (apt-get install chromium libvulkan1; VK_ICD_FILENAMES)');
  return context;
}

async function runNode(plan: BenchPlan, backend: 'cpu' | 'webgpu', profile: boolean, kernels?: KernelFamily): Promise<BenchResult> {
  const log = (line: string) => console.error(line);
  console.error(`${plan.name} on ${backend} (node): ${plan.config.num_hidden_layers} layers, hidden ${plan.config.hidden_size}`);
  const weights = initWeights(plan.config, 1);
  const shapes = planMatmulShapes(plan);
  // process CPU time, all threads: the CPU reference, or SwiftShader's workers inside this process
  const cpuClock = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  if (backend === 'cpu') {
    const peak = cpuMatmulPeak(shapes, cpuClock);
    const engine = createCpuEngine(plan.config, weights);
    try {
      return await benchEngine(engine, plan, peak, `cpu reference (node ${process.version})`, async () => {}, log, undefined, cpuClock);
    } finally {
      engine.dispose();
    }
  }
  const gpu = await nodeGpu(largestBuffer(plan));
  try {
    const onCpu = isCpuAdapter(gpu);
    const peak = await gpuMatmulPeak(gpu, shapes, 4, onCpu ? cpuClock : undefined, kernels);
    log(`  matmul peak ${peak.gflops.toFixed(2)} GFLOP/s at ${peak.shape}`);
    const engine = await createGpuEngine(gpu, plan.config, weights, { kernels });
    log(`  kernel family ${engine.ops.family}`);
    try {
      const sync = () => gpu.device.queue.onSubmittedWorkDone();
      return await benchEngine(engine, plan, peak, `${gpu.adapterInfo.label} (node dawn)`, sync, log, engine.ops, onCpu ? cpuClock : undefined, profile);
    } finally {
      engine.dispose();
    }
  } finally {
    gpu.destroy();
  }
}

async function runBrowser(plans: BenchPlan[], kernels: (KernelFamily | undefined)[], profileKernels: boolean): Promise<BenchResult[]> {
  const { createServer } = await import('vite');
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import('../test/setup/chromium.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const server = await createServer({
    root, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0 },
    optimizeDeps: { entries: ['scripts/bench-engine.html'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not start');
  const profile = mkdtempSync(join(tmpdir(), 'bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await context.newPage();
    page.on('console', (m) => console.error(`  [page] ${m.text()}`));
    await page.goto(`http://127.0.0.1:${address.port}/scripts/bench-engine.html`);
    await page.waitForFunction(() => 'runBench' in window, undefined, { timeout: 60_000 });
    const results: BenchResult[] = [];
    for (const plan of plans) {
      console.error(`${plan.name} on webgpu (chromium)`);
      for (const k of kernels) {
        const r = await page.evaluate(
          ([name, minBinding, B, fam, prof]) =>
            (window as unknown as { runBench(n: string, m: number, b: number, k: string | null, p: boolean): Promise<BenchResult> }).runBench(name, minBinding, B, fam, prof),
          [plan.name, largestBuffer(plan), plan.B, k ?? null, profileKernels] as const,
        );
        results.push(r);
      }
    }
    return results;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await server.close();
  }
}

function table(rows: BenchResult[]): string {
  const cols: [string, (r: BenchResult) => string][] = [
    ['config', (r) => r.config],
    ['backend', (r) => (r.kernels ? `${r.backend}/${r.kernels}` : r.backend)],
    ['adapter', (r) => r.adapter],
    ['peak GF/s', (r) => r.matmul_peak_gflops.toFixed(2)],
    ['prefill tok/s', (r) => r.prefill_tok_s.toFixed(1)],
    ['decode tok/s', (r) => r.decode_tok_s?.toFixed(2) ?? '-'],
    ['train tok/s', (r) => r.train_tok_s.toFixed(2)],
    ['train GF/s', (r) => r.train_gflops.toFixed(3)],
    ['of peak', (r) => r.train_fraction_of_peak.toFixed(2)],
    ['of peak (cpu-s)', (r) => r.train_fraction_of_peak_cpu_time?.toFixed(2) ?? '-'],
    ['alias copies', (r) => (r.alias_copies === undefined ? '-' : String(r.alias_copies))],
    ['reads/token', (r) => r.decode_reads_per_token?.toFixed(2) ?? '-'],
  ];
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  return cells.map((row) => row.map((v, c) => v.padEnd(widths[c])).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plans = args.configs.map(benchPlan).map((p) => ({ ...p, ...(args.batch ? { B: args.batch } : {}), ...args.sizes }));
  const rows: BenchResult[] = [];
  if (args.browser) {
    rows.push(...(await runBrowser(plans, args.kernels, args.profile)));
  } else {
    for (const plan of plans) {
      for (const backend of args.backends) {
        for (const k of backend === 'cpu' ? [undefined] : args.kernels) {
          rows.push(await runNode(plan, backend, args.profile, k));
          // each row as it is measured: a long run stopped early keeps what it had
          if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 2) + '\n');
        }
      }
    }
  }
  console.log(table(rows));
  for (const r of rows) {
    if (!r.train_profile) continue;
    const total = r.train_profile.reduce((a, k) => a + k.ms, 0);
    console.log(`kernels of one training step, ${r.config} ${r.backend}/${r.kernels ?? ''} (${total.toFixed(1)} ms):`);
    for (const k of r.train_profile.slice(0, 12)) console.log(`  ${k.name.padEnd(32)} ${k.ms.toFixed(2).padStart(10)} ms  x${k.count}`);
  }
  const { loadavg } = await import('node:os');
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (wall-clock rates on a shared machine vary with it)`);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify(rows, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.exitCode = 1;
});
