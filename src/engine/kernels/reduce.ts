// Launchers for reduce.wgsl: the GPU family's deterministic two-pass reductions (bias grads, RMSNorm weight
// grads, embedding backward, the gradient norm's sum of squares).
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './reduce.wgsl?raw';

/** Rows per chunk in the first pass of a column sum: long enough to amortise, short enough to fill a GPU. */
const CHUNK_ROWS = 64;
/** Workgroups in the first pass of sumSquares (each 256 invocations wide). */
const SQ_GROUPS = 512;

export type Scratch = (elements: number, role: string) => GPUBuffer;

export async function createReduceKernels(gpu: GpuContext, rec: Recorder, scratch: Scratch) {
  const names = ['colPartial', 'colFinal', 'embedLinks', 'embedGather', 'sqPartial', 'sqFinal'] as const;
  const [colPartial, colFinal, embedLinks, embedGather, sqPartial, sqFinal] = await Promise.all(
    names.map((e) => compileKernel(gpu, source, e, `reduce.${e}`)),
  );
  const chunksOf = (M: number) => Math.ceil(M / CHUNK_ROWS);
  return {
    /** dOut (N) += column sums of x (M,N); with y and r: of x * y * r[row] */
    columnSums(dOut: GpuViewF, x: GpuViewF, M: number, N: number, product?: { y: GpuViewF; r: GpuViewF }): void {
      if (M === 0 || N === 0) return;
      const chunks = chunksOf(M);
      const partials = scratch(chunks * N, 'reduce.columns');
      const mode = product ? 1 : 0;
      const bindings = [partials, rd(x), rd(product?.y ?? x), rd(product?.r ?? x)];
      rec.dispatchFlat(colPartial, bindings, (o) => [M, N, mode, CHUNK_ROWS, 0, o[1], o[2], o[3]], chunks * N);
      rec.dispatchFlat(colFinal, [wr(dOut), partials], (o) => [chunks, N, 0, 0, o[0], 0, 0, 0], N);
    },
    /** dTable (V,C) += dOut (N,C) scattered by tokens (N) */
    embeddingBackward(dTable: GpuViewF, dOut: GpuViewF, tokens: GpuViewI, N: number, C: number, V: number): void {
      if (N === 0 || C === 0) return;
      const links = scratch(2 * N, 'reduce.embedLinks');
      rec.dispatchFlat(embedLinks, [links, rd(tokens)], (o) => [N, 0, 0, 0, 0, o[1], 0, 0], N);
      rec.dispatchFlat(embedGather, [wr(dTable), rd(tokens), rd(dOut), null, links], (o) => [N, C, 0, V, o[0], o[1], o[2], 0], N * C);
    },
    /** out (1) = sum of squares of x (n) */
    sumSquares(out: GpuViewF, x: GpuViewF, n: number): void {
      const groups = Math.max(1, Math.min(SQ_GROUPS, Math.ceil(n / 1024)));
      const partials = scratch(groups, 'reduce.squares');
      rec.dispatch(sqPartial, [partials, rd(x)], (o) => [n, 0, 0, 0, 0, o[1], 0, 0], groups);
      rec.dispatch(sqFinal, [wr(out), partials], (o) => [groups, 0, 0, 0, o[0], 0, 0, 0], 1);
    },
  };
}
