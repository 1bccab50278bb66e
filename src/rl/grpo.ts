// GRPO (no KL, β = 0) with asymmetric clipping (DAPO's "clip higher"), as pure functions.
//
// Per question group: advantage A_i = (r_i - mean(r)) / (std(r) + eps), std over the group (population,
// divide by G). Each completion token t of sequence i has ratio ρ = exp(logp - logp_old) and surrogate
// min(ρ A, clip(ρ, 1 - clipLow, 1 + clipHigh) A).
//
// Token-level aggregation: the loss is the mean over ALL completion tokens in the training batch
// (DAPO's token-mean: sum over sequences and tokens / total token count), not a per-sequence mean, so a
// long completion weighs as much per token as a short one and long wrong answers are not diluted:
//   L = -(1 / N_tokens) Σ_i Σ_t min(ρ_it A_i, clip(ρ_it) A_i)
// Its derivative with respect to logp_it is -(ρ_it A_i) / N_tokens where the unclipped term is the active
// one, and 0 where the clip binds (A > 0 and ρ > 1 + clipHigh, or A < 0 and ρ < 1 - clipLow). That is
// what the engine's backwardLogprobs takes as dLogprobs (it backprops Σ dLogprobs · logprob).

export interface GrpoConfig {
  clipLow: number;
  clipHigh: number;
  /** added to the group std before dividing */
  advantageEps: number;
  /**
   * false: A_i = r_i - mean(r), no division by the group std (Dr. GRPO, Liu et al. 2025). Dividing by the
   * std gives a group whose rewards differ only by the 0.1 format term the same push as one that differs
   * by correctness, so a group of wrong answers, one of them malformed, strongly reinforces the wrong but
   * well-formed ones. Absent = true (GRPO as published).
   */
  scaleByStd?: boolean;
}

export const GRPO_DEFAULTS: GrpoConfig = { clipLow: 0.2, clipHigh: 0.28, advantageEps: 1e-6 };

/** below this std a group's rewards are considered equal: it carries no learning signal */
export const ZERO_ADVANTAGE_STD = 1e-6;

export function groupStats(rewards: readonly number[]): { mean: number; std: number } {
  if (rewards.length === 0) return { mean: 0, std: 0 };
  const mean = rewards.reduce((s, r) => s + r, 0) / rewards.length;
  const variance = rewards.reduce((s, r) => s + (r - mean) ** 2, 0) / rewards.length;
  return { mean, std: Math.sqrt(variance) };
}

export function groupAdvantages(rewards: readonly number[], eps = GRPO_DEFAULTS.advantageEps): number[] {
  const { mean, std } = groupStats(rewards);
  // equal rewards must give exactly 0, not rounding noise divided by eps
  if (std <= ZERO_ADVANTAGE_STD) return rewards.map(() => 0);
  return rewards.map((r) => (r - mean) / (std + eps));
}

/** the advantages one training step uses under `config` (the group std or not) */
export function trainingAdvantages(rewards: readonly number[], config: GrpoConfig = GRPO_DEFAULTS): number[] {
  if (config.scaleByStd !== false) return groupAdvantages(rewards, config.advantageEps);
  const { mean, std } = groupStats(rewards);
  return std <= ZERO_ADVANTAGE_STD ? rewards.map(() => 0) : rewards.map((r) => r - mean);
}

export function hasAdvantage(rewards: readonly number[]): boolean {
  return groupStats(rewards).std > ZERO_ADVANTAGE_STD;
}

export interface GrpoSequence {
  /** current policy's logprob per completion token */
  logprobs: readonly number[];
  /** the policy that produced the sample (sampler logprobs), same length */
  oldLogprobs: readonly number[];
  advantage: number;
}

export interface GrpoResult {
  loss: number;
  /** dL/dlogprob per sequence and token, ready for Engine.backwardLogprobs */
  dLogprobs: number[][];
  /** tokens where the clip was active (no gradient) */
  clippedTokens: number;
  tokens: number;
}

export class GrpoError extends Error {
  override name = 'GrpoError';
}

/**
 * Loss and gradient for some sequences of a batch. `totalTokens` is the token count of the WHOLE batch
 * (all micro-batches), so calling this per micro-batch and summing gives the batch's token mean.
 */
export function grpoLoss(sequences: readonly GrpoSequence[], totalTokens: number, config: GrpoConfig = GRPO_DEFAULTS): GrpoResult {
  if (!(totalTokens > 0)) throw new GrpoError(`totalTokens must be positive, got ${totalTokens}`);
  let loss = 0;
  let clippedTokens = 0;
  let tokens = 0;
  const dLogprobs = sequences.map((seq, i) => {
    if (seq.logprobs.length !== seq.oldLogprobs.length) {
      throw new GrpoError(`sequence ${i}: ${seq.logprobs.length} logprobs but ${seq.oldLogprobs.length} old logprobs`);
    }
    const A = seq.advantage;
    return seq.logprobs.map((lp, t) => {
      // bounded exponent: a stale or foreign old logprob must not overflow to Infinity
      const ratio = Math.exp(Math.max(-30, Math.min(30, lp - seq.oldLogprobs[t])));
      const clipped = Math.min(Math.max(ratio, 1 - config.clipLow), 1 + config.clipHigh);
      const unclippedTerm = ratio * A;
      const clippedTerm = clipped * A;
      tokens++;
      loss -= Math.min(unclippedTerm, clippedTerm) / totalTokens;
      if (clippedTerm < unclippedTerm) {
        clippedTokens++;
        return 0;
      }
      return -unclippedTerm / totalTokens;
    });
  });
  return { loss, dLogprobs, clippedTokens, tokens };
}
