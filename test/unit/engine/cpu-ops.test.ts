// Every CPU op: forwards against direct formulas, backwards against finite differences, on tiny shapes.
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../../../src/engine/cpu/ops.ts';
import { ShapeError, TokenRangeError } from '../../../src/engine/errors.ts';
import type { AttentionDims, View } from '../../../src/engine/ops.ts';
import { checkGrad, dot, randn } from './helpers.ts';

const ops = new CpuOps();
const f = (data: Float32Array): View<Float32Array> => ({ buffer: data, offset: 0, length: data.length });
const i32 = (data: number[]): View<Int32Array> => ({ buffer: Int32Array.from(data), offset: 0, length: data.length });
const i = (data: Int32Array): View<Int32Array> => ({ buffer: data, offset: 0, length: data.length });

function naiveMatmul(a: Float32Array, b: Float32Array, M: number, N: number, K: number, transA: boolean, transB: boolean): Float32Array {
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j]);
      out[i * N + j] = s;
    }
  return out;
}

describe('CpuOps matmul', () => {
  for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`matches the definition (transA=${transA}, transB=${transB}), with offsets and accumulate`, () => {
      const [M, N, K] = [5, 7, 9];
      const a = randn(M * K + 3, 1);
      const b = randn(K * N + 2, 2);
      const out = randn(M * N + 4, 3);
      const before = out.slice();
      const av = { buffer: a, offset: 3, length: M * K };
      const bv = { buffer: b, offset: 2, length: K * N };
      const ov = { buffer: out, offset: 4, length: M * N };
      const expected = naiveMatmul(a.subarray(3), b.subarray(2), M, N, K, transA, transB);
      ops.matmul(ov, av, bv, M, N, K, { transA, transB });
      for (let i = 0; i < M * N; i++) expect(out[4 + i]).toBeCloseTo(expected[i], 5);
      expect(Array.from(out.subarray(0, 4))).toEqual(Array.from(before.subarray(0, 4)));
      ops.matmul(ov, av, bv, M, N, K, { transA, transB, accumulate: true });
      for (let i = 0; i < M * N; i++) expect(out[4 + i]).toBeCloseTo(2 * expected[i], 4);
    });
  }

  it('rejects views that are too small with ShapeError', () => {
    expect(() => ops.matmul(f(new Float32Array(5)), f(new Float32Array(6)), f(new Float32Array(6)), 2, 3, 3)).toThrow(ShapeError);
    expect(() => ops.matmul(f(new Float32Array(6)), f(new Float32Array(6)), f(new Float32Array(9)), 2, 3, 3.5)).toThrow(ShapeError);
  });
});

