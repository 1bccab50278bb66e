// Launcher for matmul.wgsl: out (M,N) (+)= op(a) op(b) in four transpose variants, each its own pipeline.
import type { GpuContext } from '../device.ts';
import type { GpuViewF } from '../buffers.ts';
import type { MatmulOptions } from '../ops.ts';
import { compileKernel, lazyKernel, rd, wr, type Kernel, type Recorder } from '../gpu/recorder.ts';
import type { KernelFamily } from '../gpu/family.ts';
import source from './matmul.wgsl?raw';
import tiledSource from './matmul-tiled.wgsl?raw';

/** Rows and columns of C one workgroup covers: 8x8 invocations, 4x4 outputs each. */
export const MATMUL_TILE = 32;
/** Below this many rows the one-row-per-invocation kernel wastes less than the 4-row tile. */
const SKINNY_ROWS = 4;

export function matmulSource(transA: boolean, transB: boolean): string {
  return source
    .replace('const TRANS_A = false;', `const TRANS_A = ${transA};`)
    .replace('const TRANS_B = false;', `const TRANS_B = ${transB};`);
}

/** Rows and columns of C one workgroup of the GPU family covers (matmul-tiled.wgsl). */
export const GPU_MATMUL_TILE = 64;

/** The 'gpu' family: workgroup-memory tiles (64x64, vec4 staging) and a workgroup-per-4-columns GEMV for decode. */
async function createTiledMatmulKernels(gpu: GpuContext, rec: Recorder) {
  const tiled = await compileKernel(gpu, tiledSource, 'main', 'matmul.tiled', true);
  // few-row products (decode, mostly): compiled on first use
  const gemv = lazyKernel(gpu, tiledSource, 'gemv', 'matmul.gemv', true);
  return {
    matmul(out: GpuViewF, a: GpuViewF, b: GpuViewF, M: number, N: number, K: number, options: MatmulOptions = {}): void {
      if (M === 0 || N === 0) return;
      const tA = options.transA === true, tB = options.transB === true;
      // the contiguous dimension of each stored operand: K for A (M,K) and B (N,K); M for A (K,M); N for B (K,N)
      const contigA = tA ? M : K, contigB = tB ? K : N;
      const vec = contigA % 4 === 0 && contigB % 4 === 0 && a.offset % 4 === 0 && b.offset % 4 === 0;
      const params = (o: number[]) => [M, N, K, options.accumulate ? 1 : 0, ...o, tA ? 1 : 0, tB ? 1 : 0, vec ? 1 : 0];
      const bindings = [wr(out), rd(a), rd(b)];
      if (M < SKINNY_ROWS && !tA && tB && vec && K > 0) rec.dispatch(gemv, bindings, params, Math.ceil(N / 4), M);
      else rec.dispatch(tiled, bindings, params, Math.ceil(N / GPU_MATMUL_TILE), Math.ceil(M / GPU_MATMUL_TILE));
    },
  };
}

/**
 * family 'gpu': workgroup-memory tiling (createTiledMatmulKernels). family 'cpu' (SwiftShader and other
 * CPU-backed adapters): register tiles without barriers, 16x16 outputs per invocation (main16).
 */
export async function createMatmulKernels(gpu: GpuContext, rec: Recorder, family: KernelFamily) {
  if (family === 'gpu') return createTiledMatmulKernels(gpu, rec);
  const names = ['nn', 'tn', 'nt', 'tt'];
  const compile = (entry: string) =>
    Promise.all(names.map((n, i) => compileKernel(gpu, matmulSource((i & 1) !== 0, (i & 2) !== 0), entry, `matmul.${n}.${entry}`)));
  const [tiled, skinny, tiled4]: Kernel[][] = await Promise.all([compile('main'), compile('skinny'), compile('main16')]);
  const skinnyNT4 = await compileKernel(gpu, matmulSource(false, true), 'skinny4', 'matmul.nt.skinny4');
  // outputs per workgroup side: 8 invocations x 4 (main) or x 16 (main16)
  const tile4 = 4 * MATMUL_TILE;
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
