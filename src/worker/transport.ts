// The round runner's Transport inside the worker. Browsers give workers no RTCPeerConnection, so the libp2p
// node lives on the page: rollouts to publish leave as events, peers' rollouts arrive as `deliver` requests.
// The page hands over only what each message added (never the merged batch again), and this side merges
// parts per (peer, round) with the same bounds as the page: a flood of deliveries holds bounded memory.
import type { RolloutBatch, Transport } from '../rl/transport.ts';

/** Bounds what a flood of deliveries can make the worker hold. */
export const WORKER_TRANSPORT_LIMITS = { peersPerRound: 256, groupsPerPeer: 64, rounds: 4 } as const;

export class WorkerTransport implements Transport {
  private readonly byRound = new Map<number, Map<string, { batch: RolloutBatch; refs: Set<string> }>>();
  /** fingerprint of the weights this round samples with (the last checkpoint's), sent with our rollouts */
  modelCommitment: string | null = null;
  /** refuses a peer's batch before it is merged, with the reason (e.g. another base model); null admits it */
  admit: ((batch: RolloutBatch) => string | null) | null = null;
  /** told once per peer of the first refusal (bounded like the peers it merges) */
  onRefused: ((peerId: string, reason: string) => void) | null = null;
  private readonly refused = new Set<string>();

  constructor(
    readonly peerId: string,
    private readonly publish: (batch: RolloutBatch) => void,
  ) {}

  async publishRollouts(batch: RolloutBatch): Promise<void> {
    this.publish(batch.modelCommitment || !this.modelCommitment ? batch : { ...batch, modelCommitment: this.modelCommitment });
  }

  /** Merges a part of a peer's batch for its round (repeated tasks count once); our own echoed back are ignored. */
  deliver(batch: RolloutBatch): void {
    if (batch.peerId === this.peerId || !Array.isArray(batch.rollouts)) return;
    const refusal = this.admit?.(batch) ?? null;
    if (refusal !== null) {
      if (!this.refused.has(batch.peerId) && this.refused.size < WORKER_TRANSPORT_LIMITS.peersPerRound) {
        this.refused.add(batch.peerId);
        this.onRefused?.(batch.peerId, refusal);
      }
      return;
    }
    let round = this.byRound.get(batch.round);
    if (!round) {
      const newest = Math.max(batch.round, ...this.byRound.keys());
      if (batch.round <= newest - WORKER_TRANSPORT_LIMITS.rounds) return;
      round = new Map();
      this.byRound.set(batch.round, round);
      for (const r of this.byRound.keys()) if (r <= newest - WORKER_TRANSPORT_LIMITS.rounds) this.byRound.delete(r);
    }
    let entry = round.get(batch.peerId);
    if (!entry) {
      if (round.size >= WORKER_TRANSPORT_LIMITS.peersPerRound) return;
      entry = { batch: { ...batch, rollouts: [] }, refs: new Set() };
      round.set(batch.peerId, entry);
    }
    if (batch.bound === true) entry.batch.bound = true;
    for (const rollout of batch.rollouts) {
      const key = `${rollout?.task?.family}/${rollout?.task?.difficulty}/${rollout?.task?.seed}`;
      if (entry.refs.has(key) || entry.batch.rollouts.length >= WORKER_TRANSPORT_LIMITS.groupsPerPeer) continue;
      entry.refs.add(key);
      entry.batch.rollouts.push(rollout);
    }
  }

  receivedRollouts(round: number): RolloutBatch[] {
    return [...(this.byRound.get(round)?.values() ?? [])]
      .filter((e) => !this.excludedPeers.has(e.batch.peerId) && !this.failedBatches.has(`${e.batch.peerId}@${round}`))
      .map((e) => ({ ...e.batch, rollouts: [...e.batch.rollouts] }));
  }

  /** peers left out of J after repeated failed spot checks, and single (peer, round) batches that failed one */
  private readonly excludedPeers = new Set<string>();
  private readonly failedBatches = new Set<string>();

  /** leaves `peerId`'s rollouts of `round` (or, with null, of every round from now on) out of training */
  exclude(peerId: string, round: number | null): void {
    const set = round === null ? this.excludedPeers : this.failedBatches;
    set.add(round === null ? peerId : `${peerId}@${round}`);
    // bounded like everything a flood can grow: the oldest entries go first
    if (set.size > WORKER_TRANSPORT_LIMITS.peersPerRound * WORKER_TRANSPORT_LIMITS.rounds) set.delete(set.values().next().value as string);
  }

  prune(round: number): void {
    for (const r of this.byRound.keys()) if (r < round) this.byRound.delete(r);
  }

  async close(): Promise<void> {
    this.byRound.clear();
  }
}
