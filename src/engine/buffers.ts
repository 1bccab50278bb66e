// Small helpers for moving Float32 data in and out of GPU storage buffers.

export function createStorageBuffer(device: GPUDevice, byteLength: number, label: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(byteLength / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

export function uploadF32(device: GPUDevice, data: Float32Array, label: string): GPUBuffer {
  const buffer = createStorageBuffer(device, data.byteLength, label);
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

export function uniformU32(device: GPUDevice, values: readonly number[], label: string): GPUBuffer {
  const padded = new Uint32Array(Math.ceil(values.length / 4) * 4);
  padded.set(values);
  const buffer = device.createBuffer({ label, size: padded.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, padded);
  return buffer;
}

/** Copies `length` floats from a storage buffer back to the CPU. */
export async function readF32(device: GPUDevice, source: GPUBuffer, length: number): Promise<Float32Array> {
  const bytes = length * 4;
  const staging = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, staging, 0, Math.ceil(bytes / 4) * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}
