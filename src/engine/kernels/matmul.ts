// Launcher for matmul.wgsl: out (M,N) (+)= op(a) op(b) in four transpose variants, each its own pipeline.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import type { MatmulOptions } from '../ops.ts';
import { compileKernel, rd, wr, type Kernel, type Recorder } from '../gpu/recorder.ts';
import source from './matmul.wgsl?raw';

/** Rows and columns of C one workgroup covers: 8x8 invocations, 4x4 outputs each. */
export const MATMUL_TILE = 32;
/** Below this many rows the one-row-per-invocation kernel wastes less than the 4-row tile. */
const SKINNY_ROWS = 4;

export function matmulSource(transA: boolean, transB: boolean): string {
  return source
    .replace('const TRANS_A = false;', `const TRANS_A = ${transA};`)
    .replace('const TRANS_B = false;', `const TRANS_B = ${transB};`);
}

/** cpuLike: the adapter is a CPU (SwiftShader): 16x16 outputs per invocation pay off there (main16). */
export async function createMatmulKernels(gpu: GpuContext, rec: Recorder, cpuLike: boolean) {
  const names = ['nn', 'tn', 'nt', 'tt'];
  const compile = (entry: string) =>
    Promise.all(names.map((n, i) => compileKernel(gpu, matmulSource((i & 1) !== 0, (i & 2) !== 0), entry, `matmul.${n}.${entry}`)));
  const [tiled, skinny, tiled4]: Kernel[][] = await Promise.all([compile('main'), compile('skinny'), compile(cpuLike ? 'main16' : 'main4')]);
  const skinnyNT4 = await compileKernel(gpu, matmulSource(false, true), 'skinny4', 'matmul.nt.skinny4');
  // outputs per workgroup side: 8 invocations x 4 (main, main4) or x 16 (main16)
  const tile4 = cpuLike ? 4 * MATMUL_TILE : MATMUL_TILE;
  return {
    matmul(out: GpuViewF, a: GpuViewF, b: GpuViewF, M: number, N: number, K: number, options: MatmulOptions = {}): void {
      const variant = (options.transA ? 1 : 0) | (options.transB ? 2 : 0);
      if (M === 0 || N === 0) return;
      const params = (o: number[]) => [M, N, K, options.accumulate ? 1 : 0, ...o];
      const bindings = [wr(out), rd(a), rd(b)];
      const vec4 = M % 4 === 0 && N % 4 === 0 && K % 4 === 0 && out.offset % 4 === 0 && a.offset % 4 === 0 && b.offset % 4 === 0;
      if (M < SKINNY_ROWS && variant === 2 && K % 4 === 0 && a.offset % 4 === 0 && b.offset % 4 === 0) {
        rec.dispatch(skinnyNT4, bindings, params, Math.ceil(N / 512), M);
      } else if (M < SKINNY_ROWS) rec.dispatch(skinny[variant], bindings, params, Math.ceil(N / 256), M);
      else if (vec4) rec.dispatch(tiled4[variant], bindings, params, Math.ceil(N / tile4), Math.ceil(M / tile4));
      else rec.dispatch(tiled[variant], bindings, params, Math.ceil(N / MATMUL_TILE), Math.ceil(M / MATMUL_TILE));
    },
  };
}