describe('CpuOps layers: backward = finite differences', () => {
  it('addBias / biasBackward', () => {
    const [M, N] = [3, 4];
    const x = randn(M * N, 1), bias = randn(N, 2), R = randn(M * N, 3);
    const loss = () => {
      const out = f(x.slice());
      ops.addBias(out, f(bias), M, N);
      return dot(out.buffer, R);
    };
    const dBias = new Float32Array(N).fill(1);
    ops.biasBackward(f(dBias), f(R), M, N);
    checkGrad('dBias', bias, dBias.map((v) => v - 1), loss);
  });

  it('embedding gather and its scatter-add backward, with repeated tokens', () => {
    const [V, C, N] = [6, 4, 5];
    const table = randn(V * C, 1), R = randn(N * C, 2);
    const tokens = i32([2, 0, 2, 5, 2]);
    const out = f(new Float32Array(N * C));
    ops.embeddingForward(out, tokens, f(table), N, C);
    expect(Array.from(out.buffer.subarray(C * 3, C * 4))).toEqual(Array.from(table.subarray(5 * C, 6 * C)));
    const dTable = new Float32Array(V * C);
    ops.embeddingBackward(f(dTable), f(R), tokens, N, C, V);
    checkGrad('dTable', table, dTable, () => {
      const o = f(new Float32Array(N * C));
      ops.embeddingForward(o, tokens, f(table), N, C);
      return dot(o.buffer, R);
    });
    expect(() => ops.embeddingForward(out, i32([0, 1, 6, 0, 0]), f(table), N, C)).toThrow(TokenRangeError);
    expect(() => ops.embeddingBackward(f(dTable), f(R), i32([0, -1, 0, 0, 0]), N, C, V)).toThrow(TokenRangeError);
  });

  it('rmsnorm forward matches the formula; backward accumulates the right gradients', () => {
    const [N, C, eps] = [3, 8, 1e-5];
    const x = randn(N * C, 1), w = randn(C, 2), R = randn(N * C, 3);
    const out = new Float32Array(N * C), rstd = new Float32Array(N);
    ops.rmsnormForward(f(out), f(rstd), f(x), f(w), N, C, eps);
    const ms = dot(x.subarray(0, C), x.subarray(0, C)) / C;
    expect(out[3]).toBeCloseTo((x[3] / Math.sqrt(ms + eps)) * w[3], 5);
    const loss = () => {
      const o = new Float32Array(N * C);
      ops.rmsnormForward(f(o), f(new Float32Array(N)), f(x), f(w), N, C, eps);
      return dot(o, R);
    };
    const dx = new Float32Array(N * C).fill(0.5), dw = new Float32Array(C).fill(0.25);
    ops.rmsnormBackward(f(dx), f(dw), f(R), f(x), f(w), f(rstd), N, C);
    checkGrad('dx', x, dx.map((v) => v - 0.5), loss);
    checkGrad('dWeight', w, dw.map((v) => v - 0.25), loss);
  });

  it('rope: identity at position 0, HF rotate-half formula, norm-preserving, backward is the transpose', () => {
    const [B, T, Hn, D, theta] = [2, 3, 2, 8, 10000];
    const x = randn(B * T * Hn * D, 1);
    const pos = i32([0, 1, 2, 5, 6, 7]);
    const y = x.slice();
    ops.ropeForward(f(y), pos, B, T, Hn, D, theta);
    for (let i = 0; i < Hn * D; i++) expect(y[i]).toBe(x[i]);
    // row (b=1, t=0, h=1) at position 5, pair i=1: angle = 5 * theta^(-2/8)
    const r = ((1 * T + 0) * Hn + 1) * D;
    const angle = 5 * Math.pow(theta, -2 / 8);
    expect(y[r + 1]).toBeCloseTo(x[r + 1] * Math.cos(angle) - x[r + 1 + D / 2] * Math.sin(angle), 5);
    expect(y[r + 1 + D / 2]).toBeCloseTo(x[r + 1 + D / 2] * Math.cos(angle) + x[r + 1] * Math.sin(angle), 5);
    expect(dot(y, y)).toBeCloseTo(dot(x, x), 3);
    const R = randn(x.length, 2);
    const dx = R.slice();
    ops.ropeBackward(f(dx), pos, B, T, Hn, D, theta);
    expect(dot(y, R)).toBeCloseTo(dot(x, dx), 4);
    expect(() => ops.ropeForward(f(y), pos, B, T, Hn, 7, theta)).toThrow(ShapeError);
  });

  it('swiglu', () => {
    const [N, I] = [3, 5];
    const gate = randn(N * I, 1, 3), up = randn(N * I, 2), R = randn(N * I, 3);
    const loss = () => {
      const o = new Float32Array(N * I);
      ops.swigluForward(f(o), f(gate), f(up), N, I);
      return dot(o, R);
    };
    const dGate = new Float32Array(N * I), dUp = new Float32Array(N * I);
    ops.swigluBackward(f(dGate), f(dUp), f(R), f(gate), f(up), N, I);
    checkGrad('dGate', gate, dGate, loss);
    checkGrad('dUp', up, dUp, loss);
  });

  it('add (aliasing out = a) and accumulate', () => {
    const a = randn(6, 1), b = randn(6, 2);
    const expected = a.map((v, i) => v + b[i]);
    const av = f(a);
    ops.add(av, av, f(b), 6);
    expect(Array.from(a)).toEqual(Array.from(expected));
    ops.accumulate(av, f(b), 6);
    for (let i = 0; i < 6; i++) expect(a[i]).toBeCloseTo(expected[i] + b[i], 6);
  });
});

