// Sampling and one GRPO step for a game stage. The stages' prompts are not the task prompts the runner
// encodes (they end inside a tag, with no newline after), so the game encodes its own and calls the same
// GRPO loss (src/rl/grpo.ts) the round runner uses: group advantages, clipping, token-mean, AdamW.
import type { AdamWConfig, Engine, TrainSequence } from '../../engine/api.ts';
import { decodeCompletion, encodePrompt, type TextTokenizer } from '../format.ts';
import { groupAdvantages, grpoLoss, type GrpoConfig, type GrpoSequence } from '../grpo.ts';
import type { SamplingConfig } from '../runner.ts';
import type { Stage } from './stages.ts';

/** the answer stage uses the task format the model was taught; the others continue their scaffold as is */
export function encodeStagePrompt(tokenizer: TextTokenizer, stage: Stage, prompt: string): number[] {
  if (stage === 'answer') return encodePrompt(tokenizer, { prompt });
  const ids = tokenizer.encode(prompt);
  return tokenizer.bosId === null ? ids : [tokenizer.bosId, ...ids];
}

export interface SampledCompletion {
  /** completion text without the stop token */
  text: string;
  tokens: number[];
  oldLogprobs: number[];
}

/** G completions for each prompt, in prompt order; the budget shrinks so every prompt fits the context */
export async function sampleGroups(engine: Engine, tokenizer: TextTokenizer, prompts: readonly number[][], g: number, sampling: SamplingConfig, seed: number): Promise<SampledCompletion[][]> {
  if (prompts.length === 0) return [];
  const longest = prompts.reduce((m, p) => Math.max(m, p.length), 0);
  const maxNewTokens = Math.min(sampling.maxNewTokens, engine.config.max_position_embeddings - longest);
  if (maxNewTokens < 1) throw new Error(`a ${longest}-token game prompt leaves no room in the model's context`);
  const rows = prompts.flatMap((p) => Array.from({ length: g }, () => p));
  const result = await engine.sample(rows, { ...sampling, maxNewTokens, seed, stopTokens: [tokenizer.eosId] });
  return prompts.map((_, q) =>
    Array.from({ length: g }, (_, j) => {
      const row = q * g + j;
      return { text: decodeCompletion(tokenizer, result.tokens[row]), tokens: result.tokens[row], oldLogprobs: result.logprobs[row] };
    }),
  );
}

export interface TrainGroup {
  prompt: number[];
  completions: readonly SampledCompletion[];
  rewards: readonly number[];
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  sequences: number;
  tokens: number;
}

/** one optimizer step over every group with signal; none (no update) when no group has any */
export async function grpoStageStep(engine: Engine, groups: readonly TrainGroup[], adamw: AdamWConfig, grpo: GrpoConfig, microBatch: number): Promise<StepResult> {
  const maxLen = engine.config.max_position_embeddings;
  const items: { seq: TrainSequence; oldLogprobs: number[]; advantage: number }[] = [];
  for (const g of groups) {
    const adv = groupAdvantages(g.rewards, grpo.advantageEps);
    g.completions.forEach((c, i) => {
      if (adv[i] === 0 || c.tokens.length === 0 || g.prompt.length + c.tokens.length > maxLen) return;
      items.push({ seq: { tokens: [...g.prompt, ...c.tokens], completionStart: g.prompt.length }, oldLogprobs: c.oldLogprobs, advantage: adv[i] });
    });
  }
  const totalTokens = items.reduce((s, it) => s + it.seq.tokens.length - it.seq.completionStart, 0);
  if (items.length === 0 || totalTokens === 0) return { loss: 0, gradNorm: 0, sequences: 0, tokens: 0 };
  engine.zeroGrads();
  let loss = 0;
  for (let i = 0; i < items.length; i += microBatch) {
    const mb = items.slice(i, i + microBatch);
    const logprobs = await engine.forwardLogprobs(mb.map((it) => it.seq));
    const seqs: GrpoSequence[] = mb.map((it, k) => ({
      logprobs: logprobs[k],
      oldLogprobs: it.oldLogprobs.length === logprobs[k].length ? it.oldLogprobs : logprobs[k],
      advantage: it.advantage,
    }));
    const result = grpoLoss(seqs, totalTokens, grpo);
    loss += result.loss;
    await engine.backwardLogprobs(result.dLogprobs);
  }
  const { gradNorm } = await engine.optimizerStep(adamw);
  return { loss, gradNorm, sequences: items.length, tokens: totalTokens };
}
