// Causal self-attention with grouped-query heads, for the CPU reference: prefill forward/backward with the
// softmax probabilities kept for backward, and one decode step against a KV cache. Query head h reads
// key/value head floor(h / (H / Hkv)), as Hugging Face's repeat_kv does.

import type { AttentionDims } from '../ops.ts';

type F = Float32Array;

/** out (B,T,H,D); att (B,H,T,T); q (B,T,H,D); k, v (B,T,Hkv,D); keyMask (B,T) 1 = attendable. */
export function attentionForwardCpu(
  out: F, oo: number, att: F, ao: number,
  q: F, qo: number, k: F, ko: number, v: F, vo: number, mask: F, mo: number,
  { B, T, H, Hkv, D }: AttentionDims,
): void {
  const rep = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      for (let t = 0; t < T; t++) {
        const qr = qo + ((b * T + t) * H + h) * D;
        const ar = ao + ((b * H + h) * T + t) * T;
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          if (mask[mo + b * T + s] === 0) continue;
          const kr = ko + ((b * T + s) * Hkv + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qr + d] * k[kr + d];
          scores[s] = dot * scale;
          if (scores[s] > max) max = scores[s];
        }
        att.fill(0, ar, ar + T);
        const or = oo + ((b * T + t) * H + h) * D;
        out.fill(0, or, or + D);
        // A query with nothing to attend to (a padding row before any real token) gets zero output.
        if (max === -Infinity) continue;
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          if (mask[mo + b * T + s] === 0) continue;
          const e = Math.exp(scores[s] - max);
          scores[s] = e;
          sum += e;
        }
        for (let s = 0; s <= t; s++) {
          if (mask[mo + b * T + s] === 0) continue;
          const p = scores[s] / sum;
          att[ar + s] = p;
          const vr = vo + ((b * T + s) * Hkv + g) * D;
          for (let d = 0; d < D; d++) out[or + d] += p * v[vr + d];
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
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      for (let t = 0; t < T; t++) {
        const ar = ao + ((b * H + h) * T + t) * T;
        const dor = doo + ((b * T + t) * H + h) * D;
        // dAtt(s) = dOut(t) · v(s); dv(s) += att(t,s) dOut(t)
        let weighted = 0;
        for (let s = 0; s <= t; s++) {
          const p = att[ar + s];
          const vr = vo + ((b * T + s) * Hkv + g) * D;
          const dvr = dvo + ((b * T + s) * Hkv + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) {
            dot += dOut[dor + d] * v[vr + d];
            dv[dvr + d] += p * dOut[dor + d];
          }
          dAtt[s] = dot;
          weighted += p * dot;
        }
        // softmax backward, then through the scaled dot product
        const qr = qo + ((b * T + t) * H + h) * D;
        const dqr = dqo + ((b * T + t) * H + h) * D;
        for (let s = 0; s <= t; s++) {
          const p = att[ar + s];
          if (p === 0) continue;
          const dScore = p * (dAtt[s] - weighted) * scale;
          const kr = ko + ((b * T + s) * Hkv + g) * D;
          const dkr = dko + ((b * T + s) * Hkv + g) * D;
          for (let d = 0; d < D; d++) {
            dq[dqr + d] += dScore * k[kr + d];
            dk[dkr + d] += dScore * q[qr + d];
          }
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
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / rep);
      const qr = qo + (b * H + h) * D;
      const or = oo + (b * H + h) * D;
      let max = -Infinity;
      for (let s = 0; s < S; s++) {
        if (mask[mo + b * S + s] === 0) continue;
        const kr = kco + ((b * S + s) * Hkv + g) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qr + d] * kc[kr + d];
        scores[s] = dot * scale;
        if (scores[s] > max) max = scores[s];
      }
      out.fill(0, or, or + D);
      if (max === -Infinity) continue;
      let sum = 0;
      for (let s = 0; s < S; s++) {
        if (mask[mo + b * S + s] === 0) continue;
        scores[s] = Math.exp(scores[s] - max);
        sum += scores[s];
      }
      for (let s = 0; s < S; s++) {
        if (mask[mo + b * S + s] === 0) continue;
        const p = scores[s] / sum;
        const vr = vco + ((b * S + s) * Hkv + g) * D;
        for (let d = 0; d < D; d++) out[or + d] += p * vc[vr + d];
      }
    }
  }
}
