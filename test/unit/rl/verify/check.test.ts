// The spot check: honest batches pass under every sampling setting; each cheat fails with its reason, in
// its strongest form (the cheater has the real weights and commits their true logprobs for its tokens).
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../../src/engine/cpu/index.ts';
import { Rng } from '../../../../src/rl/rng.ts';
import {
  answerChallenge, makeChallenge, spotCheck, samplingSeed, weightsHash, ChallengeError, MAX_CHALLENGED_ROWS,
} from '../../../../src/rl/verify/index.ts';
import { cherryPick, flipToken, perturbWeights, teacherForcedLogprobs } from '../../../../src/rl/verify/adversary.ts';
import { checkAll, commit, config, engine, honest, ids, prompts, scorer, settings, weights } from './scenario.ts';

describe('spot check: honest work passes', () => {
  for (const [name, s] of [
    ['full distribution', settings], ['top-p 0.9, temperature 0.8', { ...settings, topP: 0.9, temperature: 0.8 }],
    ['top-k 5', { ...settings, topK: 5 }], ['greedy', { ...settings, temperature: 0 }],
  ] as const) {
    it(name, async () => {
      const v = await checkAll(await commit(await honest(s), { settings: s }));
      expect(v.reasons).toEqual([]);
      expect(v.ok).toBe(true);
      expect(v.checkedTokens).toBeGreaterThan(50);
    });
  }

  it('challenges distinct rows chosen by the challenger, capped', async () => {
    const batch = await commit(await honest());
    const rng = new Rng(5);
    const c = makeChallenge(batch.commitment, 4, () => rng.next(), 'n');
    expect(new Set(c.rows).size).toBe(4);
    expect(c.rows.every((r) => r >= 0 && r < 12)).toBe(true);
    expect(makeChallenge(batch.commitment, 1000, Math.random, 'n').rows.length).toBe(Math.min(12, MAX_CHALLENGED_ROWS));
    expect(() => makeChallenge(batch.commitment, 0, Math.random, 'n')).toThrow(ChallengeError);
    expect(() => answerChallenge(batch, { ...c, root: '00'.repeat(32) })).toThrow(ChallengeError);
  });
});

