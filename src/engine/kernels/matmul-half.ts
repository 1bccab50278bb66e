// Launcher for matmul-half.wgsl: x Wᵀ with W stored as packed f16 (frozen weights at half the bytes).
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './matmul-half.wgsl?raw';

export async function createHalfMatmulKernels(gpu: GpuContext, rec: Recorder) {
  const kernel = await compileKernel(gpu, source, 'main', 'matmul.half', true);
  return {
    /** out (M,N) (+)= x (M,K) Wᵀ, w (N, K/2) words of halves */
    matmul(out: GpuViewF, x: GpuViewF, w: GpuViewI, M: number, N: number, K: number, accumulate: boolean): void {
      rec.dispatchGroups(kernel, [wr(out), rd(x), rd(w)], (o) => [M, N, K, accumulate ? 1 : 0, ...o], M * N);
    },
  };
}
