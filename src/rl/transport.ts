// How the round runner talks to peers. The RL core knows nothing of the network: it publishes its own
// rollouts and takes what peers published for a round. Implementations: the solo transport and the
// in-memory bus (src/rl), libp2p gossipsub (src/swarm).

import type { SamplingCommitment } from './verify/commit.ts';

/** Enough to re-derive a task anywhere: generator family, seed and difficulty. */
export interface TaskRef {
  family: string;
  /** uint32 */
  seed: number;
  /** 1..5 */
  difficulty: number;
}

export interface PublishedCompletion {
  text: string;
  /** the sender's claimed total reward; receivers re-score and never trust it */
  reward: number;
}

export interface PublishedRollout {
  task: TaskRef;
  completions: PublishedCompletion[];
}

export interface RolloutBatch {
  /** format version of this object */
  v: 1;
  swarmId: string;
  round: number;
  /** sender's libp2p peer id; the network layer checks it against the message signer */
  peerId: string;
  rollouts: PublishedRollout[];
  /** hash of the sender's weights (hex), so others can tell model versions apart */
  modelCommitment?: string;
  /**
   * Committed sampling (src/rl/verify/commit.ts): the weights' content hash, the settings, the derived seed
   * and a Merkle root over the batch's tokens and quantised logprobs, row = question * G + completion.
   */
  sampling?: SamplingCommitment;
  /**
   * Set by the RECEIVING network layer (never read from the wire): the sender holds a verified binding and
   * the swarm prefers bound peers, so its groups fill J first.
   */
  bound?: boolean;
}

export interface Transport {
  readonly peerId: string;
  /** publish this peer's rollouts for batch.round; resolves when handed to the network (never waits on peers) */
  publishRollouts(batch: RolloutBatch): Promise<void>;
  /** the batches other peers published for `round` that arrived so far (already schema-validated) */
  receivedRollouts(round: number): RolloutBatch[];
  /** forget batches for rounds before `round` */
  prune(round: number): void;
  close(): Promise<void>;
}
