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

export function checkHalfMatmulArgs(out: View<{ readonly length: number }>, x: View<{ readonly length: number }>, w: View<{ readonly length: number }>, M: number, N: number, K: number, backward = false): void {
  const op = backward ? 'matmulHalfWeightsBackward' : 'matmulHalfWeights';
  dims(op, { M, N, K });
  if (K % 2 !== 0) throw new ShapeError(`${op}: K = ${K} must be even (halves are packed in pairs)`);
  // forward: out (M,N), x (M,K); backward: dx (M,K), dy (M,N)
  need(op, backward ? 'dx' : 'out', out, backward ? M * K : M * N);
  need(op, backward ? 'dy' : 'x', x, backward ? M * N : M * K);
  need(op, 'w', w, (N * K) / 2);
}

export function checkAttention(op: string, { B, T, H, Hkv, D }: AttentionDims): void {
  dims(op, { B, T, H, Hkv, D });
  if (Hkv === 0 || H % Hkv !== 0) throw new ShapeError(`${op}: H=${H} is not a multiple of Hkv=${Hkv}`);
}

type AnyView = View<{ readonly length: number }>;

export function checkRopeArgs(op: string, x: AnyView, positions: AnyView, B: number, T: number, Hn: number, D: number): void {
  dims(op, { B, T, Hn, D });
  if (D % 2 !== 0) throw new ShapeError(`${op}: head dim ${D} must be even`);
  need(op, 'x', x, B * T * Hn * D);
  need(op, 'positions', positions, B * T);
}

export function checkAttentionForwardArgs(out: AnyView, att: AnyView, q: AnyView, k: AnyView, v: AnyView, keyMask: AnyView, d: AttentionDims, attElements: number): void {
  const op = 'attentionForward';
  checkAttention(op, d);
  const { B, T, H, Hkv, D } = d;
  need(op, 'out', out, B * T * H * D);
  need(op, 'att', att, attElements);
  need(op, 'q', q, B * T * H * D);
  need(op, 'k', k, B * T * Hkv * D);
  need(op, 'v', v, B * T * Hkv * D);
  need(op, 'keyMask', keyMask, B * T);
}

export function checkAttentionBackwardArgs(
  dq: AnyView, dk: AnyView, dv: AnyView, dOut: AnyView, att: AnyView, q: AnyView, k: AnyView, v: AnyView, d: AttentionDims, attElements: number,
): void {
  const op = 'attentionBackward';
  checkAttention(op, d);
  const { B, T, H, Hkv, D } = d;
  for (const [name, x] of [['dq', dq], ['dOut', dOut], ['q', q]] as const) need(op, name, x, B * T * H * D);
  for (const [name, x] of [['dk', dk], ['dv', dv], ['k', k], ['v', v]] as const) need(op, name, x, B * T * Hkv * D);
  need(op, 'att', att, attElements);
}

export function checkAttentionDecodeArgs(
  out: AnyView, q: AnyView, kCache: AnyView, vCache: AnyView, keyMask: AnyView, B: number, S: number, H: number, Hkv: number, D: number,
): void {
  const op = 'attentionDecode';
  checkAttention(op, { B, T: S, H, Hkv, D });
  need(op, 'out', out, B * H * D);
  need(op, 'q', q, B * H * D);
  need(op, 'kCache', kCache, B * S * Hkv * D);
  need(op, 'vCache', vCache, B * S * Hkv * D);
  need(op, 'keyMask', keyMask, B * S);
}
