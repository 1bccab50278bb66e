// The whole-batch check on the shared-prompt scorer (each question's prompt once, its G completions packed)
// reaches the verdicts of the padded scorer, with the same reasons, checked tokens and logprob deltas, on
// honest batches and on every cheat of the bench.
import { describe, expect, it } from 'vitest';
import { createCpuLogitsScorer } from '../../../../src/engine/logits.ts';
import { answerChallenge, makeChallenge, samplingSeed, spotCheck, weightsHash, type CommittedBatch } from '../../../../src/rl/verify/index.ts';
import { cherryPick, flipToken, teacherForcedLogprobs, type SampledRows } from '../../../../src/rl/verify/adversary.ts';
import { commit, config, engine, honest, ids, prompts, scorer, settings, weights } from './scenario.ts';

const padded = createCpuLogitsScorer(config, weights, { strategy: 'padded' });

async function bothVerdicts(batch: CommittedBatch) {
  const hash = await weightsHash(weights);
  const challenge = makeChallenge(batch.commitment, batch.commitment.completions, Math.random, 'n');
  const response = answerChallenge(batch, challenge);
  const run = (s: typeof scorer) => spotCheck({ commitment: batch.commitment, challenge, response, promptOf: (r) => prompts[r], scorer: s, scorerWeightsHash: hash });
  return { shared: await run(scorer), padded: await run(padded) };
}

const cases: [string, () => Promise<SampledRows>, boolean][] = [
  ['honest, full distribution', () => honest(), true],
  ['honest, top-p 0.9 temperature 0.8', () => honest({ ...settings, topP: 0.9, temperature: 0.8 }), true],
  ['one flipped token', async () => {
    const r = await honest();
    const tokens = flipToken(r.tokens, 6, Math.min(1, r.tokens[6].length - 2), config.vocab_size, settings.stopTokens);
    return { tokens, logprobs: await teacherForcedLogprobs(scorer, prompts, tokens) };
  }, false],
  ['hand-written rows', async () => {
    const tokens = prompts.map((_, i) => [4 + (i % 5), 7, 2]);
    return { tokens, logprobs: await teacherForcedLogprobs(scorer, prompts, tokens) };
  }, false],
  ['cherry-picked', async () => {
    const seeds = [samplingSeed(ids.swarmId, ids.round, ids.peerId), 11, 12, 13];
    return cherryPick(engine, prompts, settings, seeds, (_, t) => t.length);
  }, false],
];

describe('shared-prompt check = padded check', () => {
  for (const [name, rows, ok] of cases) {
    it(name, async () => {
      const s = name.includes('top-p') ? { ...settings, topP: 0.9, temperature: 0.8 } : settings;
      const v = await bothVerdicts(await commit(await rows(), { settings: s }));
      expect(v.shared.ok).toBe(ok);
      expect(v.shared.ok).toBe(v.padded.ok);
      expect(v.shared.reasons).toEqual(v.padded.reasons);
      expect(v.shared.checkedTokens).toBe(v.padded.checkedTokens);
      expect(Math.abs(v.shared.maxLogprobDelta - v.padded.maxLogprobDelta)).toBeLessThan(1e-5);
      expect(Math.abs(v.shared.maxCdfOvershoot - v.padded.maxCdfOvershoot)).toBeLessThan(1e-6);
    });
  }
});

describe('a row longer than the model context', () => {
  it('fails with its reason before any forward', async () => {
    const s = { ...settings, maxNewTokens: 80 };
    const long = [...Array.from({ length: 60 }, (_, t) => 3 + (t % 30)), 2];
    const rows = { tokens: prompts.map(() => long.slice()), logprobs: prompts.map(() => long.map(() => -1)) };
    const v = await bothVerdicts(await commit(rows, { settings: s }));
    expect(v.shared.ok).toBe(false);
    expect(v.shared.reasons[0]).toMatch(/prompt \+ completion \(65 tokens\) exceed the model's context of 64/);
    expect(v.shared.checkedTokens).toBe(0);
  });
});