describe('CpuOps attention (GQA, causal, key mask)', () => {
  const d: AttentionDims = { B: 2, T: 5, H: 4, Hkv: 2, D: 4 };
  const { B, T, H, Hkv, D } = d;
  const q = randn(B * T * H * D, 1), k = randn(B * T * Hkv * D, 2), v = randn(B * T * Hkv * D, 3);
  // row 1 has two padding positions at the front (left padding)
  const mask = Float32Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]);
  const forward = () => {
    const out = new Float32Array(B * T * H * D), att = new Float32Array(B * H * T * T);
    ops.attentionForward(f(out), f(att), f(q), f(k), f(v), f(mask), d);
    return { out, att };
  };

  it('rows are causal softmaxes that skip masked keys; padded queries give zero', () => {
    const { out, att } = forward();
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const row = att.subarray(((b * H + h) * T + t) * T, ((b * H + h) * T + t + 1) * T);
          for (let s = t + 1; s < T; s++) expect(row[s]).toBe(0);
          for (let s = 0; s < T; s++) if (mask[b * T + s] === 0) expect(row[s]).toBe(0);
          const sum = row.reduce((x, y) => x + y, 0);
          if (b === 1 && t < 2) {
            expect(sum).toBe(0);
            const o = ((b * T + t) * H + h) * D;
            expect(Array.from(out.subarray(o, o + D))).toEqual([0, 0, 0, 0]);
          } else expect(sum).toBeCloseTo(1, 5);
        }
    // query head 3 reads kv head 1: at t=0 of row 0 its output is v(0, kv 1)
    const o = (0 * H + 3) * D;
    for (let i = 0; i < D; i++) expect(out[o + i]).toBeCloseTo(v[1 * D + i], 6);
  });

  it('backward matches finite differences for q, k and v', () => {
    const R = randn(B * T * H * D, 4);
    // padded query rows get no gradient in the model (their loss weight is 0); mirror that here
    for (let t = 0; t < 2; t++) R.fill(0, ((1 * T + t) * H) * D, ((1 * T + t + 1) * H) * D);
    const { att } = forward();
    const dq = new Float32Array(q.length).fill(9), dk = new Float32Array(k.length).fill(9), dv = new Float32Array(v.length).fill(9);
    ops.attentionBackward(f(dq), f(dk), f(dv), f(R), f(att), f(q), f(k), f(v), d);
    const loss = () => dot(forward().out, R);
    checkGrad('dq', q, dq, loss, { samples: 40 });
    checkGrad('dk', k, dk, loss, { samples: 40 });
    checkGrad('dv', v, dv, loss, { samples: 40 });
  });

  it('decode against a cache filled by cacheWrite equals the last row of full attention', () => {
    const S = 8; // capacity larger than T; unfilled slots are masked
    const kc = new Float32Array(B * S * Hkv * D), vc = new Float32Array(B * S * Hkv * D);
    const row = Hkv * D;
    for (let t = 0; t < T; t++) {
      const kt = new Float32Array(B * row), vt = new Float32Array(B * row);
      for (let b = 0; b < B; b++) {
        kt.set(k.subarray((b * T + t) * row, (b * T + t + 1) * row), b * row);
        vt.set(v.subarray((b * T + t) * row, (b * T + t + 1) * row), b * row);
      }
      ops.cacheWrite(f(kc), f(kt), i32([t, t]), B, S, Hkv, D);
      ops.cacheWrite(f(vc), f(vt), i32([t, t]), B, S, Hkv, D);
    }
    const cacheMask = new Float32Array(B * S);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) cacheMask[b * S + t] = mask[b * T + t];
    const qLast = new Float32Array(B * H * D);
    for (let b = 0; b < B; b++) qLast.set(q.subarray(((b * T + T - 1) * H) * D, ((b * T + T) * H) * D), b * H * D);
    const out = new Float32Array(B * H * D);
    ops.attentionDecode(f(out), f(qLast), f(kc), f(vc), f(cacheMask), B, S, H, Hkv, D);
    const full = forward().out;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < H * D; i++) expect(out[b * H * D + i]).toBeCloseTo(full[((b * T + T - 1) * H) * D + i], 5);
    expect(() => ops.cacheWrite(f(kc), f(new Float32Array(B * row)), i32([0, S]), B, S, Hkv, D)).toThrow(ShapeError);
  });

  it('rejects H not divisible by Hkv', () => {
    const out = new Float32Array(B * T * H * D), att = new Float32Array(B * H * T * T);
    expect(() => ops.attentionForward(f(out), f(att), f(q), f(k), f(v), f(mask), { ...d, Hkv: 3 })).toThrow(ShapeError);
  });
});

