// The check a periodic average must pass before it replaces the tab's weights. Averaging takes a stranger's
// model at weight ½, so a peer serving wrecked weights (finite but noisy, scaled, sign-flipped, zeroed) would
// halve this tab's model into its own. Before the swap the tab scores a fixed probe, the correct answers to
// training-side tasks (never the held-out set, which only measures), under its weights, under the mean, and
// (once) under the swarm's start model. The mean is refused when it answers the probe worse than both the
// weights held now and the start: a mean worse than a model nobody has trained yet brings nothing but harm.
// Honest peers of one swarm start from the same model and train on the same tasks, so their means stay below
// that line (measured: scripts/average-guard.ts). This is a sanity bound, not a proof: a peer can still pull
// a tab back toward the start's probe score, and a model crafted to keep the probe's answers while changing
// the rest passes (the README says so).
import type { Engine, TrainSequence } from '../engine/api.ts';
import { completionText, encodeCompletion, encodePrompt, type TextTokenizer } from '../rl/format.ts';
import { mixLevels, trainingTask } from '../rl/heldout.ts';
import { hashParts } from '../rl/rng.ts';
import type { TaskMix } from '../rl/tasks/index.ts';

/**
 * Slack, in nats per answer token, over max(own, start) before a mean is refused. Measured on the default
 * model (npm run bench:average-guard; README, "The average guard"): at the default lr 2e-4 (3 seeds × 200
 * rounds, 240 honest means) every honest mean stays at least 0.002 below max(own, start), and a peer adding
 * Gaussian noise of 0.3 × each tensor's spread lands 0.012 to 0.020 above it and is refused; at lr 1e-3, where
 * training itself makes the probe worse, 3 of 160 honest means are refused (a skipped average, nothing more).
 */
export const PROBE_NLL_SLACK = 0.01;

/** probe tasks per (family, level) of the mix */
export const PROBE_PER_LEVEL = 2;

export class AverageRefusedError extends Error {
  override name = 'AverageRefusedError';
}

/** correct answers to training-side tasks of every (family, level) the mix draws, one sequence each, deterministic */
export function probeSequences(tokenizer: TextTokenizer, mix: readonly TaskMix[], perLevel = PROBE_PER_LEVEL): TrainSequence[] {
  const out: TrainSequence[] = [];
  for (const entry of mix) {
    for (const level of mixLevels(entry)) {
      for (let k = 0; k < perLevel; k++) {
        let j = 0;
        const { task } = trainingTask(entry.family, level, () => hashParts('tabswarm/average-probe', entry.family, level, k, j++));
        const prompt = encodePrompt(tokenizer, task);
        out.push({ tokens: [...prompt, ...encodeCompletion(tokenizer, completionText(task.answer))], completionStart: prompt.length });
      }
    }
  }
  return out;
}

/** mean negative log-likelihood per answer token of `probe` under `engine`, in micro-batches of `microBatch` */
export async function probeNll(engine: Pick<Engine, 'forwardLogprobs'>, probe: readonly TrainSequence[], microBatch: number): Promise<number> {
  let sum = 0, count = 0;
  for (let i = 0; i < probe.length; i += Math.max(1, microBatch)) {
    for (const row of await engine.forwardLogprobs(probe.slice(i, i + Math.max(1, microBatch)))) {
      for (const lp of row) sum -= lp;
      count += row.length;
    }
  }
  return count === 0 ? 0 : sum / count;
}

/**
 * Throws AverageRefusedError, with the figures, when the mean's probe NLL is not finite or exceeds both the
 * weights held now and the swarm's start by more than `slack`.
 */
export function checkAverage(nll: { own: number; mean: number; start: number }, slack = PROBE_NLL_SLACK): void {
  const { own, mean, start } = nll;
  if (!Number.isFinite(mean)) throw new AverageRefusedError(`the mean's probe log-likelihood is not finite (the peer's model is broken)`);
  const line = Math.max(own, start) + slack;
  if (mean > line) {
    throw new AverageRefusedError(`the mean answers the probe worse than this tab's model and the swarm's start (NLL per answer token: mean ${mean.toFixed(3)}, own ${own.toFixed(3)}, start ${start.toFixed(3)}; at most ${line.toFixed(3)} allowed): the peer's model is far from this swarm's`);
  }
}
