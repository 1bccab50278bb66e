// Launchers for embedding.wgsl.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './embedding.wgsl?raw';

export async function createEmbeddingKernels(gpu: GpuContext, rec: Recorder) {
  const [forward, backward] = await Promise.all([
    compileKernel(gpu, source, 'forward', 'embedding.forward'),
    compileKernel(gpu, source, 'backward', 'embedding.backward'),
  ]);
  return {
    /** out (N,C) = table (V,C) [tokens (N)] */
    forward(out: GpuViewF, tokens: GpuViewI, table: GpuViewF, N: number, C: number): void {
      const V = Math.floor(table.length / C);
      rec.dispatchFlat(forward, [wr(out), rd(tokens), rd(table)], (o) => [N, C, V, ...o], N * C);
    },
    /** dTable (V,C) += scatter of dOut (N,C) by tokens */
    backward(dTable: GpuViewF, dOut: GpuViewF, tokens: GpuViewI, N: number, C: number, V: number): void {
      rec.dispatchFlat(backward, [wr(dTable), rd(tokens), rd(dOut)], (o) => [N, C, V, ...o], C);
    },
  };
}
