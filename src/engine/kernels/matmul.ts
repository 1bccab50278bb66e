// Launcher for matmul.wgsl: out (M,N) (+)= op(a) op(b) in four transpose variants, each its own pipeline.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import type { MatmulOptions } from '../ops.ts';
import { compileKernel, rd, wr, type Kernel, type Recorder } from '../gpu/recorder.ts';
import source from './matmul.wgsl?raw';

/** Rows and columns of C one workgroup covers: 8x8 invocations, 4x4 outputs each. */
export const MATMUL_TILE = 32;

export function matmulSource(transA: boolean, transB: boolean): string {
  return source
    .replace('const TRANS_A = false;', `const TRANS_A = ${transA};`)
    .replace('const TRANS_B = false;', `const TRANS_B = ${transB};`);
}

export async function createMatmulKernels(gpu: GpuContext, rec: Recorder) {
  const variants: Kernel[] = await Promise.all(
    [0, 1, 2, 3].map((i) => compileKernel(gpu, matmulSource((i & 1) !== 0, (i & 2) !== 0), 'main', `matmul.${['nn', 'tn', 'nt', 'tt'][i]}`)),
  );
  return {
    matmul(out: GpuViewF, a: GpuViewF, b: GpuViewF, M: number, N: number, K: number, options: MatmulOptions = {}): void {
      const kernel = variants[(options.transA ? 1 : 0) | (options.transB ? 2 : 0)];
      if (M === 0 || N === 0) return;
      rec.dispatch(kernel, [wr(out), rd(a), rd(b)], (o) => [M, N, K, options.accumulate ? 1 : 0, ...o],
        Math.ceil(N / MATMUL_TILE), Math.ceil(M / MATMUL_TILE));
    },
  };
}
