// Launchers for bias.wgsl (Qwen2's q/k/v projection biases).
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './bias.wgsl?raw';

export async function createBiasKernels(gpu: GpuContext, rec: Recorder) {
  const [forward, backward] = await Promise.all([
    compileKernel(gpu, source, 'forward', 'bias.forward'),
    compileKernel(gpu, source, 'backward', 'bias.backward'),
  ]);
  return {
    /** out (M,N) += bias (N) */
    addBias(out: GpuViewF, bias: GpuViewF, M: number, N: number): void {
      rec.dispatchFlat(forward, [wr(out), rd(bias)], (o) => [M, N, ...o], M * N);
    },
    /** dBias (N) += column sums of dOut (M,N) */
    biasBackward(dBias: GpuViewF, dOut: GpuViewF, M: number, N: number): void {
      rec.dispatchFlat(backward, [wr(dBias), rd(dOut)], (o) => [M, N, ...o], N);
    },
  };
}
