// Launchers for rmsnorm.wgsl.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import { compileKernel, f32bits, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './rmsnorm.wgsl?raw';

const WG = 64;

export async function createRmsnormKernels(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer) {
  const [rowRstd, apply, rowDot, backwardInput, backwardWeight] = await Promise.all(
    ['rowRstd', 'apply', 'rowDot', 'backwardInput', 'backwardWeight'].map((e) => compileKernel(gpu, source, e, `rmsnorm.${e}`)),
  );
  return {
    /** out (N,C) = x / rms(x) * weight; rstd (N) saved */
    forward(out: GpuViewF, rstd: GpuViewF, x: GpuViewF, weight: GpuViewF, N: number, C: number, eps: number): void {
      rec.dispatchFlat(rowRstd, [wr(rstd), rd(x)], (o) => [N, C, f32bits(eps), ...o], N, WG);
      rec.dispatchFlat(apply, [wr(out), rd(rstd), rd(x), rd(weight)], (o) => [N, C, 0, ...o], N * C, WG);
    },
    /**
     * dx (N,C) +=, dWeight (C) +=. weightGrad, when given, computes dWeight instead of the one-invocation-per-
     * column kernel (the GPU family's two-pass column sum of dOut * x * rstd).
     */
    backward(
      dx: GpuViewF, dWeight: GpuViewF, dOut: GpuViewF, x: GpuViewF, weight: GpuViewF, rstd: GpuViewF, N: number, C: number,
      weightGrad?: (dWeight: GpuViewF, dOut: GpuViewF, x: GpuViewF, rstd: GpuViewF) => void,
    ): void {
      const mean = scratch(N, 'rmsnorm.mean');
      rec.dispatchFlat(rowDot, [mean, rd(dOut), rd(x), rd(weight), rd(rstd)], (o) => [N, C, 0, ...o], N, WG);
      rec.dispatchFlat(backwardInput, [wr(dx), rd(dOut), rd(x), rd(weight), rd(rstd), mean], (o) => [N, C, 0, ...o], N * C, WG);
      if (weightGrad) weightGrad(dWeight, dOut, x, rstd);
      else rec.dispatchFlat(backwardWeight, [wr(dWeight), rd(dOut), rd(x), rd(rstd)], (o) => [N, C, 0, ...o], C, WG);
    },
  };
}
