// Launcher for sample.wgsl: token choice (argmax / temperature / top-k / top-p) and the chosen token's
// logprob on the GPU, one workgroup per row.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import type { SamplerParams } from '../ops.ts';
import { lazyKernel, f32bits, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './sample.wgsl?raw';

export async function createSampleKernels(gpu: GpuContext, rec: Recorder) {
  // only a sampling engine runs it: compiled on first use
  const kernel = lazyKernel(gpu, source, 'main', 'sample');
  return {
    /** choice (B,2) = (token, logprob); next (B) = token; logits (B,V); draws (B) raw uint32 uniforms */
    sample(choice: GpuViewF, next: GpuViewI, logits: GpuViewF, draws: GpuViewI, B: number, V: number, o: SamplerParams): void {
      const params = (off: number[]) => [B, V, f32bits(o.temperature), o.topK ?? 0, f32bits(o.topP ?? 1), ...off];
      rec.dispatch(kernel, [wr(choice), wr(next), rd(logits), rd(draws)], params, B);
    },
  };
}
