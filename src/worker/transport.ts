// The round runner's Transport inside the worker. Browsers give workers no RTCPeerConnection, so the libp2p
// node lives on the page: rollouts to publish leave as events, peers' rollouts arrive as `deliver` requests.
import type { RolloutBatch, Transport } from '../rl/transport.ts';

/** Bounds what a flood of deliveries can make the worker hold. */
const MAX_BATCHES_PER_ROUND = 256;

export class WorkerTransport implements Transport {
  private readonly byRound = new Map<number, Map<string, RolloutBatch>>();
  /** fingerprint of the weights this round samples with (the last checkpoint's), sent with our rollouts */
  modelCommitment: string | null = null;

  constructor(
    readonly peerId: string,
    private readonly publish: (batch: RolloutBatch) => void,
  ) {}

  async publishRollouts(batch: RolloutBatch): Promise<void> {
    this.publish(batch.modelCommitment || !this.modelCommitment ? batch : { ...batch, modelCommitment: this.modelCommitment });
  }

  /** Keeps one batch per peer and round (the latest); our own batches echoed back are ignored. */
  deliver(batch: RolloutBatch): void {
    if (batch.peerId === this.peerId) return;
    let round = this.byRound.get(batch.round);
    if (!round) {
      round = new Map();
      this.byRound.set(batch.round, round);
    }
    if (round.size >= MAX_BATCHES_PER_ROUND && !round.has(batch.peerId)) return;
    round.set(batch.peerId, batch);
  }

  receivedRollouts(round: number): RolloutBatch[] {
    return [...(this.byRound.get(round)?.values() ?? [])];
  }

  prune(round: number): void {
    for (const r of this.byRound.keys()) if (r < round) this.byRound.delete(r);
  }

  async close(): Promise<void> {
    this.byRound.clear();
  }
}
