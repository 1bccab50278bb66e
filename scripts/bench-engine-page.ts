// Browser side of `npm run bench:engine -- --browser`: the same measurements as in Node, on the page's WebGPU.
import { requestGpu } from '../src/engine/device.ts';
import { createGpuEngine, isKernelFamily } from '../src/engine/gpu/index.ts';
import { initWeights } from '../src/engine/init.ts';
import { benchEngine, benchPlan, gpuMatmulPeak, planMatmulShapes, type BenchResult } from '../src/engine/gpu/bench.ts';

async function runBench(name: string, minBinding: number, B?: number, kernels?: string | null, profile = false): Promise<BenchResult> {
  const family = kernels && isKernelFamily(kernels) ? kernels : undefined;
  const plan = B ? { ...benchPlan(name), B } : benchPlan(name);
  const gpu = await requestGpu({ minStorageBufferBindingSize: minBinding });
  if (!gpu) throw new Error('no WebGPU adapter in this page');
  try {
    const peak = await gpuMatmulPeak(gpu, planMatmulShapes(plan), 4, undefined, family);
    console.log(`matmul peak ${peak.gflops.toFixed(2)} GFLOP/s at ${peak.shape}`);
    const engine = await createGpuEngine(gpu, plan.config, initWeights(plan.config, 1), { kernels: family });
    try {
      return await benchEngine(engine, plan, peak, `${gpu.adapterInfo.label} (chromium)`, () => gpu.device.queue.onSubmittedWorkDone(), (l) => console.log(l), engine.ops, undefined, profile);
    } finally {
      engine.dispose();
    }
  } finally {
    gpu.destroy();
  }
}

(window as unknown as { runBench: typeof runBench }).runBench = runBench;
