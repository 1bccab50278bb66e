// The sampler's randomness is reproducible per (row, position) from the seed: uniformAt is the engine's
// stream, and every token the CPU engine samples (full, top-k and top-p distributions) lies in the CDF
// interval of that uniform under the teacher-forced logits of the same weights.
import { describe, expect, it } from 'vitest';
import { createRng, streamSeed } from '../../../../src/engine/sampling.ts';
import { hashParts, roundSeed } from '../../../../src/rl/rng.ts';
import { cdfPlacement, samplingSeed, uniformAt } from '../../../../src/rl/verify/index.ts';
import { config, engine, honest, prompts, scorer, settings } from './scenario.ts';

describe('seeded uniforms', () => {
  it('uniformAt(seed, row, k) is the k-th draw of the engine stream of that row', () => {
    for (const seed of [0, 1, 0xdeadbeef, samplingSeed('s', 3, 'p')]) {
      for (const row of [0, 1, 5, 63]) {
        const rng = createRng(streamSeed(seed, row));
        for (let k = 0; k < 200; k++) expect(uniformAt(seed, row, k)).toBe(rng());
      }
    }
  });

  it('the seed is the one the runner samples with, and differs per round and per peer', () => {
    expect(samplingSeed('sw', 4, 'peer')).toBe(hashParts('tabswarm/sample', roundSeed('sw', 4, 'peer')));
    expect(samplingSeed('sw', 5, 'peer')).not.toBe(samplingSeed('sw', 4, 'peer'));
    expect(samplingSeed('sw', 4, 'peer2')).not.toBe(samplingSeed('sw', 4, 'peer'));
  });
});

describe('CDF placement reproduces the CPU engine draws', () => {
  const V = config.vocab_size;
  for (const [name, s] of [
    ['full distribution', settings],
    ['temperature 0.7, top-k 6', { ...settings, temperature: 0.7, topK: 6 }],
    ['top-p 0.8', { ...settings, topP: 0.8 }],
    ['top-k 10 then top-p 0.9', { ...settings, topK: 10, topP: 0.9 }],
  ] as const) {
    it(name, async () => {
      const rows = await honest(s);
      const seed = samplingSeed('swarm-test', 7, '12D3KooWPeer');
      const logits = await scorer.completionLogits(prompts.map((p, i) => ({ tokens: [...p, ...rows.tokens[i]], completionStart: p.length })));
      let checked = 0, distinct = new Set<number>(), worstLp = 0, worstEdge = Infinity;
      rows.tokens.forEach((toks, row) => toks.forEach((tok, t) => {
        const pl = cdfPlacement(logits[row], t * V, V, s, tok);
        const u = uniformAt(seed, row, t);
        expect(pl.admissible).toBe(true);
        // on one backend the decode loop and the teacher-forced pass agree to float rounding
        expect(u).toBeGreaterThanOrEqual(pl.lo - 1e-6);
        expect(u).toBeLessThan(pl.hi + 1e-6);
        worstLp = Math.max(worstLp, Math.abs(pl.logprob - rows.logprobs[row][t]));
        worstEdge = Math.min(worstEdge, pl.hi - pl.lo);
        distinct.add(tok);
        checked++;
      }));
      expect(worstLp).toBeLessThan(1e-4);
      expect(checked).toBeGreaterThan(50);
      // the model is not degenerate: the check is about choices, not a constant token
      expect(distinct.size).toBeGreaterThan(5);
      expect(worstEdge).toBeLessThan(1);
    });
  }

  it('greedy: the chosen token is the arg max (gap 0) and any other token has a gap', async () => {
    const rows = await engine.sample(prompts.slice(0, 3), { ...settings, temperature: 0, seed: 1 });
    const logits = await scorer.completionLogits(prompts.slice(0, 3).map((p, i) => ({ tokens: [...p, ...rows.tokens[i]], completionStart: p.length })));
    const pl = cdfPlacement(logits[0], 0, V, { temperature: 0 }, rows.tokens[0][0]);
    expect(pl.greedyGap).toBeLessThan(1e-6);
    const other = cdfPlacement(logits[0], 0, V, { temperature: 0 }, (rows.tokens[0][0] + 1) % V);
    expect(other.greedyGap).toBeGreaterThan(1e-4);
  });

  it('top-k near tie at the cut: the token just outside is admissible only within the tolerance', () => {
    const logits = new Float32Array([3, 2, 1, 1 - 1e-4, 0]);
    expect(cdfPlacement(logits, 0, 5, { temperature: 1, topK: 3 }, 3).admissible).toBe(false);
    const near = cdfPlacement(logits, 0, 5, { temperature: 1, topK: 3 }, 3, 1e-3);
    expect(near.admissible).toBe(true);
    expect(near.hi).toBeCloseTo(1, 9);
    expect(cdfPlacement(logits, 0, 5, { temperature: 1, topK: 3 }, 4, 1e-3).admissible).toBe(false);
  });

  it('a uniform is in exactly one token interval (the intervals tile [0,1))', async () => {
    const logits = (await scorer.completionLogits([{ tokens: [1, 4, 7, 3], completionStart: 3 }]))[0];
    for (const s of [settings, { ...settings, topP: 0.8 }, { ...settings, topK: 5 }]) {
      let mass = 0;
      for (let tok = 0; tok < V; tok++) {
        const p = cdfPlacement(logits, 0, V, s, tok);
        if (p.admissible) mass += p.hi - p.lo;
      }
      expect(mass).toBeCloseTo(1, 9);
    }
  });
});
