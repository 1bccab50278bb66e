// Launchers for adamw.wgsl: the flat AdamW step and the two-stage sum of squares for gradient clipping, each
// on vec4 items when every view offset and n allow it.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import type { AdamWParams } from '../ops.ts';
import { compileKernel, lazyKernel, f32bits, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './adamw.wgsl?raw';

const WG = 64;
/** Partial sums in the first stage of sumSquares: enough invocations to fill a GPU, few enough for one to add. */
const PARTIALS = 16384;

export interface LoopShape {
  threads: number;
  perThread: number;
  threadStep: number;
  iterStep: number;
}

/**
 * How `items` are spread over invocations: contiguous blocks per invocation on a CPU-backed adapter, a
 * strided (coalesced) walk on a GPU. `maxThreads` caps the invocation count (sumSquares needs a fixed one).
 */
export function loopShape(items: number, cpuLike: boolean, maxThreads: number): LoopShape {
  const threads = Math.max(1, Math.min(maxThreads, cpuLike ? Math.ceil(items / 256) : items));
  const perThread = Math.max(1, Math.ceil(items / threads));
  return cpuLike ? { threads, perThread, threadStep: perThread, iterStep: 1 } : { threads, perThread, threadStep: 1, iterStep: threads };
}

export async function createAdamwKernels(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer, cpuLike: boolean) {
  const [adamw, adamw4] = await Promise.all(['adamw', 'adamw4'].map((e) => compileKernel(gpu, source, e, e)));
  // the gradient norm of the 'cpu' family (the 'gpu' family's is reduce.wgsl's): compiled on first use
  const [partial, partial4, final] = ['sumSquaresPartial', 'sumSquaresPartial4', 'sumSquaresFinal'].map((e) => lazyKernel(gpu, source, e, e));
  const loop = (l: LoopShape) => [l.threads, l.perThread, l.threadStep, l.iterStep];
  return {
    /** decay: (ranges, 2) [start, end) element ranges of params where weight decay applies */
    adamw(params: GpuViewF, grads: GpuViewF, m: GpuViewF, v: GpuViewF, decay: GpuViewI, n: number, ranges: number, p: AdamWParams): void {
      const bc1 = 1 - Math.pow(p.beta1, p.step);
      const bc2 = 1 - Math.pow(p.beta2, p.step);
      const floats = [p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, bc1, bc2, p.gradScale].map(f32bits);
      const bindings = [wr(params), rd(grads), wr(m), wr(v), rd(decay)];
      // vec4 items need every float binding's offset (view offset mod 64) and n to be multiples of 4
      const vec4 = n % 4 === 0 && [params, grads, m, v].every((x) => x.offset % 4 === 0);
      const items = vec4 ? n / 4 : n;
      const l = loopShape(items, cpuLike, 1 << 22);
      rec.dispatchFlat(vec4 ? adamw4 : adamw, bindings, (o) => [items, ...o.slice(0, 4).map((x) => (vec4 ? x / 4 : x)), o[4], ranges, ...floats, ...loop(l)], l.threads, WG);
    },
    /** out (1) = sum of x (n) squared */
    sumSquares(out: GpuViewF, x: GpuViewF, n: number): void {
      const vec4 = n % 4 === 0 && x.offset % 4 === 0;
      const items = vec4 ? n / 4 : n;
      const l = loopShape(items, cpuLike, PARTIALS);
      const partials = scratch(l.threads, 'sumSquares.partials');
      const header = (count: number, o0: number, o1: number, shape: number[]) => [count, o0, o1, ...new Array<number>(12).fill(0), ...shape];
      rec.dispatchFlat(vec4 ? partial4 : partial, [partials, rd(x)], (o) => header(items, 0, vec4 ? o[1] / 4 : o[1], loop(l)), l.threads, WG);
      rec.dispatch(final, [wr(out), partials], (o) => header(l.threads, o[0], 0, [0, 0, 0, 0]), 1);
    },
  };
}