describe('spot check: every cheat is caught', () => {
  it('an unanswered challenge fails', async () => {
    const v = await checkAll(await commit(await honest()), () => null);
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/unanswered/);
  });

  it('one flipped token (logprobs recomputed honestly) fails at that position', async () => {
    const rows = await honest();
    const row = 5, pos = Math.min(2, rows.tokens[row].length - 2);
    const tokens = flipToken(rows.tokens, row, pos, config.vocab_size, settings.stopTokens);
    const v = await checkAll(await commit({ tokens, logprobs: await teacherForcedLogprobs(scorer, prompts, tokens) }));
    expect(v.ok).toBe(false);
    expect(v.reasons.join('\n')).toMatch(new RegExp(`row ${row} position ${pos}: the seeded uniform`));
  });

  it('a flipped token with the old logprob kept fails on the logprob', async () => {
    const rows = await honest();
    const tokens = flipToken(rows.tokens, 3, 0, config.vocab_size, settings.stopTokens);
    const v = await checkAll(await commit({ tokens, logprobs: rows.logprobs }));
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/row 3 position 0: committed logprob/);
  });

  it('hand-written answers (no model drew them) fail', async () => {
    const tokens = prompts.map((_, i) => [7, 8 + (i % 3), 9, 2]);
    const v = await checkAll(await commit({ tokens, logprobs: await teacherForcedLogprobs(scorer, prompts, tokens) }));
    expect(v.ok).toBe(false);
    expect(v.reasons.length).toBeGreaterThan(6);
  });

  it('completions from another checkpoint, claimed as the named one, fail', async () => {
    const rng = new Rng(3);
    const other = createCpuEngine(config, perturbWeights(weights, 0.5, () => rng.next()));
    const r = await other.sample(prompts, { ...settings, seed: samplingSeed(ids.swarmId, ids.round, ids.peerId) });
    const v = await checkAll(await commit({ tokens: r.tokens, logprobs: await teacherForcedLogprobs(scorer, prompts, r.tokens) }));
    expect(v.ok).toBe(false);
    other.dispose();
  });

  it('cherry-picked samples (best of several seeds) fail', async () => {
    const seeds = [samplingSeed(ids.swarmId, ids.round, ids.peerId), 11, 12, 13];
    // "best" = longest completion: any preference the canonical seed does not happen to satisfy
    const picked = await cherryPick(engine, prompts, settings, seeds, (_, t) => t.length);
    expect(picked.picked).toBeGreaterThan(0);
    const v = await checkAll(await commit(picked));
    expect(v.ok).toBe(false);
    expect(v.reasons.length).toBeGreaterThanOrEqual(picked.picked);
  });

  it('rollouts replayed from another round fail (wrong seed for this round)', async () => {
    const old = await engine.sample(prompts, { ...settings, seed: samplingSeed(ids.swarmId, ids.round - 1, ids.peerId) });
    const v = await checkAll(await commit({ tokens: old.tokens, logprobs: old.logprobs }));
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/seeded uniform/);
  });

  it('a commitment naming other weights, a forged seed, a truncated row or a bad proof fails', async () => {
    const rows = await honest();
    const batch = await commit(rows, { hash: 'cd'.repeat(32) });
    expect((await checkAll(batch)).reasons[0]).toMatch(/weights/);

    const good = await commit(rows);
    const forged = { ...good, commitment: { ...good.commitment, seed: good.commitment.seed ^ 1 } };
    expect((await checkAll(forged)).reasons[0]).toMatch(/seed is not/);

    const long = rows.tokens.findIndex((t) => t.length >= 3 && !settings.stopTokens.includes(t[1]));
    const cut = rows.tokens.map((t, i) => (i === long ? t.slice(0, 2) : t));
    const cutLp = rows.logprobs.map((t, i) => (i === long ? t.slice(0, 2) : t));
    expect((await checkAll(await commit({ tokens: cut, logprobs: cutLp }))).reasons[0]).toMatch(/truncated/);

    const v = await checkAll(good, (r) => ({ ...r, reveals: r.reveals.map((x, i) => (i === 0 ? { ...x, leaf: { ...x.leaf, q: x.leaf.q.map((q) => q + 1) } } : x)) }));
    expect(v.reasons[0]).toMatch(/revealed batch does not match the commitment/);
    // a challenge on some rows checks each reveal's proof instead
    const some = makeChallenge(good.commitment, 4, Math.random, 's');
    const resp = answerChallenge(good, some);
    expect(resp.reveals.every((x) => x.proof.length > 0)).toBe(true);
    // one token of a reveal changed to another non-stop token, the row's stop structure kept: only the proof can
    // tell (a change that moved a stop token fails earlier, on the row's shape)
    const k = resp.reveals.findIndex((x) => x.leaf.tokens.length >= 2);
    expect(k, 'a challenged row with two or more tokens').toBeGreaterThanOrEqual(0);
    const other = (t: number) => {
      let u = (t + 1) % 40;
      while (u === t || settings.stopTokens.includes(u)) u = (u + 1) % 40;
      return u;
    };
    const partial = await spotCheck({
      commitment: good.commitment, challenge: some, promptOf: (r) => prompts[r], scorer, scorerWeightsHash: await weightsHash(weights),
      response: { ...resp, reveals: resp.reveals.map((x, i) => (i === k ? { ...x, leaf: { ...x.leaf, tokens: x.leaf.tokens.map((t, j) => (j === 0 ? other(t) : t)) } } : x)) },
    });
    expect(partial.reasons[0]).toMatch(/Merkle proof fails/);
    expect((await spotCheck({ commitment: good.commitment, challenge: some, response: resp, promptOf: (r) => prompts[r], scorer, scorerWeightsHash: await weightsHash(weights) })).ok).toBe(true);
    const swapped = await checkAll(good, (r) => ({ ...r, reveals: [r.reveals[1], r.reveals[0], ...r.reveals.slice(2)] }));
    expect(swapped.reasons[0]).toMatch(/reveal 0 is not row 0/);
  });

  it('honest samples committed beside other published text fail when the verifier compares them', async () => {
    const rows = await honest();
    const batch = await commit(rows);
    const challenge = makeChallenge(batch.commitment, 12, Math.random, 'x');
    const published = rows.tokens.map((t, i) => (i === 4 ? [...t.slice(0, -1), 9] : t));
    const input = { commitment: batch.commitment, challenge, response: answerChallenge(batch, challenge), promptOf: (r: number) => prompts[r], scorer, scorerWeightsHash: await weightsHash(weights) };
    const same = (row: number, t: number[]) => t.join() === published[row].join();
    expect((await spotCheck({ ...input, matchesPublished: same })).reasons).toEqual(['row 4: revealed tokens are not the published completion']);
    expect((await spotCheck(input)).ok).toBe(true);
    expect((await spotCheck({ ...input, expectedCompletions: 12 })).ok).toBe(true);
    expect((await spotCheck({ ...input, expectedCompletions: 16 })).reasons[0]).toMatch(/covers 12 completions, the batch publishes 16/);
  });

  it('the verifier checks against the weights it hashed itself', async () => {
    const batch = await commit(await honest());
    const challenge = makeChallenge(batch.commitment, 3, Math.random, 'x');
    const v = await spotCheck({
      commitment: batch.commitment, challenge, response: answerChallenge(batch, challenge), promptOf: (r) => prompts[r], scorer,
      scorerWeightsHash: await weightsHash(perturbWeights(weights, 1e-3, Math.random)),
    });
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/weights/);
  });
});
