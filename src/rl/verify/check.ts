// The spot check. A receiver picks, with randomness of its own drawn after the batch arrived, which
// completions to challenge; the sender answers with reveals (leaf + Merkle proof); the receiver re-runs the
// teacher-forced forward on the named weights and checks, per token: (a) the revealed logprob matches its
// recomputation, and (b) the token is the one the seeded sampler draws from those logits (its CDF interval
// holds the uniform for that row and position). Any miss fails the batch with a reason; no answer fails it.

import type { LogitsScorer } from '../../engine/logits.ts';
import {
  LOGPROB_QMAX, LOGPROB_QUANTUM, MAX_COMMITTED_COMPLETIONS, dequantiseLogprob, leafBytes, revealCompletion,
  type CommittedBatch, type Reveal, type SamplingCommitment,
} from './commit.ts';
import { equalBytes, fromHex, leafHash, merkleLevels, verifyMerkleProof } from './hash.ts';
import { cdfPlacement } from './sampler.ts';
import { samplingSeed, uniformAt } from './seed.ts';

/**
 * How far a recomputation on another backend may stray. Calibrated by `npm run bench:verify` (CPU engine vs
 * WebGPU on Node Dawn): see the README for the measured max |Δ|; these defaults leave a wide margin over it
 * while staying far below what any tamper moves (a wrong token's interval is disjoint from the right one's).
 */
export interface Tolerance {
  /** nats, on top of half a quantisation step */
  logprob: number;
  /** probability mass, on each end of a token's CDF interval and at the top-p cut; also the logit margin of a near tie at the top-k cut */
  cdf: number;
  /** logits, for greedy sampling: how far below the arg max the chosen token may be */
  greedy: number;
}
export const DEFAULT_TOLERANCE: Tolerance = { logprob: 2e-3, cdf: 1e-3, greedy: 1e-3 };

export interface Challenge {
  v: 1;
  swarmId: string;
  round: number;
  peerId: string;
  /** the commitment root being challenged */
  root: string;
  /** batch rows asked for, ascending, distinct */
  rows: number[];
  /** the challenger's fresh randomness, so a challenge cannot be answered before it is made */
  nonce: string;
}

export interface ChallengeResponse {
  v: 1;
  root: string;
  nonce: string;
  reveals: Reveal[];
}

/**
 * What an honest peer never needs more of; caps the work a challenge costs either side. Whole batches are
 * challenged (VERIFY.rows), so this covers 8 questions x 32 completions; its rows list stays under 2 KiB of
 * JSON, inside VERIFY.maxRequestBytes.
 */
export const MAX_CHALLENGED_ROWS = 256;

export class ChallengeError extends Error {
  override name = 'ChallengeError';
}

/**
 * A challenge on `count` distinct rows of a committed batch, chosen with `random` (a uniform [0,1) source the
 * challenger owns, e.g. from crypto.getRandomValues, drawn after the batch was received).
 */
