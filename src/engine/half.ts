// f16 storage for frozen weights: IEEE binary16 values packed two per 32-bit word (element 2j in the low
// half, 2j+1 in the high half, as WGSL's unpack2x16float reads them). Packing happens here, on the CPU, with
// round-to-nearest-even, so the CPU reference and every GPU read the very same halves: WGSL leaves the
// rounding of pack2x16float to the implementation, but unpack2x16float is exact (every half is an f32).
// Arithmetic stays f32: a kernel widens each half and accumulates in f32, which needs no shader-f16 feature.

import { ShapeError } from './errors.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits of x, rounded to nearest even; overflow gives ±Infinity, NaN stays NaN. */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    // subnormal: shift the mantissa (with its implicit 1) right, round to nearest even
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // a carry out of the mantissa bumps the exponent, up to Infinity: exactly what rounding wants
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

/** The value of binary16 bits h (exact). */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** src rounded to halves, two per word (src.length must be even: a row of K values is K/2 words). */
export function packHalves(src: Float32Array): Int32Array {
  if (src.length % 2 !== 0) throw new ShapeError(`packHalves: ${src.length} values is odd; halves pack in pairs`);
  const out = new Int32Array(src.length / 2);
  for (let j = 0; j < out.length; j++) out[j] = toHalfBits(src[2 * j]) | (toHalfBits(src[2 * j + 1]) << 16);
  return out;
}

/** The f32 values of packed halves (exact). */
export function unpackHalves(words: Int32Array, offset = 0, count = words.length - offset): Float32Array {
  const out = new Float32Array(2 * count);
  for (let j = 0; j < count; j++) {
    const w = words[offset + j];
    out[2 * j] = fromHalfBits(w & 0xffff);
    out[2 * j + 1] = fromHalfBits((w >>> 16) & 0xffff);
  }
  return out;
}