describe('CpuOps objective and optimizer', () => {
  it('logprobs = log softmax at the target; backward matches finite differences', () => {
    const [N, V] = [4, 7];
    const logits = randn(N * V, 1, 4), dLp = randn(N, 2);
    const targets = i32([3, 0, 6, 3]);
    const lp = new Float32Array(N), lse = new Float32Array(N);
    ops.logprobsForward(f(lp), f(lse), f(logits), targets, N, V);
    const row = Array.from(logits.subarray(V, 2 * V));
    expect(lp[1]).toBeCloseTo(row[0] - Math.log(row.reduce((s, x) => s + Math.exp(x), 0)), 5);
    const dLogits = new Float32Array(N * V).fill(5);
    ops.logprobsBackward(f(dLogits), f(dLp), f(logits), f(lse), targets, N, V);
    checkGrad('dLogits', logits, dLogits, () => {
      const o = new Float32Array(N);
      ops.logprobsForward(f(o), f(new Float32Array(N)), f(logits), targets, N, V);
      return dot(o, dLp);
    });
    expect(() => ops.logprobsForward(f(lp), f(lse), f(logits), i32([0, 7, 0, 0]), N, V)).toThrow(TokenRangeError);
  });

  it('sumSquares', () => {
    const x = Float32Array.from([1, 2, 3, -4]);
    const out = new Float32Array(1);
    ops.sumSquares(f(out), f(x), 4);
    expect(out[0]).toBe(30);
  });

  it('adamw: one step by hand, decay only inside the decay ranges, grads scaled', () => {
    const params = Float32Array.from([1, -2, 3]), grads = Float32Array.from([0.5, 0.5, 0.5]);
    const m = new Float32Array(3), v = new Float32Array(3), ranges = Int32Array.from([0, 1, 2, 3]);
    const p = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5, step: 1, gradScale: 0.5 };
    ops.adamw(f(params), f(grads), f(m), f(v), i(ranges), 3, 2, p);
    // step 1: mhat = g, vhat = g^2 => update = sign(g) (up to eps); g = 0.25 after scaling
    expect(m[0]).toBeCloseTo(0.1 * 0.25, 7);
    expect(v[0]).toBeCloseTo(0.01 * 0.0625, 7);
    expect(params[0]).toBeCloseTo(1 - 0.1 * 0.5 * 1 - 0.1, 6);
    expect(params[1]).toBeCloseTo(-2 - 0.1, 6);
    expect(params[2]).toBeCloseTo(3 - 0.1 * 0.5 * 3 - 0.1, 6);
    expect(() => ops.adamw(f(params), f(grads), f(m), f(v), i(ranges), 3, 2, { ...p, step: 0 })).toThrow(ShapeError);
    // ranges must be non-empty, inside [0, n) and in order: a bad table is refused before anything changes
    const before = params.slice();
    for (const bad of [[0, 0], [1, 4], [2, 3, 0, 1]]) {
      expect(() => ops.adamw(f(params), f(grads), f(m), f(v), i(Int32Array.from(bad)), 3, bad.length / 2, p)).toThrow(/decay range/);
    }
    expect(params).toEqual(before);
  });
});

describe('CpuOps memory', () => {
  it('views are bounded by their parent and write through to it', () => {
    const parent = ops.allocF32(10, 'p');
    const child = ops.view(parent, 4, 3);
    ops.writeF32(child, Float32Array.from([1, 2, 3]));
    expect(Array.from(parent.buffer.subarray(3, 8))).toEqual([0, 1, 2, 3, 0]);
    const grandchild = ops.view(child, 1, 2);
    expect(grandchild.offset).toBe(5);
    expect(() => ops.view(child, 2, 2)).toThrow(ShapeError);
    expect(() => ops.writeF32(child, new Float32Array(4))).toThrow(ShapeError);
  });
});

describe('the finite-difference check itself', () => {
  it('fails on a wrong gradient', () => {
    const x = randn(4, 1);
    const loss = () => dot(x, x);
    expect(() => checkGrad('x', x, x.map((v) => 2 * v + 0.1), loss)).toThrow();
    expect(() => checkGrad('x', x, x.map((v) => 2 * v), loss)).not.toThrow();
  });
});
