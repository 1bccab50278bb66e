// The sender's side of committed sampling: what a peer keeps after publishing so it can answer a challenge
// that arrives rounds later (the verifier first fetches the weights, then asks). It keeps the last few
// rounds' committed batches and the exact weights each was sampled with, keyed by their content hash:
// "a challenge about last round's weights can be answered" after the training step has moved them on.
// Bounded: `rounds` batches and at most `maxWeightBytes` of weights (a large model keeps only the newest).

import { answerChallenge, ChallengeError, type Challenge, type ChallengeResponse } from './check.ts';
import { commitSampling, type CommittedBatch, type CommittedSettings } from './commit.ts';
import { weightsHash } from './hash.ts';

export interface KeeperLimits {
  /** committed batches kept (one per round) */
  rounds: number;
  /** weight versions kept, and the bytes they may take together (float32) */
  weightVersions: number;
  maxWeightBytes: number;
}

// as many weight versions as batches: a batch whose weights are gone can be revealed but not checked, which
// an honest peer training every round would fail (checks on a loaded machine run rounds behind)
export const KEEPER_DEFAULTS: KeeperLimits = { rounds: 8, weightVersions: 8, maxWeightBytes: 64 * 1024 * 1024 };

export class CommitmentKeeper {
  private readonly batches = new Map<number, CommittedBatch>();
  private readonly weights = new Map<string, Float32Array>();
  /** versions never evicted: the swarm's starting model, which anyone may name (see pin) */
  private readonly pinned = new Map<string, Float32Array>();
  /** the last flat array hashed and its hash: the weights do not change between a round's training steps */
  private last: { flat: Float32Array; hash: string } | null = null;

  constructor(private readonly limits: KeeperLimits = KEEPER_DEFAULTS) {}

  /**
   * The content hash of `flat` (what a rollout names), keeping a copy of them under it. `flat` must be
   * the engine's parameters exactly as sampled with (paramLayout order); a copy is kept, never the view.
   */
  async remember(flat: Float32Array): Promise<string> {
    const hash = await weightsHash(flat);
    if (!this.weights.has(hash)) {
      const bytesEach = flat.length * 4;
      const room = Math.max(1, Math.min(this.limits.weightVersions, Math.floor(this.limits.maxWeightBytes / Math.max(1, bytesEach))));
      this.weights.set(hash, flat.slice());
      for (const k of this.weights.keys()) {
        if (this.weights.size <= room) break;
        this.weights.delete(k); // oldest first (insertion order)
      }
    }
    this.last = { flat, hash };
    return hash;
  }

  /**
   * Keeps `flat` for good (not counted against the limits): the swarm's starting model is public, so a
   * rollout may name it whoever sent it, and a verifier holding it checks without fetching anything.
   */
  async pin(flat: Float32Array): Promise<string> {
    const hash = await weightsHash(flat);
    this.pinned.set(hash, flat.slice());
    return hash;
  }

  /** the weights named by `hash`, when still kept (a copy the caller may keep) */
  weightsFor(hash: string): Float32Array | null {
    return (this.weights.get(hash) ?? this.pinned.get(hash))?.slice() ?? null;
  }

  get latestHash(): string | null {
    return this.last?.hash ?? null;
  }

  async commit(args: {
    swarmId: string; round: number; peerId: string; weightsHash: string; settings: CommittedSettings; tokens: number[][]; logprobs: number[][];
  }): Promise<CommittedBatch> {
    const batch = await commitSampling(args);
    this.batches.set(args.round, batch);
    const rounds = [...this.batches.keys()].sort((a, b) => a - b);
    while (rounds.length > this.limits.rounds) this.batches.delete(rounds.shift()!);
    return batch;
  }

  batchOf(round: number): CommittedBatch | null {
    return this.batches.get(round) ?? null;
  }

  /** Answers a challenge from the kept batch of its round; a round no longer kept is a named error. */
  answer(challenge: Challenge): ChallengeResponse {
    const batch = this.batches.get(challenge?.round);
    if (!batch) throw new ChallengeError(`round ${String(challenge?.round).slice(0, 16)} is not kept any more (or was never committed)`);
    return answerChallenge(batch, challenge);
  }
}
