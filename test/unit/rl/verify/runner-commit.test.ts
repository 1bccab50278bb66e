// Committed sampling end to end in the RL core: a real CPU engine's runner publishes a commitment that a
// receiver, holding only the batch and the named weights, checks row by row; edited text, another round's
// weights and an answer from the wrong round all fail with reasons.
import { describe, expect, it } from 'vitest';
import { createCpuEngine, initWeights, tinyConfig } from '../../../../src/engine/index.ts';
import { createCpuLogitsScorer } from '../../../../src/engine/logits.ts';
import { InMemoryBus } from '../../../../src/rl/bus.ts';
import { defaultRunnerConfig, RoundRunner } from '../../../../src/rl/runner.ts';
import { checkPublishedBatch } from '../../../../src/rl/verify/batch.ts';
import { makeChallenge, weightsHash } from '../../../../src/rl/verify/index.ts';
import { charTokenizer } from '../fakes.ts';

const config = tinyConfig({ vocab_size: 128, max_position_embeddings: 256 });

async function setup() {
  const weights = initWeights(config, 5, 0.3);
  const engine = createCpuEngine(config, weights);
  const bus = new InMemoryBus();
  const sender = bus.connect('sender');
  const receiver = bus.connect('receiver');
  const runnerConfig = defaultRunnerConfig({ swarmId: 's', questions: 2, completions: 4, localGroups: 2, sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 10 } });
  const runner = new RoundRunner(engine, charTokenizer, sender, runnerConfig);
  return { weights, runner, receiver };
}

describe('committed sampling from the round runner', () => {
  it('publishes a commitment that the named weights verify on every row', async () => {
    const { weights, runner, receiver } = await setup();
    await runner.sampleRound(3);
    const [batch] = receiver.receivedRollouts(3);
    expect(batch.sampling).toBeDefined();
    const c = batch.sampling!;
    expect(c.completions).toBe(8);
    expect(c.weightsHash).toBe(await weightsHash(weights));
    const kept = runner.keeper.weightsFor(c.weightsHash)!;
    expect(kept).not.toBeNull();
    const scorer = createCpuLogitsScorer(config, kept);
    const challenge = makeChallenge(c, 8, Math.random, 'n1');
    const verdict = await checkPublishedBatch({ batch, challenge, response: runner.keeper.answer(challenge), scorer, scorerWeightsHash: await weightsHash(kept), tokenizer: charTokenizer });
    expect(verdict.reasons).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.checkedTokens).toBeGreaterThan(8);
  });

  it('fails edited text, other weights and unanswered challenges, each with its reason', async () => {
    const { weights, runner, receiver } = await setup();
    await runner.sampleRound(3);
    const [batch] = receiver.receivedRollouts(3);
    const c = batch.sampling!;
    const scorer = createCpuLogitsScorer(config, weights);
    const hash = await weightsHash(weights);
    const challenge = makeChallenge(c, 3, () => 0, 'n2');
    const response = runner.keeper.answer(challenge);
    const base = { challenge, response, scorer, scorerWeightsHash: hash, tokenizer: charTokenizer };
    // the published text of a challenged row edited after committing
    const row = challenge.rows[0];
    const edited = structuredClone(batch);
    edited.rollouts[Math.floor(row / 4)].completions[row % 4].text += '!';
    expect((await checkPublishedBatch({ ...base, batch: edited })).reasons[0]).toMatch(/not the published completion/);
    // a verifier holding other weights refuses to judge against them
    const other = initWeights(config, 6, 0.3);
    expect((await checkPublishedBatch({ ...base, batch, scorer: createCpuLogitsScorer(config, other), scorerWeightsHash: await weightsHash(other) })).reasons[0]).toMatch(/are not the ones checked against/);
    expect((await checkPublishedBatch({ ...base, batch, response: null })).reasons).toEqual(['challenge unanswered']);
    const noCommit = { ...batch };
    delete noCommit.sampling;
    expect((await checkPublishedBatch({ ...base, batch: noCommit })).reasons).toEqual(['the batch carries no sampling commitment']);
  });

  it('keeps the weights of a round whose weights moved on, and forgets old rounds', async () => {
    const { runner } = await setup();
    await runner.sampleRound(0);
    const first = runner.keeper.batchOf(0)!.commitment.weightsHash;
    // new weights between rounds (a training step or an averaging does this)
    runner.replaceEngine(createCpuEngine(config, initWeights(config, 9, 0.3))).dispose();
    await runner.sampleRound(1);
    expect(runner.keeper.batchOf(1)!.commitment.weightsHash).not.toBe(first);
    expect(runner.keeper.weightsFor(first)).not.toBeNull();
    for (let r = 2; r < 10; r++) await runner.sampleRound(r);
    expect(runner.keeper.batchOf(0)).toBeNull();
    expect(() => runner.keeper.answer({ v: 1, swarmId: 's', round: 0, peerId: 'sender', root: '00'.repeat(32), rows: [0], nonce: 'x' })).toThrow(/not kept any more/);
  });
});
