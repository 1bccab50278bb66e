// Argument checks shared by both Ops backends, so a bad shape fails the same way, with the same named
// error, on the CPU reference and on WebGPU.
import type { AttentionDims, View } from './ops.ts';
import { ShapeError } from './errors.ts';

export function dims(op: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isInteger(value) || value < 0) throw new ShapeError(`${op}: ${name} must be a non-negative integer, got ${value}`);
  }
}

/** The view holds at least `elements` elements and lies inside its buffer. */
export function need(op: string, name: string, v: View<{ readonly length: number }>, elements: number): void {
  if (v.length < elements) throw new ShapeError(`${op}: ${name} has ${v.length} elements, needs ${elements}`);
  if (v.offset < 0 || v.offset + elements > v.buffer.length) {
    throw new ShapeError(`${op}: ${name} [${v.offset}, +${elements}) lies outside its buffer of ${v.buffer.length}`);
  }
}

export function checkAttention(op: string, { B, T, H, Hkv, D }: AttentionDims): void {
  dims(op, { B, T, H, Hkv, D });
  if (Hkv === 0 || H % Hkv !== 0) throw new ShapeError(`${op}: H=${H} is not a multiple of Hkv=${Hkv}`);
}
