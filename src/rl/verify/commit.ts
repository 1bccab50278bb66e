// The committed-sampling record of one rollout batch: which weights (content hash), which settings, which
// seed (re-derived by anyone from swarm, round and peer), and a Merkle root over the completions, each leaf
// binding its batch row, its tokens and its quantised logprobs. Only the root travels with the rollouts
// (amortised well under a byte per token); a challenged completion is revealed with its Merkle proof.

import { fromHex, leafHash, merkleLevels, merkleProof, toHex, type Hash } from './hash.ts';
import { samplingSeed } from './seed.ts';
import type { SamplingSettings } from './sampler.ts';

/**
 * Logprobs are committed as round(-logprob / QUANTUM) in a uint16: 2^-10 nats (~0.001) per step, so the
 * quantisation error (<= 2^-11) sits well inside the cross-backend tolerance, and the range reaches -64
 * nats (a sampled token below that is clamped to the last step; the check treats it as "<= -64").
 */
export const LOGPROB_QUANTUM = 2 ** -10;
export const LOGPROB_QMAX = 65535;
/** ceiling on what one batch may commit to: what an honest peer's round needs, with room */
export const MAX_COMMITTED_COMPLETIONS = 1024;
export const MAX_COMPLETION_TOKENS = 4096;

export function quantiseLogprob(lp: number): number {
  if (!Number.isFinite(lp) || lp > 0) return lp > 0 ? 0 : LOGPROB_QMAX;
  return Math.min(LOGPROB_QMAX, Math.round(-lp / LOGPROB_QUANTUM));
}

export function dequantiseLogprob(q: number): number {
  return q === 0 ? 0 : -q * LOGPROB_QUANTUM;
}

export interface CommittedSettings extends SamplingSettings {
  maxNewTokens: number;
  stopTokens: number[];
}

export interface SamplingCommitment {
  v: 1;
  swarmId: string;
  round: number;
  peerId: string;
  /** weightsHash() of the exact parameters sampled with */
  weightsHash: string;
  settings: CommittedSettings;
  /** samplingSeed(swarmId, round, peerId); carried for readability, always re-derived by the verifier */
  seed: number;
  /** leaves = completions, in batch-row order (row = question * G + completion) */
  completions: number;
  logprobQuantum: number;
  /** hex SHA-256 Merkle root */
  root: string;
}

/** One completion as it is committed and, when challenged, revealed. */
export interface CompletionLeaf {
  row: number;
  tokens: number[];
  /** quantised logprobs, one per token */
  q: number[];
}

export class CommitmentError extends Error {
  override name = 'CommitmentError';
}

export function leafBytes(leaf: CompletionLeaf): Uint8Array {
  const n = leaf.tokens.length;
  if (leaf.q.length !== n) throw new CommitmentError(`leaf row ${leaf.row}: ${n} tokens but ${leaf.q.length} logprobs`);
  if (n > MAX_COMPLETION_TOKENS) throw new CommitmentError(`leaf row ${leaf.row}: ${n} tokens exceed ${MAX_COMPLETION_TOKENS}`);
  const b = new Uint8Array(8 + 6 * n);
  const d = new DataView(b.buffer);
  d.setUint32(0, leaf.row, true);
  d.setUint32(4, n, true);
  for (let i = 0; i < n; i++) {
    const t = leaf.tokens[i], q = leaf.q[i];
    if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) throw new CommitmentError(`leaf row ${leaf.row}: bad token ${t}`);
    if (!Number.isInteger(q) || q < 0 || q > LOGPROB_QMAX) throw new CommitmentError(`leaf row ${leaf.row}: bad quantised logprob ${q}`);
    d.setUint32(8 + 4 * i, t, true);
    d.setUint16(8 + 4 * n + 2 * i, q, true);
  }
  return b;
}

export interface CommittedBatch {
  commitment: SamplingCommitment;
  /** kept by the sender to answer challenges */
  leaves: CompletionLeaf[];
  levels: Hash[][];
}

/**
 * Commits to a sampled batch: tokens[row] and logprobs[row] exactly as engine.sample returned them for the
 * prompts in row order.
 */
export async function commitSampling(args: {
  swarmId: string; round: number; peerId: string; weightsHash: string; settings: CommittedSettings;
  tokens: number[][]; logprobs: number[][];
}): Promise<CommittedBatch> {
  const { tokens, logprobs } = args;
  if (tokens.length === 0 || tokens.length > MAX_COMMITTED_COMPLETIONS) {
    throw new CommitmentError(`a batch commits 1..${MAX_COMMITTED_COMPLETIONS} completions, got ${tokens.length}`);
  }
  if (logprobs.length !== tokens.length) throw new CommitmentError(`${tokens.length} completions but ${logprobs.length} logprob rows`);
  fromHex(args.weightsHash, 32);
  const leaves = tokens.map((t, row) => ({ row, tokens: t.slice(), q: logprobs[row].map(quantiseLogprob) }));
  const levels = await merkleLevels(await Promise.all(leaves.map((l) => leafHash(leafBytes(l)))));
  const s = args.settings;
  const commitment: SamplingCommitment = {
    v: 1, swarmId: args.swarmId, round: args.round, peerId: args.peerId, weightsHash: args.weightsHash,
    settings: {
      temperature: s.temperature, maxNewTokens: s.maxNewTokens, stopTokens: s.stopTokens.slice(),
      ...(s.topP !== undefined ? { topP: s.topP } : {}), ...(s.topK !== undefined ? { topK: s.topK } : {}),
    },
    seed: samplingSeed(args.swarmId, args.round, args.peerId),
    completions: leaves.length, logprobQuantum: LOGPROB_QUANTUM, root: toHex(levels[levels.length - 1][0]),
  };
  return { commitment, leaves, levels };
}

/** A challenged completion with its proof (hex sibling hashes). */
export interface Reveal {
  leaf: CompletionLeaf;
  proof: string[];
}

export function revealCompletion(batch: CommittedBatch, row: number): Reveal {
  const leaf = batch.leaves[row];
  if (!leaf) throw new CommitmentError(`no committed completion at row ${row}`);
  return { leaf, proof: merkleProof(batch.levels, row).map(toHex) };
}

/**
 * Bytes of the commitment on the wire in a compact binary form (what the message schema should carry):
 * 32 weights hash + 32 root + 4 round + 4 seed + 2 completions + settings (4 temperature, 4 topP, 2 topK,
 * 2 maxNewTokens, 1 + 4 per stop token). Swarm and peer ids are already in the rollouts message.
 */
export function commitmentWireBytes(c: SamplingCommitment): number {
  return 32 + 32 + 4 + 4 + 2 + 4 + 4 + 2 + 2 + 1 + 4 * c.settings.stopTokens.length;
}

/**
 * Bytes of a reveal on the wire: 4 row + 2 count + per token 2 (token id, vocabularies <= 65536) + 2
 * (quantised logprob), + 32 per proof hash. Token ids travel because re-encoding the text need not give back
 * the sampled ids.
 */
export function revealWireBytes(r: Reveal): number {
  return 4 + 2 + 4 * r.leaf.q.length + 32 * r.proof.length;
}
