// Causal self-attention with grouped-query heads, for the CPU reference: prefill forward/backward with the
// softmax probabilities kept for backward, and one decode step against a KV cache. Query head h reads
// key/value head floor(h / (H / Hkv)), as Hugging Face's repeat_kv does.
//
// Speed without changing a bit: the loops over the head dim are unrolled by four but keep their order of
// additions, the query / output-gradient row of a (b, h, t) is read once into doubles (f32 -> f64 is exact),
// and the attendable keys of a row are listed once instead of testing the mask three times per key. Every
// sum and every f32 rounding happens in the same sequence as in the plain loops, so outputs are identical
// to them (test/unit/engine/cpu-attention.test.ts holds the plain loops and compares bit for bit).

import type { AttentionDims } from '../ops.ts';
import { SEGMENT_SHARED as SHARED } from '../pack.ts';

type F = Float32Array;

/** dot(x[0..D), y[yo..yo+D)) summed left to right in doubles */
function dotRow(x: Float64Array, y: F, yo: number, D: number): number {
  let s = 0, d = 0;
  for (; d + 3 < D; d += 4) {
    s += x[d] * y[yo + d];
    s += x[d + 1] * y[yo + d + 1];
    s += x[d + 2] * y[yo + d + 2];
    s += x[d + 3] * y[yo + d + 3];
  }
  for (; d < D; d++) s += x[d] * y[yo + d];
  return s;
}

/** out[oo..oo+D) += c · y[yo..yo+D), each element rounded to f32 as it is stored */
function axpy(out: F, oo: number, c: number, y: F, yo: number, D: number): void {
  let d = 0;
  for (; d + 3 < D; d += 4) {
    out[oo + d] += c * y[yo + d];
    out[oo + d + 1] += c * y[yo + d + 1];
    out[oo + d + 2] += c * y[yo + d + 2];
    out[oo + d + 3] += c * y[yo + d + 3];
  }
  for (; d < D; d++) out[oo + d] += c * y[yo + d];
}

/** axpy from a row held in doubles (its own function: one element type per call site keeps V8's loads monomorphic) */
function axpyRow(out: F, oo: number, c: number, y: Float64Array, D: number): void {
  let d = 0;
  for (; d + 3 < D; d += 4) {
    out[oo + d] += c * y[d];
    out[oo + d + 1] += c * y[d + 1];
    out[oo + d + 2] += c * y[d + 2];
    out[oo + d + 3] += c * y[d + 3];
  }
  for (; d < D; d++) out[oo + d] += c * y[d];
}

function loadRow(dst: Float64Array, src: F, so: number, D: number): void {
  for (let d = 0; d < D; d++) dst[d] = src[so + d];
}

/** positions s (ascending) of row b with mask != 0, into keys; returns their count */
function attendable(keys: Int32Array, mask: F, mo: number, n: number): number {
  let c = 0;
  for (let s = 0; s < n; s++) if (mask[mo + s] !== 0) keys[c++] = s;
  return c;
}

/**
 * out (B,T,H,D); att (B,H,T,T); q (B,T,H,D); k, v (B,T,Hkv,D); keyMask (B,T) 1 = attendable, 0 = not; the
 * CPU reference also takes packed rows' segment ids (engine/pack.ts: ≥ 2 = a branch, seen by its own queries).
 */
export function attentionForwardCpu(
  out: F, oo: number, att: F, ao: number,
  q: F, qo: number, k: F, ko: number, v: F, vo: number, mask: F, mo: number,
  { B, T, H, Hkv, D }: AttentionDims,
): void {
  const rep = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(T);
  const keys = new Int32Array(T), sel = new Int32Array(T);
  const qd = new Float64Array(D);
  const kvStride = Hkv * D;
  for (let b = 0; b < B; b++) {
    const nKeys = attendable(keys, mask, mo + b * T, T);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      const kvBase = (b * T * Hkv + g) * D;
      for (let t = 0; t < T; t++) {
        const ar = ao + ((b * H + h) * T + t) * T;
        const or = oo + ((b * T + t) * H + h) * D;
        att.fill(0, ar, ar + T);
        out.fill(0, or, or + D);
        // the keys a query sees: attendable, not after it (causal) and, in a packed row (engine/pack.ts), in
        // the shared prompt or the query's own branch; with a 0/1 mask that is every attendable key up to t
        const mt = mask[mo + b * T + t];
        let n = 0;
        for (let i = 0; i < nKeys && keys[i] <= t; i++) {
          const ms = mask[mo + b * T + keys[i]];
          if (ms === SHARED || ms === mt) sel[n++] = keys[i];
        }
        // A query with nothing to attend to (a padding row before any real token) gets zero output.
        if (n === 0) continue;
        loadRow(qd, q, qo + ((b * T + t) * H + h) * D, D);
        let max = -Infinity;
        for (let i = 0; i < n; i++) {
          const s = sel[i];
          const sc = dotRow(qd, k, ko + kvBase + s * kvStride, D) * scale;
          scores[s] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const s = sel[i];
          const e = Math.exp(scores[s] - max);
          scores[s] = e;
          sum += e;
        }
        for (let i = 0; i < n; i++) {
          const s = sel[i];
          const p = scores[s] / sum;
          att[ar + s] = p;
          axpy(out, or, p, v, vo + kvBase + s * kvStride, D);
        }
      }
    }
  }
}

