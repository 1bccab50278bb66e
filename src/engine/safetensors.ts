// safetensors read and write. Layout: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}, then the raw data
// (offsets relative to its start). F32, F16 and BF16 (and F64) load as Float32Array; we write F32 (what
// training produces) or F16/BF16 (smaller files to ship). Every malformed file fails with SafetensorsError
// naming what is wrong, before any tensor is decoded.

import { SafetensorsError } from './errors.ts';

export type Dtype = 'F32' | 'F16' | 'BF16' | 'F64';
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** Refuse headers larger than this: a corrupt length would otherwise make us decode gigabytes as JSON. */
const MAX_HEADER = 100 * 2 ** 20;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** byte range within the data section */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** byte offset of the data section in the file */
  dataStart: number;
}

export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
  /** dtype in the file */
  dtype: Dtype;
}

/** Parses and validates the header of a whole safetensors file. */
export function readHeader(bytes: Uint8Array, file = 'safetensors file'): SafetensorsHeader {
  const fail = (msg: string) => new SafetensorsError(`${file}: ${msg}`);
  if (bytes.length < 8) throw fail(`only ${bytes.length} bytes; a header length needs 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > MAX_HEADER) throw fail(`header length ${n} is implausible (corrupt file?)`);
  if (8 + n > bytes.length) throw fail(`header claims ${n} bytes but the file has only ${bytes.length - 8} after the length (truncated?)`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Object.values(raw).some((v) => typeof v !== 'string')) {
        throw fail('__metadata__ must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) throw fail(`entry "${name}" is not an object`);
    if (typeof t.dtype !== 'string' || !(t.dtype in BYTES)) throw fail(`tensor "${name}" has unsupported dtype ${JSON.stringify(t.dtype)} (supported: F32, F16, BF16, F64)`);
    const dtype = t.dtype as Dtype;
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`tensor "${name}" has a bad shape ${JSON.stringify(t.shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
      throw fail(`tensor "${name}" has bad data_offsets ${JSON.stringify(off)}`);
    }
    const numel = (t.shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== numel * BYTES[dtype]) {
      throw fail(`tensor "${name}" spans ${off[1] - off[0]} bytes but ${dtype}[${t.shape}] needs ${numel * BYTES[dtype]}`);
    }
    if (off[1] > dataLength) throw fail(`tensor "${name}" ends at byte ${off[1]} but the data section has ${dataLength} (truncated?)`);
    tensors.set(name, { dtype, shape: t.shape as number[], begin: off[0], end: off[1] });
  }
  const spans = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].begin < spans[i - 1][1].end) throw fail(`tensors "${spans[i - 1][0]}" and "${spans[i][0]}" overlap`);
  }
  return { tensors, metadata, dataStart };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** f32 -> f16 bits, round to nearest even, overflow to infinity. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent, which is correct
  return sign | half;
}

/** f32 -> bf16 bits, round to nearest even (NaN stays NaN). */
export function floatToBf16(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes one tensor of a file into dst (its element count), converting to f32. */
export function decodeInto(bytes: Uint8Array, info: TensorInfo, dataStart: number, dst: Float32Array): void {
  const start = dataStart + info.begin;
  const n = (info.end - info.begin) / BYTES[info.dtype];
  if (dst.length !== n) throw new SafetensorsError(`decodeInto: destination holds ${dst.length} values, the tensor ${n}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + start, info.end - info.begin);
  switch (info.dtype) {
    case 'F32':
      // byte copy keeps every bit (NaN payloads included) and works at any alignment
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(bytes.subarray(start, info.end + dataStart));
      return;
    case 'F64':
      for (let i = 0; i < n; i++) dst[i] = dv.getFloat64(8 * i, true);
      return;
    case 'BF16': {
      const out = new Uint32Array(dst.buffer, dst.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true) << 16;
      return;
    }
    case 'F16':
      for (let i = 0; i < n; i++) dst[i] = halfToFloat(dv.getUint16(2 * i, true));
      return;
  }
}

function decode(bytes: Uint8Array, info: TensorInfo, dataStart: number): Float32Array {
  const out = new Float32Array((info.end - info.begin) / BYTES[info.dtype]);
  decodeInto(bytes, info, dataStart, out);
  return out;
}

/** All tensors of a file as f32. */
export function parseSafetensors(bytes: Uint8Array, file?: string): { tensors: Map<string, LoadedTensor>; metadata: Record<string, string> } {
  const header = readHeader(bytes, file);
  const tensors = new Map<string, LoadedTensor>();
  for (const [name, info] of header.tensors) {
    tensors.set(name, { shape: info.shape, dtype: info.dtype, data: decode(bytes, info, header.dataStart) });
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Serialises tensors (sorted by name, contiguous, header padded with spaces to 8 bytes as the reference
 * implementation does) in the given dtype.
 */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  { dtype = 'F32', metadata = { format: 'pt' } }: { dtype?: Exclude<Dtype, 'F64'>; metadata?: Record<string, string> } = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new SafetensorsError(`tensor "${name}": shape [${t.shape}] does not match ${t.data.length} values`);
    const size = numel * BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const data = tensors.get(name)!.data;
    if (dtype === 'F32') {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    } else {
      const conv = dtype === 'F16' ? floatToHalf : floatToBf16;
      const u16 = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) u16[i] = conv(data[i]);
      out.set(new Uint8Array(u16.buffer), at);
      at += u16.byteLength;
    }
  }
  return out;
}
