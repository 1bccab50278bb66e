// Launcher for matmul-half.wgsl: x Wᵀ with W stored as packed f16 (frozen weights at half the bytes), and
// the input gradient dy W through the same weight.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import { lazyKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './matmul-half.wgsl?raw';

export async function createHalfMatmulKernels(gpu: GpuContext, rec: Recorder) {
  // only an engine with an f16 frozen base runs them: compiled on first use
  const forward = lazyKernel(gpu, source, 'main', 'matmul.half', true);
  const inputGrad = lazyKernel(gpu, source, 'input_grad', 'matmul.half.dx', true);
  return {
    /** out (M,N) (+)= x (M,K) Wᵀ, w (N, K/2) words of halves */
    matmul(out: GpuViewF, x: GpuViewF, w: GpuViewI, M: number, N: number, K: number, accumulate: boolean): void {
      rec.dispatchGroups(forward, [wr(out), rd(x), rd(w)], (o) => [M, N, K, accumulate ? 1 : 0, ...o], M * N);
    },
    /** dx (M,K) (+)= dy (M,N) W, w (N, K/2) words of halves; one invocation per pair of dx */
    inputGrad(dx: GpuViewF, dy: GpuViewF, w: GpuViewI, M: number, N: number, K: number, accumulate: boolean): void {
      rec.dispatchFlat(inputGrad, [wr(dx), rd(dy), rd(w)], (o) => [M, N, K, accumulate ? 1 : 0, ...o], (M * K) / 2, 64);
    },
  };
}
