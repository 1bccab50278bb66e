// The CPU reference's fast kernels against plain loops, bit for bit: the blocked matmul and the unrolled
// attention promise the same additions in the same order as the definitions below (which are the loops
// they replaced), so the engine's results, and every experiment's figures, do not move when they speed up.
import { describe, expect, it } from 'vitest';
import { attentionBackwardCpu, attentionDecodeCpu, attentionForwardCpu } from '../../../src/engine/cpu/attention.ts';
import { matmulInto } from '../../../src/engine/cpu/matmul.ts';
import type { AttentionDims } from '../../../src/engine/ops.ts';
import { randn } from './helpers.ts';

type F = Float32Array;

function expectSameBits(got: F, want: F): void {
  expect(got.length).toBe(want.length);
  let differing = 0, first = -1;
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) {
      differing++;
      if (first < 0) first = i;
    }
  }
  expect(differing, `first at ${first}: ${got[first]} vs ${want[first]}`).toBe(0);
}

// y = x Wᵀ as the definition: a double sum over k in ascending order, rounded once into out
function plainNt(out: F, a: F, b: F, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[j * K + k];
      out[i * N + j] += s;
    }
  }
}

describe('CPU matmul, x Wᵀ (every forward projection)', () => {
  // every block path: rows in fours and the rest, columns in fours and the rest, M = 1 (a decode row)
  for (const [M, N, K] of [[13, 11, 37], [32, 64, 64], [1, 379, 64], [4, 4, 1], [7, 3, 5], [6, 9, 16]]) {
    it(`equals the double-accumulated definition bit for bit at ${M}x${N}x${K}, with accumulate`, () => {
      const a = randn(M * K, 1), b = randn(N * K, 2), start = randn(M * N, 3);
      const want = start.slice(), got = start.slice();
      plainNt(want, a, b, M, N, K);
      matmulInto(got, 0, a, 0, b, 0, M, N, K, false, true, true);
      expectSameBits(got, want);
    });
  }
});

// The attention loops as they were written first (mask tested per key, rows read from the f32 buffers).
function plainForward(out: F, att: F, q: F, k: F, v: F, mask: F, { B, T, H, Hkv, D }: AttentionDims): void {
  const rep = H / Hkv, scale = 1 / Math.sqrt(D), scores = new Float64Array(T);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    for (let t = 0; t < T; t++) {
      const qr = ((b * T + t) * H + h) * D, ar = ((b * H + h) * T + t) * T, or = qr;
      let max = -Infinity;
      for (let s = 0; s <= t; s++) {
        if (mask[b * T + s] === 0) continue;
        const kr = ((b * T + s) * Hkv + g) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qr + d] * k[kr + d];
        scores[s] = dot * scale;
        if (scores[s] > max) max = scores[s];
      }
      att.fill(0, ar, ar + T);
      out.fill(0, or, or + D);
      if (max === -Infinity) continue;
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        if (mask[b * T + s] === 0) continue;
        scores[s] = Math.exp(scores[s] - max);
        sum += scores[s];
      }
      for (let s = 0; s <= t; s++) {
        if (mask[b * T + s] === 0) continue;
        const p = scores[s] / sum;
        att[ar + s] = p;
        const vr = ((b * T + s) * Hkv + g) * D;
        for (let d = 0; d < D; d++) out[or + d] += p * v[vr + d];
      }
    }
  }
}

function plainBackward(dq: F, dk: F, dv: F, dOut: F, att: F, q: F, k: F, v: F, { B, T, H, Hkv, D }: AttentionDims): void {
  const rep = H / Hkv, scale = 1 / Math.sqrt(D), dAtt = new Float64Array(T);
  dq.fill(0); dk.fill(0); dv.fill(0);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    for (let t = 0; t < T; t++) {
      const ar = ((b * H + h) * T + t) * T, dor = ((b * T + t) * H + h) * D;
      let weighted = 0;
      for (let s = 0; s <= t; s++) {
        const p = att[ar + s], vr = ((b * T + s) * Hkv + g) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) {
          dot += dOut[dor + d] * v[vr + d];
          dv[vr + d] += p * dOut[dor + d];
        }
        dAtt[s] = dot;
        weighted += p * dot;
      }
      for (let s = 0; s <= t; s++) {
        const p = att[ar + s];
        if (p === 0) continue;
        const dScore = p * (dAtt[s] - weighted) * scale, kr = ((b * T + s) * Hkv + g) * D;
        for (let d = 0; d < D; d++) {
          dq[dor + d] += dScore * k[kr + d];
          dk[kr + d] += dScore * q[dor + d];
        }
      }
    }
  }
}

