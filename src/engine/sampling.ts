// Token choice from one row of logits, on the CPU for both backends (the GPU path reads the last position's
// logits back each step), so the same seed and the same logits give the same tokens everywhere.

import { EngineStateError, ShapeError } from './errors.ts';
import type { SampleOptions } from './api.ts';

/** A seeded uint32 -> [0,1) generator (SplitMix32-style); cheap, and identical on every JS engine. */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Mixes a seed with a stream index (one stream per batch row) so rows draw independent numbers. */
export function streamSeed(seed: number, stream: number): number {
  return (Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(stream + 1, 0x165667b1)) >>> 0;
}

/** standard normal from two uniforms (Box-Muller) */
export function gaussian(rand: () => number): number {
  const u = 1 - rand(); // (0,1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function checkSampleOptions(o: SampleOptions): void {
  const bad = (msg: string) => new ShapeError(`sample options: ${msg}`);
  if (typeof o !== 'object' || o === null) throw bad('missing');
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw bad(`maxNewTokens must be an integer >= 0, got ${o.maxNewTokens}`);
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw bad(`temperature must be >= 0, got ${o.temperature}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw bad(`topP must be in (0, 1], got ${o.topP}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw bad(`topK must be an integer >= 0, got ${o.topK}`);
  if (!Number.isInteger(o.seed)) throw bad(`seed must be an integer, got ${o.seed}`);
  if (!Array.isArray(o.stopTokens) || !o.stopTokens.every(Number.isInteger)) throw bad('stopTokens must be a list of integers');
}

let weights = new Float64Array(0);

export interface TokenChoice {
  token: number;
  /** log p(token) under the unmodified (temperature 1, unfiltered) distribution */
  logprob: number;
}

/**
 * Picks a token from logits[offset .. offset+V). temperature 0 is greedy (lowest index on ties). Otherwise the
 * distribution softmax(logits / temperature) is cut to the topK most likely tokens and then to the smallest
 * prefix whose mass reaches topP, renormalised, and one uniform draw picks the token.
 */
export function chooseToken(
  logits: Float32Array, offset: number, V: number, o: Pick<SampleOptions, 'temperature' | 'topP' | 'topK'>, rand: () => number,
): TokenChoice {
  let max = -Infinity, arg = 0;
  for (let j = 0; j < V; j++) {
    const x = logits[offset + j];
    if (x > max) { max = x; arg = j; }
  }
  let sum1 = 0;
  for (let j = 0; j < V; j++) sum1 += Math.exp(logits[offset + j] - max);
  // NaN or infinite logits mean diverged weights: no token choice from them means anything
  if (!Number.isFinite(max) || !Number.isFinite(sum1)) {
    throw new EngineStateError('the model produced non-finite logits (diverged weights?); reload or roll back the model');
  }
  const lse = max + Math.log(sum1);
  const logprobOf = (t: number) => logits[offset + t] - lse;
  if (o.temperature === 0) return { token: arg, logprob: logprobOf(arg) };

  const invT = 1 / o.temperature;
  const topK = o.topK ?? 0, topP = o.topP ?? 1;
  const u = rand();
  // unnormalised probabilities at this temperature, computed once into a reused buffer
  if (weights.length < V) weights = new Float64Array(V);
  const w = weights;
  let total = 0;
  for (let j = 0; j < V; j++) total += w[j] = Math.exp((logits[offset + j] - max) * invT);
  const kActive = topK > 0 && topK < V;
  if (!kActive && topP >= 1) {
    // full distribution: one cumulative walk in index order
    let target = u * total, last = 0;
    for (let j = 0; j < V; j++) {
      if (w[j] > 0) last = j;
      target -= w[j];
      if (target < 0) return { token: j, logprob: logprobOf(j) };
    }
    return { token: last, logprob: logprobOf(last) };
  }
  // Filtered: candidates by descending logit (index breaks ties, so the order is total). Sorting a 50k
  // vocabulary every token is slow, so first take only the tokens within a margin of the max; that gives
  // the same answer whenever they hold the topK tokens (or, without topK, the topP mass), else sort all.
  const byLogit = (a: number, b: number) => logits[offset + b] - logits[offset + a] || a - b;
  const floor = max - 20 * o.temperature;
  let order: number[] = [];
  for (let j = 0; j < V; j++) if (logits[offset + j] >= floor) order.push(j);
  order.sort(byLogit);
  let candidateMass = 0;
  for (const j of order) candidateMass += w[j];
  const enough = kActive ? order.length >= topK : candidateMass >= topP * total;
  if (!enough) order = Array.from({ length: V }, (_, j) => j).sort(byLogit);
  const k = kActive ? topK : order.length;
  if (kActive) {
    // top-p applies within the top-k renormalised distribution
    total = 0;
    for (let i = 0; i < k; i++) total += w[order[i]];
  }
  const keep = nucleusKeep(w, order, k, topP, total);
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += w[order[i]];
  let target = u * kept;
  for (let i = 0; i < keep; i++) {
    target -= w[order[i]];
    if (target < 0) return { token: order[i], logprob: logprobOf(order[i]) };
  }
  return { token: order[keep - 1], logprob: logprobOf(order[keep - 1]) };
}

/**
 * Top-p: how many of the first k candidates (in `order`, by descending logit) the sampler keeps — the
 * smallest prefix whose mass, as a share of `total`, reaches topP (all k when topP >= 1). Shared with the
 * verifier (rl/verify/sampler.ts), which must cut exactly where the sampler does.
 */
export function nucleusKeep(w: ArrayLike<number>, order: readonly number[], k: number, topP: number, total: number): number {
  if (topP >= 1) return k;
  let cum = 0;
  for (let i = 0; i < k; i++) {
    cum += w[order[i]] / total;
    if (cum >= topP) return i + 1;
  }
  return k;
}
