// Launchers for logprobs.wgsl: token logprobs (log-softmax + gather) and their backward.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './logprobs.wgsl?raw';

const WG = 64;
/** Vocabulary entries one invocation scans in the forward (fewer chunks for small vocabularies). */
const CHUNK = 512;

export async function createLogprobsKernels(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer) {
  const [chunkStats, combine, backward] = await Promise.all(
    ['chunkStats', 'combine', 'backward'].map((e) => compileKernel(gpu, source, e, `logprobs.${e}`)),
  );
  return {
    /** logprobs (N), lse (N) from logits (N,V) and targets (N) */
    forward(logprobs: GpuViewF, lse: GpuViewF, logits: GpuViewF, targets: GpuViewI, N: number, V: number): void {
      const chunks = Math.max(1, Math.min(256, Math.ceil(V / CHUNK)));
      const partials = scratch(2 * N * chunks, 'logprobs.partials');
      rec.dispatchFlat(chunkStats, [partials, null, rd(logits)], (o) => [N, V, chunks, 0, 0, o[2], 0, 0], N * chunks, WG);
      rec.dispatchFlat(combine, [wr(logprobs), wr(lse), rd(logits), partials, rd(targets)], (o) => [N, V, chunks, ...o], N, WG);
    },
    /** dLogits (N,V) overwritten */
    backward(dLogits: GpuViewF, dLogprobs: GpuViewF, logits: GpuViewF, lse: GpuViewF, targets: GpuViewI, N: number, V: number): void {
      rec.dispatchFlat(backward, [wr(dLogits), rd(dLogprobs), rd(logits), rd(lse), rd(targets)], (o) => [N, V, 0, ...o], N * V, WG);
    },
  };
}
