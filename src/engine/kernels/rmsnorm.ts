// Launchers for rmsnorm.wgsl.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import { compileKernel, f32bits, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './rmsnorm.wgsl?raw';

export async function createRmsnormKernels(gpu: GpuContext, rec: Recorder) {
  const [forward, backwardInput, backwardWeight] = await Promise.all([
    compileKernel(gpu, source, 'forward', 'rmsnorm.forward'),
    compileKernel(gpu, source, 'backwardInput', 'rmsnorm.backwardInput'),
    compileKernel(gpu, source, 'backwardWeight', 'rmsnorm.backwardWeight'),
  ]);
  return {
    /** out (N,C) = x / rms(x) * weight; rstd (N) saved */
    forward(out: GpuViewF, rstd: GpuViewF, x: GpuViewF, weight: GpuViewF, N: number, C: number, eps: number): void {
      rec.dispatchGroups(forward, [wr(out), wr(rstd), rd(x), rd(weight)], (o) => [N, C, f32bits(eps), ...o], N);
    },
    /** dx (N,C) +=, dWeight (C) += */
    backward(dx: GpuViewF, dWeight: GpuViewF, dOut: GpuViewF, x: GpuViewF, weight: GpuViewF, rstd: GpuViewF, N: number, C: number): void {
      rec.dispatchGroups(backwardInput, [wr(dx), rd(dOut), rd(x), rd(weight), rd(rstd)], (o) => [N, C, 0, ...o], N);
      rec.dispatchFlat(backwardWeight, [wr(dWeight), rd(dOut), rd(x), rd(rstd)], (o) => [N, C, 0, ...o], C);
    },
  };
}
