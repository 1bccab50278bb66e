// Launchers for residual.wgsl: the residual add and gradient accumulation.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './residual.wgsl?raw';

export async function createResidualKernels(gpu: GpuContext, rec: Recorder) {
  const [add, accumulate, copy] = await Promise.all([
    compileKernel(gpu, source, 'add', 'residual.add'),
    compileKernel(gpu, source, 'accumulate', 'residual.accumulate'),
    compileKernel(gpu, source, 'copy', 'residual.copy'),
  ]);
  return {
    /** out = a + b (n); out may alias a */
    add(out: GpuViewF, a: GpuViewF, b: GpuViewF, n: number): void {
      rec.dispatchFlat(add, [wr(out), rd(a), rd(b)], (o) => [n, ...o], n);
    },
    /** out += a (n) */
    accumulate(out: GpuViewF, a: GpuViewF, n: number): void {
      rec.dispatchFlat(accumulate, [wr(out), rd(a)], (o) => [n, ...o], n);
    },
    /** out = a (n); for non-overlapping views of the same buffer */
    copy(out: GpuViewF, a: GpuViewF, n: number): void {
      rec.dispatchFlat(copy, [wr(out), rd(a)], (o) => [n, ...o], n);
    },
  };
}
