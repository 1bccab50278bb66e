// A spot check of a published rollout batch (what a receiver holds): the prompts of its rows are re-derived
// from the batch's own task refs (a sender cannot point the check at other prompts), the revealed tokens must
// decode to the published text, and the commitment must cover exactly the rows the batch publishes.

import type { LogitsScorer } from '../../engine/logits.ts';
import { decodeCompletion, encodePrompt, type TextTokenizer } from '../format.ts';
import { generateTask } from '../tasks/index.ts';
import type { RolloutBatch } from '../transport.ts';
import { spotCheck, type Challenge, type ChallengeResponse, type Tolerance, type Verdict } from './check.ts';

export interface BatchCheckInput {
  batch: RolloutBatch;
  challenge: Challenge;
  response: ChallengeResponse | null | undefined;
  scorer: LogitsScorer;
  /** weightsHash() the verifier computed itself over the scorer's weights */
  scorerWeightsHash: string;
  tokenizer: TextTokenizer;
  tolerance?: Tolerance;
}

export async function checkPublishedBatch(input: BatchCheckInput): Promise<Verdict> {
  const { batch, tokenizer } = input;
  const commitment = batch.sampling;
  const none = (reason: string): Verdict => ({ ok: false, reasons: [reason], checkedTokens: 0, maxLogprobDelta: 0, maxCdfOvershoot: 0 });
  if (!commitment) return none('the batch carries no sampling commitment');
  if (commitment.swarmId !== batch.swarmId || commitment.round !== batch.round || commitment.peerId !== batch.peerId) {
    return none('the commitment names another swarm, round or peer than the batch');
  }
  // row = question * G + completion, in the order the batch publishes them
  const rows: { prompt: () => number[]; text: string }[] = [];
  for (const rollout of batch.rollouts) {
    let prompt: number[] | null = null;
    const promptOf = () => (prompt ??= encodePrompt(tokenizer, generateTask(rollout.task)));
    for (const c of rollout.completions) rows.push({ prompt: promptOf, text: c.text });
  }
  for (const row of input.challenge.rows) {
    if (!Number.isInteger(row) || row < 0 || row >= rows.length) return none(`challenged row ${row} is not in the batch (${rows.length} rows)`);
  }
  return spotCheck({
    commitment,
    challenge: input.challenge,
    response: input.response,
    promptOf: (row) => rows[row].prompt(),
    matchesPublished: (row, tokens) => decodeCompletion(tokenizer, tokens) === rows[row].text,
    expectedCompletions: rows.length,
    scorer: input.scorer,
    scorerWeightsHash: input.scorerWeightsHash,
    ...(input.tolerance ? { tolerance: input.tolerance } : {}),
  });
}
