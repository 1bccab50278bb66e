// Launchers for adamw.wgsl: the flat AdamW step and the two-stage sum of squares for gradient clipping.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import type { AdamWParams } from '../ops.ts';
import { compileKernel, f32bits, FLAT_WORKGROUP, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './adamw.wgsl?raw';

/** Partial sums in the first stage of sumSquares: enough invocations to fill a GPU, few enough for one to add. */
const PARTIALS = 4096;

export async function createAdamwKernels(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer) {
  const [adamw, partial, final] = await Promise.all([
    compileKernel(gpu, source, 'adamw', 'adamw'),
    compileKernel(gpu, source, 'sumSquaresPartial', 'sumSquares.partial'),
    compileKernel(gpu, source, 'sumSquaresFinal', 'sumSquares.final'),
  ]);
  return {
    adamw(params: GpuViewF, grads: GpuViewF, m: GpuViewF, v: GpuViewF, decayMask: GpuViewF, n: number, p: AdamWParams): void {
      const bc1 = 1 - Math.pow(p.beta1, p.step);
      const bc2 = 1 - Math.pow(p.beta2, p.step);
      const floats = [p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, bc1, bc2, p.gradScale].map(f32bits);
      rec.dispatchFlat(adamw, [wr(params), rd(grads), wr(m), wr(v), rd(decayMask)], (o) => [n, ...o, ...floats, 0], n);
    },
    /** out (1) = sum of x (n) squared */
    sumSquares(out: GpuViewF, x: GpuViewF, n: number): void {
      const stride = Math.max(1, Math.min(PARTIALS, Math.ceil(n / 64)));
      const partials = scratch(stride, 'sumSquares.partials');
      // uniform layout of adamw.wgsl: n, o_0, o_1, (unused o_2..o_4 and 8 floats), stride
      const header = (count: number, o0: number, o1: number) => [count, o0, o1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, stride];
      rec.dispatch(partial, [partials, rd(x)], (o) => header(n, 0, o[1]), Math.ceil(stride / FLAT_WORKGROUP));
      rec.dispatch(final, [wr(out), partials], (o) => header(stride, o[0], 0), 1);
    },
  };
}
