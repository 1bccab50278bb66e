// A small committed batch on the CPU engine (random weights with enough spread that tokens differ), shared
// by the verify tests: the honest rows, their commitment, and a check runner.
import { createCpuEngine } from '../../../../src/engine/cpu/index.ts';
import { tinyConfig } from '../../../../src/engine/config.ts';
import { initWeights } from '../../../../src/engine/init.ts';
import { createCpuLogitsScorer } from '../../../../src/engine/logits.ts';
import type { ModelConfig } from '../../../../src/engine/api.ts';
import {
  answerChallenge, commitSampling, makeChallenge, spotCheck, weightsHash, type CommittedBatch, type ChallengeResponse, type Verdict,
} from '../../../../src/rl/verify/index.ts';
import { sampleHonestly, type BatchSettings, type SampledRows } from '../../../../src/rl/verify/adversary.ts';

export const config: ModelConfig = tinyConfig({ vocab_size: 40, hidden_size: 24, intermediate_size: 40, num_attention_heads: 4, num_key_value_heads: 2 });
export const weights = initWeights(config, 11, 0.35);
export const ids = { swarmId: 'swarm-test', round: 7, peerId: '12D3KooWPeer' };
export const prompts: number[][] = Array.from({ length: 12 }, (_, i) => [1, 3 + (i >> 2), 5 + ((i >> 2) * 7) % 30, 9]);
export const settings: BatchSettings = { maxNewTokens: 12, temperature: 1, stopTokens: [2] };

export const engine = createCpuEngine(config, weights);
export const scorer = createCpuLogitsScorer(config, weights);

export async function commit(rows: SampledRows, o: { settings?: BatchSettings; hash?: string; round?: number } = {}): Promise<CommittedBatch> {
  const s = o.settings ?? settings;
  return commitSampling({
    ...ids, round: o.round ?? ids.round, weightsHash: o.hash ?? (await weightsHash(weights)),
    settings: { temperature: s.temperature, topP: s.topP, topK: s.topK, maxNewTokens: s.maxNewTokens, stopTokens: s.stopTokens },
    tokens: rows.tokens, logprobs: rows.logprobs,
  });
}

export function honest(s: BatchSettings = settings): Promise<SampledRows> {
  return sampleHonestly(engine, prompts, s, ids.swarmId, ids.round, ids.peerId);
}

/** challenge every row (what the bench does per challenged batch), answer from the batch, check */
export async function checkAll(batch: CommittedBatch, tamper?: (r: ChallengeResponse) => ChallengeResponse | null): Promise<Verdict> {
  const challenge = makeChallenge(batch.commitment, batch.commitment.completions, Math.random, 'nonce-1');
  let response: ChallengeResponse | null = answerChallenge(batch, challenge);
  if (tamper) response = tamper(response);
  return spotCheck({
    commitment: batch.commitment, challenge, response, promptOf: (row) => prompts[row], scorer, scorerWeightsHash: await weightsHash(weights),
  });
}
