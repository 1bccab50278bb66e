// Launchers for swiglu.wgsl.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './swiglu.wgsl?raw';

export async function createSwigluKernels(gpu: GpuContext, rec: Recorder) {
  const [forward, backward] = await Promise.all([
    compileKernel(gpu, source, 'forward', 'swiglu.forward'),
    compileKernel(gpu, source, 'backward', 'swiglu.backward'),
  ]);
  return {
    /** out (N,I) = silu(gate) * up */
    forward(out: GpuViewF, gate: GpuViewF, up: GpuViewF, N: number, I: number): void {
      const n = N * I;
      rec.dispatchFlat(forward, [wr(out), rd(gate), rd(up)], (o) => [n, ...o], n);
    },
    /** dGate, dUp (N,I) overwritten */
    backward(dGate: GpuViewF, dUp: GpuViewF, dOut: GpuViewF, gate: GpuViewF, up: GpuViewF, N: number, I: number): void {
      const n = N * I;
      rec.dispatchFlat(backward, [wr(dGate), wr(dUp), rd(dOut), rd(gate), rd(up)], (o) => [n, ...o], n);
    },
  };
}
