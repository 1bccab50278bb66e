// The cheats the spot check is measured against (tests and `npm run bench:verify`), each in its strongest
// form: the cheater holds the real weights too, so its committed logprobs are the honest teacher-forced
// ones for whatever tokens it publishes, and only the seeded sampler's choice can give it away.

import type { Engine, SampleOptions } from '../../engine/api.ts';
import type { LogitsScorer } from '../../engine/logits.ts';
import { cdfPlacement } from './sampler.ts';
import { samplingSeed } from './seed.ts';
import { completionText, encodeCompletion, type TextTokenizer } from '../format.ts';
import { generateTask } from '../tasks/index.ts';
import type { TaskRef } from '../transport.ts';

export interface SampledRows {
  tokens: number[][];
  logprobs: number[][];
}

export type BatchSettings = Omit<SampleOptions, 'seed' | 'signal'>;

/** What an honest peer does: one sample call over the batch's rows with the derived seed. */
export async function sampleHonestly(engine: Engine, prompts: number[][], settings: BatchSettings, swarmId: string, round: number, peerId: string): Promise<SampledRows> {
  const r = await engine.sample(prompts, { ...settings, seed: samplingSeed(swarmId, round, peerId) });
  return { tokens: r.tokens, logprobs: r.logprobs };
}

/** The real weights' logprobs for given tokens: what a cheater holding the model commits to. */
export async function teacherForcedLogprobs(scorer: LogitsScorer, prompts: number[][], tokens: number[][]): Promise<number[][]> {
  const V = scorer.config.vocab_size;
  const logits = await scorer.completionLogits(prompts.map((p, i) => ({ tokens: [...p, ...tokens[i]], completionStart: p.length })));
  return tokens.map((row, i) => row.map((tok, t) => cdfPlacement(logits[i], t * V, V, { temperature: 1 }, tok).logprob));
}

/** Replaces the token at (row, position) with another in-vocabulary non-stop token. */
export function flipToken(tokens: number[][], row: number, position: number, V: number, stop: readonly number[]): number[][] {
  const out = tokens.map((r) => r.slice());
  const old = out[row][position];
  let t = (old + 1) % V;
  while (t === old || stop.includes(t)) t = (t + 1) % V;
  out[row][position] = t;
  return out;
}

/**
 * Best of `seeds` samplings per row (by `score`, first wins ties): cherry-picking. Rows where the canonical
 * seed's completion is already the best are indistinguishable from honest ones, so `picked` says how many
 * rows really changed.
 */
export async function cherryPick(
  engine: Engine, prompts: number[][], settings: BatchSettings, seeds: number[], score: (row: number, tokens: number[]) => number,
): Promise<SampledRows & { picked: number }> {
  const runs = [];
  for (const seed of seeds) runs.push(await engine.sample(prompts, { ...settings, seed }));
  const tokens: number[][] = [], logprobs: number[][] = [];
  let picked = 0;
  for (let row = 0; row < prompts.length; row++) {
    let best = 0, bestScore = -Infinity;
    runs.forEach((r, k) => {
      const s = score(row, r.tokens[row]);
      if (s > bestScore) [best, bestScore] = [k, s];
    });
    if (best !== 0 && runs[best].tokens[row].join() !== runs[0].tokens[row].join()) picked++;
    tokens.push(runs[best].tokens[row]);
    logprobs.push(runs[best].logprobs[row]);
  }
  return { tokens, logprobs, picked };
}

/** A copy of flat weights with Gaussian noise of relative size `scale` (a "second checkpoint"). */
export function perturbWeights(flat: Float32Array, scale: number, rand: () => number): Float32Array {
  let ss = 0;
  for (const x of flat) ss += x * x;
  const rms = Math.sqrt(ss / flat.length);
  const out = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    out[i] = flat[i] + g * scale * rms;
  }
  return out;
}

/**
 * Model-free "perfect" rollouts: every completion is the task's answer key written in the right format (the
 * key is derivable from the task seed), with logprobs the cheater makes up (or, in the strongest form, takes
 * from `teacherForcedLogprobs` on public weights it names). Rows in batch order: question * G + completion.
 */
export function answerKeyRows(tokenizer: TextTokenizer, refs: readonly TaskRef[], G: number, logprob = -0.05): SampledRows {
  const tokens: number[][] = [], logprobs: number[][] = [];
  for (const ref of refs) {
    const row = encodeCompletion(tokenizer, completionText(generateTask(ref).answer));
    for (let j = 0; j < G; j++) {
      tokens.push(row.slice());
      logprobs.push(row.map(() => logprob));
    }
  }
  return { tokens, logprobs };
}