function plainDecode(out: F, q: F, kc: F, vc: F, mask: F, B: number, S: number, H: number, Hkv: number, D: number): void {
  const rep = H / Hkv, scale = 1 / Math.sqrt(D), scores = new Float64Array(S);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep), qr = (b * H + h) * D;
    let max = -Infinity;
    for (let s = 0; s < S; s++) {
      if (mask[b * S + s] === 0) continue;
      const kr = ((b * S + s) * Hkv + g) * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qr + d] * kc[kr + d];
      scores[s] = dot * scale;
      if (scores[s] > max) max = scores[s];
    }
    out.fill(0, qr, qr + D);
    if (max === -Infinity) continue;
    let sum = 0;
    for (let s = 0; s < S; s++) {
      if (mask[b * S + s] === 0) continue;
      scores[s] = Math.exp(scores[s] - max);
      sum += scores[s];
    }
    for (let s = 0; s < S; s++) {
      if (mask[b * S + s] === 0) continue;
      const p = scores[s] / sum, vr = ((b * S + s) * Hkv + g) * D;
      for (let d = 0; d < D; d++) out[qr + d] += p * vc[vr + d];
    }
  }
}

describe('CPU attention, unrolled = plain loops bit for bit', () => {
  // D = 16 (the default model), D = 6 (a remainder after the unrolled fours); left padding (a row with no
  // key yet), right padding and a hole; grouped-query heads
  for (const dims of [{ B: 3, T: 9, H: 4, Hkv: 2, D: 16 }, { B: 2, T: 7, H: 3, Hkv: 1, D: 6 }] as AttentionDims[]) {
    const { B, T, H, Hkv, D } = dims;
    const mask = new Float32Array(B * T).fill(1);
    mask[0] = 0; mask[1] = 0; // row 0 left-padded: its first queries see nothing
    mask[2 * T - 1] = 0; // row 1 right-padded
    mask[T + 3] = 0; // and a hole
    const q = randn(B * T * H * D, 11), k = randn(B * T * Hkv * D, 12), v = randn(B * T * Hkv * D, 13), dOut = randn(B * T * H * D, 14);

    it(`forward and backward at ${JSON.stringify(dims)}`, () => {
      const out = new Float32Array(B * T * H * D), att = new Float32Array(B * H * T * T);
      const outP = out.slice().fill(7), attP = att.slice().fill(7);
      attentionForwardCpu(out, 0, att, 0, q, 0, k, 0, v, 0, mask, 0, dims);
      plainForward(outP, attP, q, k, v, mask, dims);
      expectSameBits(out, outP);
      expectSameBits(att, attP);
      expect(out.some((x) => x !== 0)).toBe(true);

      const grads = () => [new Float32Array(B * T * H * D), new Float32Array(B * T * Hkv * D), new Float32Array(B * T * Hkv * D)];
      const [dq, dk, dv] = grads(), [dqP, dkP, dvP] = grads();
      attentionBackwardCpu(dq, 0, dk, 0, dv, 0, dOut, 0, att, 0, q, 0, k, 0, v, 0, dims);
      plainBackward(dqP, dkP, dvP, dOut, att, q, k, v, dims);
      expectSameBits(dq, dqP);
      expectSameBits(dk, dkP);
      expectSameBits(dv, dvP);
    });

    it(`decode step at ${JSON.stringify(dims)}`, () => {
      const S = T;
      const qd = randn(B * H * D, 21);
      const out = new Float32Array(B * H * D), outP = new Float32Array(B * H * D).fill(3);
      const m = mask.slice();
      m.fill(0, 0, S); // row 0 has no attendable key: zero output
      attentionDecodeCpu(out, 0, qd, 0, k, 0, v, 0, m, 0, B, S, H, Hkv, D);
      plainDecode(outP, qd, k, v, m, B, S, H, Hkv, D);
      expectSameBits(out, outP);
      expect(Array.from(out.subarray(0, H * D)).every((x) => x === 0)).toBe(true);
    });
  }
});
