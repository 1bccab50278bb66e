// Minimal safetensors (F32 only) for the model-building and training scripts: 8-byte little-endian header
// length, a JSON header of {name: {dtype, shape, data_offsets}}, then the raw tensor bytes.
import { readFileSync, writeFileSync } from 'node:fs';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep tensor data 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): Map<string, Tensor> {
  if (bytes.length < 8) throw new Error('safetensors: file too short');
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (headerLen > bytes.length - 8) throw new Error('safetensors: header length past the end of the file');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + headerLen;
  const out = new Map<string, Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`safetensors: ${name} is ${info.dtype}, only F32 is supported here`);
    const [start, end] = info.data_offsets;
    const copy = bytes.slice(base + start, base + end);
    out.set(name, { shape: info.shape, data: new Float32Array(copy.buffer, copy.byteOffset, (end - start) / 4) });
  }
  return out;
}

export const writeSafetensors = (path: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): void =>
  writeFileSync(path, encodeSafetensors(tensors, metadata));
export const readSafetensors = (path: string): Map<string, Tensor> => decodeSafetensors(new Uint8Array(readFileSync(path)));
