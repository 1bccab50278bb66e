// Launchers for logprobs.wgsl: token logprobs (log-softmax + gather) and their backward.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import { compileKernel, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './logprobs.wgsl?raw';

export async function createLogprobsKernels(gpu: GpuContext, rec: Recorder) {
  const [forward, backward] = await Promise.all([
    compileKernel(gpu, source, 'forward', 'logprobs.forward'),
    compileKernel(gpu, source, 'backward', 'logprobs.backward'),
  ]);
  return {
    /** logprobs (N), lse (N) from logits (N,V) and targets (N) */
    forward(logprobs: GpuViewF, lse: GpuViewF, logits: GpuViewF, targets: GpuViewI, N: number, V: number): void {
      rec.dispatchGroups(forward, [wr(logprobs), wr(lse), rd(logits), null, rd(targets)], (o) => [N, V, ...o], N);
    },
    /** dLogits (N,V) overwritten */
    backward(dLogits: GpuViewF, dLogprobs: GpuViewF, logits: GpuViewF, lse: GpuViewF, targets: GpuViewI, N: number, V: number): void {
      rec.dispatchFlat(backward, [wr(dLogits), rd(dLogprobs), rd(logits), rd(lse), rd(targets)], (o) => [N, V, ...o], N * V);
    },
  };
}