export function makeChallenge(c: SamplingCommitment, count: number, random: () => number, nonce: string): Challenge {
  if (!Number.isInteger(count) || count < 1) throw new ChallengeError(`challenge count must be an integer >= 1, got ${count}`);
  const n = Math.min(count, c.completions, MAX_CHALLENGED_ROWS);
  const pool = Array.from({ length: c.completions }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return { v: 1, swarmId: c.swarmId, round: c.round, peerId: c.peerId, root: c.root, rows: pool.slice(0, n).sort((a, b) => a - b), nonce };
}

export interface Verdict {
  ok: boolean;
  /** one line per failure, most specific first; empty when ok */
  reasons: string[];
  checkedTokens: number;
  /** the largest |revealed - recomputed| logprob and CDF overshoot seen (calibration data) */
  maxLogprobDelta: number;
  maxCdfOvershoot: number;
}

const fail = (reason: string): Verdict => ({ ok: false, reasons: [reason], checkedTokens: 0, maxLogprobDelta: 0, maxCdfOvershoot: 0 });

export interface SpotCheckInput {
  commitment: SamplingCommitment;
  challenge: Challenge;
  /** null (or undefined) when the sender did not answer in time: a failure */
  response: ChallengeResponse | null | undefined;
  /** prompt tokens per batch row, re-derived by the verifier from the round's task refs */
  promptOf: (row: number) => number[];
  /** a scorer made from weights whose weightsHash() the verifier computed itself */
  scorer: LogitsScorer;
  scorerWeightsHash: string;
  /**
   * Whether the revealed tokens are the published completion (e.g. decodeCompletion(tokens) === its text):
   * without it a peer could commit honest samples and publish other text beside them.
   */
  matchesPublished?: (row: number, tokens: number[]) => boolean;
  /**
   * Completions the published batch holds (questions x G): a commitment over fewer rows would let a peer
   * drop its bad samples, over more would shift rows off their streams.
   */
  expectedCompletions?: number;
  tolerance?: Tolerance;
}

export async function spotCheck(input: SpotCheckInput): Promise<Verdict> {
  const { commitment: c, challenge, response, scorer } = input;
  const tol = input.tolerance ?? DEFAULT_TOLERANCE;
  const V = scorer.config.vocab_size;
  // the record itself
  if (c.v !== 1) return fail(`unknown commitment version ${String(c.v)}`);
  if (c.seed !== samplingSeed(c.swarmId, c.round, c.peerId)) return fail('seed is not the one derived from (swarm, round, peer)');
  if (c.weightsHash !== input.scorerWeightsHash) return fail(`weights ${c.weightsHash.slice(0, 12)}… are not the ones checked against (${input.scorerWeightsHash.slice(0, 12)}…)`);
  if (c.logprobQuantum !== LOGPROB_QUANTUM) return fail(`logprob quantum ${c.logprobQuantum} is not ${LOGPROB_QUANTUM}`);
  if (!Number.isInteger(c.completions) || c.completions < 1 || c.completions > MAX_COMMITTED_COMPLETIONS) return fail(`bad completion count ${c.completions}`);
  const s = c.settings;
  if (!(s.temperature >= 0 && Number.isFinite(s.temperature))) return fail(`bad temperature ${s.temperature}`);
  if (input.expectedCompletions !== undefined && c.completions !== input.expectedCompletions) {
    return fail(`commitment covers ${c.completions} completions, the batch publishes ${input.expectedCompletions}`);
  }
  if (challenge.root !== c.root) return fail('challenge is for another commitment');
  // the answer
  if (!response) return fail('challenge unanswered');
  if (response.root !== c.root || response.nonce !== challenge.nonce) return fail('response answers another challenge');
  if (!Array.isArray(response.reveals) || response.reveals.length !== challenge.rows.length) {
    return fail(`response reveals ${response.reveals?.length} completions, the challenge asked for ${challenge.rows.length}`);
  }
  let root: Uint8Array;
  try {
    root = fromHex(c.root, 32);
  } catch {
    return fail('commitment root is not 32 bytes of hex');
  }
  const stop = new Set(s.stopTokens);
  // a challenge on every row needs no proofs: the verifier rebuilds the whole tree (saves 32 bytes x depth per row)
  const whole = challenge.rows.length === c.completions && challenge.rows.every((r, i) => r === i);
  const leaves: Uint8Array[] = [];
  const proofs: Uint8Array[][] = [];
  const batch: { tokens: number[]; completionStart: number }[] = [];
  for (const [i, row] of challenge.rows.entries()) {
    const r = response.reveals[i];
    const leaf = r?.leaf;
    if (!leaf || leaf.row !== row) return fail(`reveal ${i} is not row ${row}`);
    if (!Array.isArray(leaf.tokens) || !Array.isArray(leaf.q) || !Array.isArray(r.proof)) return fail(`row ${row}: malformed reveal`);
    try {
      proofs.push(r.proof.map((h) => fromHex(h, 32)));
      leaves.push(leafBytes(leaf));
    } catch (e) {
      return fail(`row ${row}: malformed reveal (${e instanceof Error ? e.message : String(e)})`);
    }
    const n = leaf.tokens.length;
    if (n === 0 || n > s.maxNewTokens) return fail(`row ${row}: ${n} tokens, the settings allow 1..${s.maxNewTokens}`);
    for (let t = 0; t < n; t++) {
      if (leaf.tokens[t] >= V) return fail(`row ${row}: token ${leaf.tokens[t]} is outside the vocabulary`);
      // the sampler stops at the first stop token and only there
      if (stop.has(leaf.tokens[t]) && t < n - 1) return fail(`row ${row}: continues past a stop token at position ${t}`);
    }
    if (n < s.maxNewTokens && !stop.has(leaf.tokens[n - 1])) return fail(`row ${row}: ends early without a stop token (truncated)`);
    if (input.matchesPublished && !input.matchesPublished(row, leaf.tokens)) return fail(`row ${row}: revealed tokens are not the published completion`);
    const prompt = input.promptOf(row);
    // an honest sampler stops at the model's context; a longer row is no sampling and no work for us
    if (prompt.length + n > scorer.config.max_position_embeddings) {
      return fail(`row ${row}: prompt + completion (${prompt.length + n} tokens) exceed the model's context of ${scorer.config.max_position_embeddings}`);
    }
    batch.push({ tokens: [...prompt, ...leaf.tokens], completionStart: prompt.length });
  }
  // The leaf hashes go out (WebCrypto digests run off the main thread) before the forward, which on the CPU
  // runs synchronously: one after the other, each digest's round trip cost more than the forward itself.
  const hashing = Promise.all(leaves.map((b) => leafHash(b)));
  const scoring = scorer.completionLogits(batch);
  scoring.catch(() => undefined); // awaited below unless the proofs fail first
  const leafHashes = await hashing;
  if (whole) {
    const levels = await merkleLevels(leafHashes);
    if (!equalBytes(levels[levels.length - 1][0], root)) return fail('revealed batch does not match the commitment (Merkle root differs)');
  } else {
    const good = await Promise.all(challenge.rows.map((row, i) => verifyMerkleProof(root, leafHashes[i], row, c.completions, proofs[i])));
    const bad = good.indexOf(false);
    if (bad >= 0) return fail(`row ${challenge.rows[bad]}: reveal does not match the commitment (Merkle proof fails)`);
  }
  const logits = await scoring;
  const reasons: string[] = [];
  let checkedTokens = 0, maxLogprobDelta = 0, maxCdfOvershoot = 0;
  for (const [i, row] of challenge.rows.entries()) {
    const leaf = response.reveals[i].leaf;
    const L = logits[i];
    for (let t = 0; t < leaf.tokens.length; t++) {
      const tok = leaf.tokens[t];
      const p = cdfPlacement(L, t * V, V, s, tok, tol.cdf);
      checkedTokens++;
      // (a) committed logprob vs recomputation; a clamped value only says "at most the floor"
      const committed = dequantiseLogprob(leaf.q[t]);
      const d = leaf.q[t] === LOGPROB_QMAX ? Math.max(0, p.logprob - committed) : Math.abs(p.logprob - committed);
      maxLogprobDelta = Math.max(maxLogprobDelta, d);
      if (d > tol.logprob + LOGPROB_QUANTUM / 2) {
        reasons.push(`row ${row} position ${t}: committed logprob ${committed.toFixed(4)} but the named weights give ${p.logprob.toFixed(4)}`);
        break;
      }
      // (b) the seeded sampler draws this token from these logits
      if (s.temperature === 0) {
        if (p.greedyGap > tol.greedy) {
          reasons.push(`row ${row} position ${t}: greedy sampling cannot choose token ${tok} (${p.greedyGap.toFixed(4)} below the arg max)`);
          break;
        }
        continue;
      }
      if (!p.admissible) {
        reasons.push(`row ${row} position ${t}: token ${tok} is outside the top-k / top-p set`);
        break;
      }
      const u = uniformAt(c.seed, row, t);
      const over = Math.max(0, p.lo - u, u - p.hi);
      maxCdfOvershoot = Math.max(maxCdfOvershoot, over);
      if (over > tol.cdf) {
        reasons.push(`row ${row} position ${t}: the seeded uniform ${u.toFixed(5)} lies outside token ${tok}'s interval [${p.lo.toFixed(5)}, ${p.hi.toFixed(5)})`);
        break;
      }
    }
  }
  return { ok: reasons.length === 0, reasons, checkedTokens, maxLogprobDelta, maxCdfOvershoot };
}

/** The challenged party's side: answers from its committed batch (a row it never committed is a named error). */
export function answerChallenge(batch: CommittedBatch, challenge: Challenge): ChallengeResponse {
  if (challenge.root !== batch.commitment.root) throw new ChallengeError('challenge is for another commitment');
  if (!Array.isArray(challenge.rows) || challenge.rows.length > MAX_CHALLENGED_ROWS) throw new ChallengeError(`a challenge asks for at most ${MAX_CHALLENGED_ROWS} rows`);
  const whole = challenge.rows.length === batch.commitment.completions && challenge.rows.every((r, i) => r === i);
  const reveals = challenge.rows.map((r) => revealCompletion(batch, r));
  return { v: 1, root: challenge.root, nonce: challenge.nonce, reveals: whole ? reveals.map((x) => ({ ...x, proof: [] })) : reveals };
}
