// The tolerance: a verifier whose logits differ from the sender's by backend-sized noise (measured ~6e-6 in
// logprob across CPU and WebGPU) still passes honest work, and the same check fails once the difference
// reaches what a different model or a tampered logprob produces.
import { describe, expect, it } from 'vitest';
import type { LogitsScorer } from '../../../../src/engine/logits.ts';
import { DEFAULT_TOLERANCE, answerChallenge, makeChallenge, spotCheck, weightsHash } from '../../../../src/rl/verify/index.ts';
import { Rng } from '../../../../src/rl/rng.ts';
import { commit, honest, prompts, scorer, settings, weights } from './scenario.ts';

/** the real scorer with every logit moved by uniform noise in [-amp, amp] (a stand-in for another backend) */
function noisy(amp: number, seed: number): LogitsScorer {
  const rng = new Rng(seed);
  return {
    ...scorer,
    backend: scorer.backend,
    config: scorer.config,
    completionLogits: async (batch) => (await scorer.completionLogits(batch)).map((rows) => rows.map((x) => x + (2 * rng.next() - 1) * amp)),
  };
}

async function verdictWith(s: LogitsScorer, rowsSettings = settings) {
  const batch = await commit(await honest(rowsSettings), { settings: rowsSettings });
  const challenge = makeChallenge(batch.commitment, 12, Math.random, 't');
  return spotCheck({ commitment: batch.commitment, challenge, response: answerChallenge(batch, challenge), promptOf: (r) => prompts[r], scorer: s, scorerWeightsHash: await weightsHash(weights) });
}

describe('tolerance', () => {
  it('passes honest work under 100x the measured cross-backend noise, with every setting', async () => {
    for (const s of [settings, { ...settings, topP: 0.9 }, { ...settings, topK: 5 }, { ...settings, temperature: 0 }]) {
      const v = await verdictWith(noisy(1e-4, 1), s);
      expect(v.reasons).toEqual([]);
      expect(v.maxLogprobDelta).toBeLessThan(DEFAULT_TOLERANCE.logprob);
    }
  });

  it('fails once the logits move by what another model moves them (0.05 per logit)', async () => {
    const v = await verdictWith(noisy(0.05, 2));
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/committed logprob/);
  });

  it('with zero tolerance the same backend still passes: half a quantisation step is always allowed', async () => {
    const batch = await commit(await honest());
    const challenge = makeChallenge(batch.commitment, 12, Math.random, 't');
    const strict = await spotCheck({
      commitment: batch.commitment, challenge, response: answerChallenge(batch, challenge), promptOf: (r) => prompts[r], scorer,
      scorerWeightsHash: await weightsHash(weights), tolerance: { logprob: 0, cdf: 0, greedy: 0 },
    });
    expect(strict.reasons).toEqual([]);
  });
});
