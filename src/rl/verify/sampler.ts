// Where a token sits in the sampler's cumulative distribution, recomputed from logits: the engine's
// chooseToken (src/engine/sampling.ts) returns the first token whose cumulative weight exceeds u * total,
// walking the full vocabulary in index order, or (top-k / top-p) the kept candidates by descending logit
// (index breaks ties). A token is the honest draw for uniform u exactly when u lies in its interval
// [lo, hi); a verifier with slightly different logits (another backend) widens it by a tolerance.

import type { SampleOptions } from '../../engine/api.ts';
import { nucleusKeep } from '../../engine/sampling.ts';

export type SamplingSettings = Pick<SampleOptions, 'temperature' | 'topP' | 'topK'>;

export interface CdfPlacement {
  /** the token can be drawn at all under these settings (inside top-k / top-p, allowing `tol` at the cut) */
  admissible: boolean;
  /** its interval of u in [0, 1) */
  lo: number;
  hi: number;
  /** temperature 0: how far (in logits) the token is below the arg max (0 when it is the arg max) */
  greedyGap: number;
  /** log p(token) under the temperature-1 unfiltered distribution, as the engine reports it */
  logprob: number;
}

let w = new Float64Array(0);

export function cdfPlacement(logits: Float32Array, offset: number, V: number, o: SamplingSettings, token: number, tol = 0): CdfPlacement {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[offset + j]);
  let sum1 = 0;
  for (let j = 0; j < V; j++) sum1 += Math.exp(logits[offset + j] - max);
  const logprob = logits[offset + token] - max - Math.log(sum1);
  const greedyGap = max - logits[offset + token];
  if (o.temperature === 0) return { admissible: true, lo: 0, hi: 1, greedyGap, logprob };
  if (w.length < V) w = new Float64Array(V);
  const invT = 1 / o.temperature;
  let total = 0;
  for (let j = 0; j < V; j++) total += w[j] = Math.exp((logits[offset + j] - max) * invT);
  const topK = o.topK ?? 0, topP = o.topP ?? 1;
  const kActive = topK > 0 && topK < V;
  if (!kActive && topP >= 1) {
    let before = 0;
    for (let j = 0; j < token; j++) before += w[j];
    return { admissible: true, lo: before / total, hi: (before + w[token]) / total, greedyGap, logprob };
  }
  const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => logits[offset + b] - logits[offset + a] || a - b);
  const k = kActive ? topK : V;
  let rank = order.indexOf(token);
  // a near tie at the top-k cut can order the other way on the sender's backend: let the token take the
  // last kept place when its logit is within tol of it
  if (kActive && rank >= k && logits[offset + token] >= logits[offset + order[k - 1]] - tol) {
    [order[rank], order[k - 1]] = [order[k - 1], order[rank]];
    rank = k - 1;
  }
  if (kActive) {
    total = 0;
    for (let i = 0; i < k; i++) total += w[order[i]];
  }
  // the sampler keeps the smallest prefix whose (renormalised) mass reaches topP
  const keep = nucleusKeep(w, order, k, topP, total);
  let massBefore = 0;
  for (let i = 0; i < Math.min(rank, k); i++) massBefore += w[order[i]] / total;
  // just past the top-p cut on this backend may be just inside it on the sender's
  const admissible = rank < keep || (rank < k && massBefore < topP + tol);
  const kept = Math.max(keep, admissible ? rank + 1 : keep);
  let keptMass = 0, before = 0;
  for (let i = 0; i < kept; i++) {
    if (i < rank) before += w[order[i]];
    keptMass += w[order[i]];
  }
  return { admissible, lo: before / keptMass, hi: (before + w[token]) / keptMass, greedyGap, logprob };
}
