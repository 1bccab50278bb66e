// Two Transport implementations that need no network: a solo transport (nobody else is there) and an
// in-memory bus joining many peers in one process (tests, simulations, the SAPO experiment).
import type { RolloutBatch, Transport } from './transport.ts';

export class SoloTransport implements Transport {
  constructor(readonly peerId: string) {}
  async publishRollouts(_batch: RolloutBatch): Promise<void> {}
  receivedRollouts(_round: number): RolloutBatch[] {
    return [];
  }
  prune(_round: number): void {}
  async close(): Promise<void> {}
}

export class InMemoryBus {
  private readonly peers = new Map<string, BusTransport>();

  connect(peerId: string): Transport {
    if (this.peers.has(peerId)) throw new Error(`InMemoryBus: peer id "${peerId}" is already connected`);
    const transport = new BusTransport(peerId, this);
    this.peers.set(peerId, transport);
    return transport;
  }

  /** @internal deliver a copy to every other peer, as a network would (no shared references) */
  deliver(from: string, batch: RolloutBatch): void {
    for (const [id, peer] of this.peers) if (id !== from) peer.receive(structuredClone(batch));
  }

  /** @internal */
  leave(peerId: string): void {
    this.peers.delete(peerId);
  }
}

class BusTransport implements Transport {
  private readonly inbox = new Map<number, RolloutBatch[]>();
  private closed = false;

  constructor(
    readonly peerId: string,
    private readonly bus: InMemoryBus,
  ) {}

  async publishRollouts(batch: RolloutBatch): Promise<void> {
    if (this.closed) throw new Error('transport is closed');
    this.bus.deliver(this.peerId, batch);
  }

  receive(batch: RolloutBatch): void {
    const list = this.inbox.get(batch.round) ?? [];
    list.push(batch);
    this.inbox.set(batch.round, list);
  }

  receivedRollouts(round: number): RolloutBatch[] {
    return (this.inbox.get(round) ?? []).slice();
  }

  prune(round: number): void {
    for (const r of this.inbox.keys()) if (r < round) this.inbox.delete(r);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.bus.leave(this.peerId);
  }
}
