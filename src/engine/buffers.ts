// The WebGPU backend's tensors: one GPUBuffer per allocation, typed f32 or i32, addressed through the
// View of ops.ts (buffer + element offset + length). Kernels bind whole buffers and take element offsets in
// their uniforms, so a view may start at any element (no 256-byte storage-offset alignment to respect).

import { ModelTooLargeError, ShapeError } from './errors.ts';
import type { View } from './ops.ts';

export interface GpuF32 {
  readonly dtype: 'f32';
  readonly gpu: GPUBuffer;
  /** elements */
  readonly length: number;
  readonly label: string;
}

export interface GpuI32 {
  readonly dtype: 'i32';
  readonly gpu: GPUBuffer;
  readonly length: number;
  readonly label: string;
}

/** Bytes of the GPUBuffer behind `length` four-byte elements (WebGPU wants sizes in multiples of 4; we use 16). */
export function bufferBytes(length: number): number {
  return Math.max(16, Math.ceil((length * 4) / 16) * 16);
}

/** Creates a zero-filled storage buffer, or throws ModelTooLargeError when one binding cannot hold it. */
export function createStorage(device: GPUDevice, length: number, label: string): GPUBuffer {
  if (!Number.isInteger(length) || length < 0) throw new ShapeError(`alloc ${label}: length must be a non-negative integer, got ${length}`);
  const bytes = bufferBytes(length);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > limit) {
    throw new ModelTooLargeError(
      `${label} needs ${bytes} bytes in one GPU buffer; this device binds at most ${limit} ` +
        '(request the device with a larger minStorageBufferBindingSize, or use a smaller model/batch)',
      bytes,
      limit,
    );
  }
  // WebGPU zero-initialises new buffers, which is what allocF32/allocI32 promise.
  return device.createBuffer({
    label,
    size: bytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

export type GpuViewF = View<GpuF32>;
export type GpuViewI = View<GpuI32>;
