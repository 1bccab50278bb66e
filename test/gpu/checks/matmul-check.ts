// A matmul on the GPU compared with the CPU reference. Shared by the page test, the worker test and Node.
import type { GpuContext } from '../../../src/engine/device.ts';
import { readF32, uploadF32, createStorageBuffer } from '../../../src/engine/buffers.ts';
import { matmulForward } from '../../../src/engine/kernels/matmul.ts';
import { matmulCpu } from '../../../src/engine/cpu/matmul.ts';

export interface MatmulCheck {
  M: number;
  N: number;
  K: number;
  maxAbsError: number;
  maxAbsValue: number;
}

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

export async function checkMatmul(gpu: GpuContext, M: number, N: number, K: number, seed = 1): Promise<MatmulCheck> {
  const rand = seededRandom(seed);
  const a = Float32Array.from({ length: M * K }, rand);
  const b = Float32Array.from({ length: K * N }, rand);
  const expected = new Float32Array(M * N);
  matmulCpu(expected, a, b, M, N, K);

  const { device } = gpu;
  const aBuf = uploadF32(device, a, 'a');
  const bBuf = uploadF32(device, b, 'b');
  const cBuf = createStorageBuffer(device, M * N * 4, 'c');
  const encoder = device.createCommandEncoder();
  const dims = await matmulForward(gpu, encoder, cBuf, aBuf, bBuf, M, N, K);
  device.queue.submit([encoder.finish()]);
  const got = await readF32(device, cBuf, M * N);
  for (const buf of [aBuf, bBuf, cBuf, dims]) buf.destroy();

  let maxAbsError = 0;
  let maxAbsValue = 0;
  for (let i = 0; i < M * N; i++) {
    maxAbsError = Math.max(maxAbsError, Math.abs(got[i] - expected[i]));
    maxAbsValue = Math.max(maxAbsValue, Math.abs(expected[i]));
  }
  return { M, N, K, maxAbsError, maxAbsValue };
}
