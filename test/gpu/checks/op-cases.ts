// Every op of ops.ts as a small case: named input tensors (random or given), a body that calls the op(s),
// and the tensors to compare. The same case runs on the CPU reference and on WebGPU (see op-check.ts); the
// shapes are odd on purpose (not multiples of tiles or workgroups), with GQA, padding masks and aliasing.

import type { AttentionDims, MatmulOptions, Ops, View } from '../../../src/engine/ops.ts';
import { packHalves } from '../../../src/engine/half.ts';

export type Init = 'rand' | 'positive' | 'zero' | readonly number[];

export interface TensorSpec {
  name: string;
  length: number;
  dtype?: 'f32' | 'i32';
  init?: Init;
}

export interface Tensors<F, I> {
  f(name: string): View<F>;
  i(name: string): View<I>;
}

export interface OpCase {
  name: string;
  tensors: TensorSpec[];
  run<F, I>(ops: Ops<F, I>, t: Tensors<F, I>): void;
  outputs: string[];
  /** outputs compared for the 'gpu' kernel family where they differ (flash attention keeps no probabilities) */
  gpuFamilyOutputs?: string[];
  /** allowed max |gpu - cpu| relative to max(1, max |cpu|) */
  tolerance: number;
}

const f = (name: string, length: number, init: Init = 'rand'): TensorSpec => ({ name, length, init });
const i = (name: string, values: readonly number[]): TensorSpec => ({ name, length: values.length, dtype: 'i32', init: values });

function matmulCase(M: number, N: number, K: number, options: MatmulOptions): OpCase {
  const tag = `${options.transA ? 't' : 'n'}${options.transB ? 't' : 'n'}${options.accumulate ? '+=' : ''}`;
  return {
    name: `matmul ${tag} M=${M} N=${N} K=${K}`,
    tensors: [f('out', M * N), f('a', M * K), f('b', K * N)],
    run: (ops, t) => ops.matmul(t.f('out'), t.f('a'), t.f('b'), M, N, K, options),
    outputs: ['out'],
    tolerance: 2e-6 * Math.max(8, K),
  };
}

function range(n: number, fn: (k: number) => number): number[] {
  return Array.from({ length: n }, (_, k) => fn(k));
}

function attentionCases({ B, T, H, Hkv, D }: AttentionDims): OpCase[] {
  const d = { B, T, H, Hkv, D };
  // row 0 all real; row 1 left-padded by 2 with a hole at 4: queries 0-1 of row 1 attend to nothing
  const mask = range(B * T, (k) => (k >= T && (k - T < 2 || k - T === 4) ? 0 : 1));
  const qn = B * T * H * D;
  const kn = B * T * Hkv * D;
  const tag = `B=${B} T=${T} H=${H} Hkv=${Hkv} D=${D}`;
  return [
    {
      name: `attentionForward ${tag}`,
      tensors: [f('out', qn), f('att', B * H * T * T), f('q', qn), f('k', kn), f('v', kn), f('mask', B * T, mask)],
      run: (ops, t) => ops.attentionForward(t.f('out'), t.f('att'), t.f('q'), t.f('k'), t.f('v'), t.f('mask'), d),
      outputs: ['out', 'att'],
      gpuFamilyOutputs: ['out'],
      tolerance: 1e-5,
    },
    {
      name: `attentionBackward ${tag}`,
      tensors: [
        f('out', qn), f('att', B * H * T * T), f('q', qn), f('k', kn), f('v', kn), f('mask', B * T, mask),
        f('dq', qn), f('dk', kn), f('dv', kn), f('dOut', qn),
      ],
      run: (ops, t) => {
        ops.attentionForward(t.f('out'), t.f('att'), t.f('q'), t.f('k'), t.f('v'), t.f('mask'), d);
        ops.attentionBackward(t.f('dq'), t.f('dk'), t.f('dv'), t.f('dOut'), t.f('att'), t.f('q'), t.f('k'), t.f('v'), d);
      },
      outputs: ['dq', 'dk', 'dv'],
      tolerance: 2e-5,
    },
  ];
}

function decodeCases(B: number, S: number, H: number, Hkv: number, D: number): OpCase[] {
  const mask = range(B * S, (k) => ((k % S) < 6 && k % 5 !== 3 ? 1 : 0));
  const tag = `B=${B} S=${S} H=${H} Hkv=${Hkv} D=${D}`;
  return [
    {
      name: `attentionDecode ${tag}`,
      tensors: [f('out', B * H * D), f('q', B * H * D), f('kc', B * S * Hkv * D), f('vc', B * S * Hkv * D), f('mask', B * S, mask)],
      run: (ops, t) => ops.attentionDecode(t.f('out'), t.f('q'), t.f('kc'), t.f('vc'), t.f('mask'), B, S, H, Hkv, D),
      outputs: ['out'],
      tolerance: 1e-5,
    },
    {
      name: `cacheWrite ${tag}`,
      tensors: [f('cache', B * S * Hkv * D), f('kv', B * Hkv * D), i('pos', range(B, (b) => (b * 3 + 2) % S))],
      run: (ops, t) => ops.cacheWrite(t.f('cache'), t.f('kv'), t.i('pos'), B, S, Hkv, D),
      outputs: ['cache'],
      tolerance: 0,
    },
  ];
}