/** dq (B,T,H,D), dk, dv (B,T,Hkv,D) overwritten; from dOut (B,T,H,D) and the saved att (B,H,T,T). */
export function attentionBackwardCpu(
  dq: F, dqo: number, dk: F, dko: number, dv: F, dvo: number,
  dOut: F, doo: number, att: F, ao: number, q: F, qo: number, k: F, ko: number, v: F, vo: number,
  { B, T, H, Hkv, D }: AttentionDims,
): void {
  const rep = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  dq.fill(0, dqo, dqo + B * T * H * D);
  dk.fill(0, dko, dko + B * T * Hkv * D);
  dv.fill(0, dvo, dvo + B * T * Hkv * D);
  const dAtt = new Float64Array(T);
  const gd = new Float64Array(D), qd = new Float64Array(D);
  const kvStride = Hkv * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      const kvBase = (b * T * Hkv + g) * D;
      for (let t = 0; t < T; t++) {
        const ar = ao + ((b * H + h) * T + t) * T;
        loadRow(gd, dOut, doo + ((b * T + t) * H + h) * D, D);
        // dAtt(s) = dOut(t) · v(s); dv(s) += att(t,s) dOut(t)
        let weighted = 0;
        for (let s = 0; s <= t; s++) {
          const p = att[ar + s];
          // a key the query did not attend adds nothing (p = 0), and in a packed row most keys are another branch's
          if (p === 0) continue;
          const at = kvBase + s * kvStride;
          const dot = dotRow(gd, v, vo + at, D);
          axpyRow(dv, dvo + at, p, gd, D);
          dAtt[s] = dot;
          weighted += p * dot;
        }
        // softmax backward, then through the scaled dot product
        loadRow(qd, q, qo + ((b * T + t) * H + h) * D, D);
        const dqr = dqo + ((b * T + t) * H + h) * D;
        for (let s = 0; s <= t; s++) {
          const p = att[ar + s];
          if (p === 0) continue;
          const dScore = p * (dAtt[s] - weighted) * scale;
          const at = kvBase + s * kvStride;
          axpy(dq, dqr, dScore, k, ko + at, D);
          axpyRow(dk, dko + at, dScore, qd, D);
        }
      }
    }
  }
}

/** out (B,H,D) from q (B,H,D) against caches (B,S,Hkv,D) where keyMask (B,S) = 1. */
export function attentionDecodeCpu(
  out: F, oo: number, q: F, qo: number, kc: F, kco: number, vc: F, vco: number, mask: F, mo: number,
  B: number, S: number, H: number, Hkv: number, D: number,
): void {
  const rep = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(S);
  const keys = new Int32Array(S);
  const qd = new Float64Array(D);
  const kvStride = Hkv * D;
  for (let b = 0; b < B; b++) {
    const n = attendable(keys, mask, mo + b * S, S);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      const kvBase = (b * S * Hkv + g) * D;
      const or = oo + (b * H + h) * D;
      out.fill(0, or, or + D);
      if (n === 0) continue;
      loadRow(qd, q, qo + (b * H + h) * D, D);
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        const s = keys[i];
        const sc = dotRow(qd, kc, kco + kvBase + s * kvStride, D) * scale;
        scores[s] = sc;
        if (sc > max) max = sc;
      }
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const s = keys[i];
        scores[s] = Math.exp(scores[s] - max);
        sum += scores[s];
      }
      for (let i = 0; i < n; i++) {
        const s = keys[i];
        axpy(out, or, scores[s] / sum, vc, vco + kvBase + s * kvStride, D);
      }
    }
  }
}
