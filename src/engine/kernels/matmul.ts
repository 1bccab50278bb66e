import type { GpuContext } from '../device.ts';
import { uniformU32 } from '../buffers.ts';
import matmulSource from './matmul.wgsl?raw';

const TILE = 32; // 8x8 invocations x 4x4 outputs each

/** Encodes C(M,N) = A(M,K) @ B(K,N) into `pass`. Buffers hold row-major f32. */
export async function matmulForward(
  gpu: GpuContext,
  encoder: GPUCommandEncoder,
  out: GPUBuffer, // (M,N)
  a: GPUBuffer, // (M,K)
  b: GPUBuffer, // (K,N)
  M: number,
  N: number,
  K: number,
): Promise<GPUBuffer> {
  const pipeline = await gpu.pipeline(matmulSource, 'main', 'matmul');
  const dims = uniformU32(gpu.device, [M, N, K, 0], 'matmul.dims');
  const bindGroup = gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: out } },
      { binding: 1, resource: { buffer: a } },
      { binding: 2, resource: { buffer: b } },
      { binding: 3, resource: { buffer: dims } },
    ],
  });
  const pass = encoder.beginComputePass({ label: 'matmul' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(N / TILE), Math.ceil(M / TILE));
  pass.end();
  return dims;
}
