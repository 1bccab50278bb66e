// Launchers for rope.wgsl. The inverse frequencies are uploaded once per (D, theta), computed on the CPU in
// f32 exactly as the reference computes them.
import type { GpuContext } from '../device.ts';
import { createStorage, type GpuViewF, type GpuViewI } from '../buffers.ts';
import { compileKernel, f32bits, rd, wr, type Recorder } from '../gpu/recorder.ts';
import source from './rope.wgsl?raw';

export async function createRopeKernels(gpu: GpuContext, rec: Recorder) {
  const kernel = await compileKernel(gpu, source, 'main', 'rope');
  const tables = new Map<string, GPUBuffer>();

  function invFreq(D: number, theta: number): GPUBuffer {
    const key = `${D}:${theta}`;
    let table = tables.get(key);
    if (!table) {
      const inv = new Float32Array(D / 2);
      for (let i = 0; i < D / 2; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / D);
      table = createStorage(gpu.device, inv.length, `rope.invFreq.${key}`);
      gpu.device.queue.writeBuffer(table, 0, inv);
      tables.set(key, table);
    }
    return table;
  }

  function rotate(x: GpuViewF, positions: GpuViewI, B: number, T: number, Hn: number, D: number, theta: number, sign: number): void {
    rec.dispatchFlat(kernel, [wr(x), rd(positions), invFreq(D, theta)], (o) => [B, T, Hn, D, f32bits(sign), o[0], o[1]], (B * T * Hn * D) / 2);
  }

  return {
    /** in place on x (B,T,Hn,D) */
    forward(x: GpuViewF, positions: GpuViewI, B: number, T: number, Hn: number, D: number, theta: number): void {
      rotate(x, positions, B, T, Hn, D, theta, 1);
    },
    /** in place on dx (B,T,Hn,D): the inverse rotation */
    backward(dx: GpuViewF, positions: GpuViewI, B: number, T: number, Hn: number, D: number, theta: number): void {
      rotate(dx, positions, B, T, Hn, D, theta, -1);
    },
    destroy(): void {
      for (const t of tables.values()) t.destroy();
      tables.clear();
    },
  };
}
