import { describe, expect, it } from 'vitest';
import { GRPO_DEFAULTS, GrpoError, groupAdvantages, grpoLoss, hasAdvantage, trainingAdvantages } from '../../../src/rl/grpo.ts';

describe('group advantages', () => {
  it('(r - mean) / (std + eps) with the population std', () => {
    const a = groupAdvantages([1.1, 0.1, 0.1, 0.1], 0);
    // mean 0.35, std sqrt(0.1875) = 0.4330127
    expect(a[0]).toBeCloseTo(1.7320508, 6);
    for (const x of a.slice(1)) expect(x).toBeCloseTo(-0.5773503, 6);
    expect(groupAdvantages([1, 0])[0]).toBeCloseTo(1 / (0.5 + 1e-6) * 0.5, 9);
  });

  it('equal rewards give zero advantage and no signal', () => {
    expect(groupAdvantages([0.1, 0.1, 0.1])).toEqual([0, 0, 0]);
    expect(hasAdvantage([0.1, 0.1, 0.1])).toBe(false);
    expect(hasAdvantage([0.1, 1.1])).toBe(true);
  });
});

describe('training advantages', () => {
  it('scaleByStd false: r - mean, so a format-only group pushes ten times less than a correctness group', () => {
    const noStd = { ...GRPO_DEFAULTS, scaleByStd: false };
    const formatOnly = trainingAdvantages([0.1, 0.1, 0.1, 0], noStd);
    const correctness = trainingAdvantages([1.1, 0.1, 0.1, 0.1], noStd);
    expect(formatOnly[3]).toBeCloseTo(-0.075, 12);
    expect(correctness[0]).toBeCloseTo(0.75, 12);
    // with the std both groups get the same magnitudes: the wrong-but-formatted answers are pushed up as hard
    expect(Math.abs(trainingAdvantages([0.1, 0.1, 0.1, 0])[3])).toBeCloseTo(Math.abs(trainingAdvantages([1.1, 0.1, 0.1, 0.1])[0]), 3);
    expect(trainingAdvantages([0.1, 0.1], noStd)).toEqual([0, 0]);
    expect(trainingAdvantages([1.1, 0.1])).toEqual(groupAdvantages([1.1, 0.1]));
  });
});

describe('grpoLoss', () => {
  it('token-mean surrogate and its gradient at ratio 1', () => {
    const r = grpoLoss([
      { logprobs: [-1, -2], oldLogprobs: [-1, -2], advantage: 1 },
      { logprobs: [-0.5], oldLogprobs: [-0.5], advantage: -2 },
    ], 3);
    // L = -(1 + 1 - 2) / 3 = 0; dL/dlogp = -A / 3
    expect(r.loss).toBeCloseTo(0, 12);
    expect(r.dLogprobs[0][0]).toBeCloseTo(-1 / 3, 12);
    expect(r.dLogprobs[0][1]).toBeCloseTo(-1 / 3, 12);
    expect(r.dLogprobs[1][0]).toBeCloseTo(2 / 3, 12);
    expect(r.clippedTokens).toBe(0);
  });

  it('clips at 1 + 0.28 for positive and 1 - 0.2 for negative advantages, never the other side', () => {
    const lnr = Math.log;
    const r = grpoLoss([
      { logprobs: [lnr(1.5)], oldLogprobs: [0], advantage: 1 }, // clipped: surrogate 1.28, no gradient
      { logprobs: [lnr(0.5)], oldLogprobs: [0], advantage: -1 }, // clipped: surrogate -0.8, no gradient
      { logprobs: [lnr(1.5)], oldLogprobs: [0], advantage: -1 }, // pessimistic side: -1.5, gradient -ρA/N
      { logprobs: [lnr(0.5)], oldLogprobs: [0], advantage: 1 }, // pessimistic side: 0.5
      { logprobs: [lnr(1.25)], oldLogprobs: [0], advantage: 1 }, // inside the asymmetric range (1.25 < 1.28)
    ], 5);
    expect(r.dLogprobs.map((d) => d[0])).toEqual([0, 0, expect.closeTo(1.5 / 5, 12), expect.closeTo(-0.5 / 5, 12), expect.closeTo(-1.25 / 5, 12)]);
    expect(r.loss).toBeCloseTo(-(1.28 - 0.8 - 1.5 + 0.5 + 1.25) / 5, 12);
    expect(r.clippedTokens).toBe(2);
  });

  it('matches a finite difference of its own loss', () => {
    const seqs = [
      { logprobs: [-0.7, -1.3, -0.2], oldLogprobs: [-0.9, -1.0, -0.25], advantage: 0.8 },
      { logprobs: [-2.1], oldLogprobs: [-1.9], advantage: -1.2 },
    ];
    const { dLogprobs } = grpoLoss(seqs, 4);
    const h = 1e-6;
    seqs.forEach((s, i) => s.logprobs.forEach((_, t) => {
      const bump = (d: number) => grpoLoss(seqs.map((q, j) => (j === i ? { ...q, logprobs: q.logprobs.map((x, k) => (k === t ? x + d : x)) } : q)), 4).loss;
      expect(dLogprobs[i][t]).toBeCloseTo((bump(h) - bump(-h)) / (2 * h), 6);
    }));
  });

  it('refuses mismatched lengths and an empty normaliser by name', () => {
    expect(() => grpoLoss([{ logprobs: [0], oldLogprobs: [], advantage: 1 }], 1)).toThrow(GrpoError);
    expect(() => grpoLoss([], 0)).toThrow(GrpoError);
    expect(grpoLoss([{ logprobs: [0], oldLogprobs: [-1e6], advantage: 1 }], 1).dLogprobs[0][0]).toBe(0);
  });
});