export function opCases(): OpCase[] {
  const cases: OpCase[] = [];
  // 130x67 (K=70) spans several 64x64 tiles and partial 16-deep K slabs of the gpu family's tiled kernel
  for (const [M, N, K] of [[1, 1, 1], [7, 5, 3], [33, 65, 17], [64, 48, 128], [5, 70, 66], [1, 300, 37], [3, 9, 70], [36, 44, 52], [2, 1030, 36], [130, 68, 70]] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) cases.push(matmulCase(M, N, K, { transA, transB }));
    }
  }
  cases.push(matmulCase(13, 9, 21, { transB: true, accumulate: true }), matmulCase(13, 9, 21, { transA: true, accumulate: true }));
  cases.push(matmulCase(40, 12, 28, { transB: true, accumulate: true }), matmulCase(40, 12, 28, { transA: true, accumulate: true }));
  cases.push(matmulCase(6, 4, 0, {}));
  // f16-stored weights (frozen projections at half the bytes): both backends widen the same halves
  for (const [hM, hN, hK, accumulate] of [[1, 70, 66, false], [3, 33, 128, true], [5, 9, 2, false], [2, 1030, 36, false]] as const) {
    const w = packHalves(Float32Array.from(range(hN * hK, (k) => Math.sin(k * 0.37 + hN) * 0.8)));
    cases.push({
      name: `matmulHalfWeights M=${hM} N=${hN} K=${hK}${accumulate ? ' +=' : ''}`,
      tensors: [f('out', hM * hN), f('x', hM * hK), i('w', Array.from(w))],
      run: (ops, t) => ops.matmulHalfWeights(t.f('out'), t.f('x'), t.i('w'), hM, hN, hK, { accumulate }),
      outputs: ['out'],
      tolerance: 2e-6 * Math.max(8, hK),
    });
  }
  // the input gradient through a frozen f16 weight: dx (M,K) (+)= dy (M,N) W; odd M and N, K = 2 and a row
  // count past one workgroup of pairs
  for (const [hM, hN, hK, accumulate] of [[1, 70, 66, false], [3, 33, 128, true], [5, 9, 2, false], [7, 61, 150, true]] as const) {
    const w = packHalves(Float32Array.from(range(hN * hK, (k) => Math.cos(k * 0.29 + hK) * 0.8)));
    cases.push({
      name: `matmulHalfWeightsBackward M=${hM} N=${hN} K=${hK}${accumulate ? ' +=' : ''}`,
      tensors: [f('dx', hM * hK), f('dy', hM * hN), i('w', Array.from(w))],
      run: (ops, t) => ops.matmulHalfWeightsBackward(t.f('dx'), t.f('dy'), t.i('w'), hM, hN, hK, { accumulate }),
      outputs: ['dx'],
      tolerance: 2e-6 * Math.max(8, hN),
    });
  }

  const M = 11, N = 19;
  cases.push(
    { name: 'addBias', tensors: [f('out', M * N), f('bias', N)], run: (o, t) => o.addBias(t.f('out'), t.f('bias'), M, N), outputs: ['out'], tolerance: 1e-6 },
    { name: 'biasBackward', tensors: [f('dBias', N), f('dOut', M * N)], run: (o, t) => o.biasBackward(t.f('dBias'), t.f('dOut'), M, N), outputs: ['dBias'], tolerance: 1e-5 },
    // 150 rows: three chunks of the gpu family's two-pass column sum, the last one partial
    { name: 'biasBackward M=150', tensors: [f('dBias', 21), f('dOut', 150 * 21)], run: (o, t) => o.biasBackward(t.f('dBias'), t.f('dOut'), 150, 21), outputs: ['dBias'], tolerance: 1e-5 },
  );

  const V = 23, C = 13, tokens = [3, 0, 22, 3, 7, 3, 22, 15, 1];
  cases.push(
    {
      name: 'embeddingForward',
      tensors: [f('out', tokens.length * C), f('table', V * C), i('tokens', tokens)],
      run: (o, t) => o.embeddingForward(t.f('out'), t.i('tokens'), t.f('table'), tokens.length, C),
      outputs: ['out'],
      tolerance: 0,
    },
    {
      name: 'embeddingBackward (repeated tokens)',
      tensors: [f('dTable', V * C), f('dOut', tokens.length * C), i('tokens', tokens)],
      run: (o, t) => o.embeddingBackward(t.f('dTable'), t.f('dOut'), t.i('tokens'), tokens.length, C, V),
      outputs: ['dTable'],
      tolerance: 1e-6,
    },
  );

  // many repeats of few tokens: long chains in the gpu family's linked embedding backward
  const manyTokens = range(150, (n) => (n * n + 3 * n) % 7);
  cases.push({
    name: 'embeddingBackward (150 positions, 7 distinct tokens)',
    tensors: [f('dTable', 9 * 5), f('dOut', 150 * 5), i('tokens', manyTokens)],
    run: (o, t) => o.embeddingBackward(t.f('dTable'), t.f('dOut'), t.i('tokens'), 150, 5, 9),
    outputs: ['dTable'],
    tolerance: 1e-5,
  });

  // [48, 8]: Qwen3's per-head q/k norm, many short rows (token x head, head_dim)
  for (const [Nr, Cr] of [[5, 37], [3, 200], [130, 24], [48, 8]] as const) {
    cases.push(
      {
        name: `rmsnormForward N=${Nr} C=${Cr}`,
        tensors: [f('out', Nr * Cr), f('rstd', Nr), f('x', Nr * Cr), f('w', Cr)],
        run: (o, t) => o.rmsnormForward(t.f('out'), t.f('rstd'), t.f('x'), t.f('w'), Nr, Cr, 1e-5),
        outputs: ['out', 'rstd'],
        tolerance: 1e-5,
      },
      {
        name: `rmsnormBackward N=${Nr} C=${Cr} (accumulating)`,
        tensors: [f('out', Nr * Cr), f('rstd', Nr), f('x', Nr * Cr), f('w', Cr), f('dx', Nr * Cr), f('dw', Cr), f('dOut', Nr * Cr)],
        run: (o, t) => {
          o.rmsnormForward(t.f('out'), t.f('rstd'), t.f('x'), t.f('w'), Nr, Cr, 1e-5);
          o.rmsnormBackward(t.f('dx'), t.f('dw'), t.f('dOut'), t.f('x'), t.f('w'), t.f('rstd'), Nr, Cr);
        },
        outputs: ['dx', 'dw'],
        tolerance: 2e-5,
      },
    );
  }

  const [rB, rT, rH, rD] = [2, 5, 3, 8];
  const positions = [0, 1, 2, 3, 4, 7, 100, 1000, 2047, 5];
  for (const dir of ['Forward', 'Backward'] as const) {
    cases.push({
      name: `rope${dir} B=${rB} T=${rT} Hn=${rH} D=${rD}`,
      tensors: [f('x', rB * rT * rH * rD), i('pos', positions)],
      run: (o, t) => o[`rope${dir}`](t.f('x'), t.i('pos'), rB, rT, rH, rD, 10000),
      outputs: ['x'],
      tolerance: 2e-6,
    });
  }

  cases.push(...attentionCases({ B: 2, T: 7, H: 4, Hkv: 2, D: 8 }), ...attentionCases({ B: 1, T: 5, H: 3, Hkv: 1, D: 6 }));
  // T = 70: two 64-query blocks of the flash kernels, the second partial
  cases.push(...attentionCases({ B: 2, T: 70, H: 2, Hkv: 1, D: 4 }));
  cases.push(...decodeCases(2, 9, 4, 2, 8), ...decodeCases(3, 70, 6, 3, 5));

  const sN = 7, sI = 29;
  cases.push(
    {
      name: 'swigluForward',
      tensors: [f('out', sN * sI), f('gate', sN * sI), f('up', sN * sI)],
      run: (o, t) => o.swigluForward(t.f('out'), t.f('gate'), t.f('up'), sN, sI),
      outputs: ['out'],
      tolerance: 1e-6,
    },
    {
      name: 'swigluBackward',
      tensors: [f('dGate', sN * sI), f('dUp', sN * sI), f('dOut', sN * sI), f('gate', sN * sI), f('up', sN * sI)],
      run: (o, t) => o.swigluBackward(t.f('dGate'), t.f('dUp'), t.f('dOut'), t.f('gate'), t.f('up'), sN, sI),
      outputs: ['dGate', 'dUp'],
      tolerance: 1e-6,
    },
    { name: 'add', tensors: [f('out', 1001), f('a', 1001), f('b', 1001)], run: (o, t) => o.add(t.f('out'), t.f('a'), t.f('b'), 1001), outputs: ['out'], tolerance: 0 },
    { name: 'add in place (out aliases a)', tensors: [f('a', 333), f('b', 333)], run: (o, t) => o.add(t.f('a'), t.f('a'), t.f('b'), 333), outputs: ['a'], tolerance: 0 },
    { name: 'accumulate', tensors: [f('out', 517), f('a', 517)], run: (o, t) => o.accumulate(t.f('out'), t.f('a'), 517), outputs: ['out'], tolerance: 0 },
    { name: 'zero', tensors: [f('x', 77), f('keep', 5)], run: (o, t) => o.zero(t.f('x')), outputs: ['x', 'keep'], tolerance: 0 },
    { name: 'copy within one buffer', tensors: [f('dst', 45), f('src', 45)], run: (o, t) => o.copy(t.f('dst'), t.f('src')), outputs: ['dst', 'src'], tolerance: 0 },
  );

  for (const [lN, lV] of [[5, 1003], [2, 7]] as const) {
    const targets = range(lN, (n) => (n * 397 + 11) % lV);
    cases.push(
      {
        name: `logprobsForward N=${lN} V=${lV}`,
        tensors: [f('lp', lN), f('lse', lN), f('logits', lN * lV), i('targets', targets)],
        run: (o, t) => o.logprobsForward(t.f('lp'), t.f('lse'), t.f('logits'), t.i('targets'), lN, lV),
        outputs: ['lp', 'lse'],
        tolerance: 1e-5,
      },
      {
        name: `logprobsBackward N=${lN} V=${lV}`,
        tensors: [f('lp', lN), f('lse', lN), f('logits', lN * lV), i('targets', targets), f('dLogits', lN * lV), f('dlp', lN)],
        run: (o, t) => {
          o.logprobsForward(t.f('lp'), t.f('lse'), t.f('logits'), t.i('targets'), lN, lV);
          o.logprobsBackward(t.f('dLogits'), t.f('dlp'), t.f('logits'), t.f('lse'), t.i('targets'), lN, lV);
        },
        outputs: ['dLogits'],
        tolerance: 1e-6,
      },
    );
  }

  // token choice: greedy (with a tie: lowest index wins), temperature, top-k, top-p and both; draws are the
  // raw 32 bits of each row's uniform. Tokens must match exactly (an error of 1 is >> the tolerance).
  const draws = [0x00000000, 0x7fffffff, -1, 0x12345678, -0x6789abcd, 0x3c000000];
  const tied = range(6 * 7, (k) => (k % 7 === 2 || k % 7 === 5 ? 0.9 : ((k * 37) % 11) / 20));
  for (const [sV, o, init] of [
    [7, { temperature: 0 }, tied], [1003, { temperature: 0 }, 'rand'], [1003, { temperature: 1 }, 'rand'],
    [1003, { temperature: 0.7, topK: 40 }, 'rand'], [1003, { temperature: 1, topP: 0.9 }, 'rand'],
    [517, { temperature: 0.8, topK: 50, topP: 0.5 }, 'rand'], [7, { temperature: 1.3, topK: 3 }, tied],
  ] as const) {
    cases.push({
      name: `sampleTokens V=${sV} ${JSON.stringify(o)}`,
      tensors: [f('choice', 2 * 6), i('next', range(6, () => 0)), f('logits', 6 * sV, init === 'rand' ? 'rand' : init), i('draws', draws)],
      run: (ops, t) => ops.sampleTokens(t.f('choice'), t.i('next'), t.f('logits'), t.i('draws'), 6, sV, o),
      outputs: ['choice'],
      tolerance: 1e-6,
    });
  }

  for (const n of [1, 1000, 70001, 4096]) {
    cases.push({ name: `sumSquares n=${n}`, tensors: [f('out', 1), f('x', n)], run: (o, t) => o.sumSquares(t.f('out'), t.f('x'), n), outputs: ['out'], tolerance: 1e-5 });
  }
  // decay ranges with gaps, one of a single element, and boundaries inside vec4 items (n = 4000 runs the vec4
  // kernel: a range may start or end between the lanes of one item)
  for (const [an, ranges] of [[1001, [0, 1, 5, 300, 301, 999]], [4000, [3, 65, 128, 1030, 1031, 1032, 2047, 4000]]] as const) cases.push({
    name: `adamw n=${an} (${ranges.length / 2} decay ranges, grad scale, step 3)`,
    tensors: [f('p', an), f('g', an), f('m', an), f('v', an, 'positive'), i('decay', ranges)],
    run: (o, t) => o.adamw(t.f('p'), t.f('g'), t.f('m'), t.f('v'), t.i('decay'), an, ranges.length / 2, {
      lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3, gradScale: 0.5,
    }),
    outputs: ['p', 'm', 'v'],
    tolerance: 1e-5,
  });
  return cases;
}
