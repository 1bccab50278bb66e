// The RL core's Transport over gossipsub: a round's rollouts go out as one or more `rollouts` messages (split
// by rollout, so each part is useful alone and no reassembly is needed), and come back merged per peer.
import type { PublishedRollout, RolloutBatch, Transport } from '../rl/transport.ts';
import type { SwarmConfig } from './config.ts';
import { LIMITS, MAX_MESSAGE_BYTES } from './constants.ts';
import { MessageTooLargeError, type RolloutsMessage } from './messages.ts';
import { Swarm, type SwarmOptions } from './swarm.ts';

export class TransportError extends Error {
  override name = 'TransportError';
}

/** bytes a message costs beyond its rollouts: header, commitments, keys (generous) */
const ENVELOPE_BYTES = 1_024;
const KEEP_ROUNDS = 16;

/**
 * Groups rollouts into parts that each encode under `maxBytes`. A single rollout over the limit is refused
 * (MessageTooLargeError) rather than truncated: the receiver could not re-score a cut completion.
 */
export function splitRollouts(rollouts: PublishedRollout[], maxBytes = MAX_MESSAGE_BYTES): PublishedRollout[][] {
  const encoder = new TextEncoder();
  const budget = maxBytes - ENVELOPE_BYTES;
  const parts: PublishedRollout[][] = [];
  let current: PublishedRollout[] = [];
  let size = 0;
  for (const rollout of rollouts) {
    const bytes = encoder.encode(JSON.stringify(rollout)).byteLength + 1;
    if (bytes > budget) throw new MessageTooLargeError(`one rollout encodes to ${bytes} bytes; a message may carry ${budget}`);
    if (current.length > 0 && (size + bytes > budget || current.length >= LIMITS.rolloutsPerMessage)) {
      parts.push(current);
      current = [];
      size = 0;
    }
    current.push(rollout);
    size += bytes;
  }
  if (current.length > 0) parts.push(current);
  if (parts.length > 64) throw new MessageTooLargeError(`a round's rollouts need ${parts.length} messages; at most 64 are sent`);
  return parts;
}

export interface Libp2pTransport extends Transport {
  readonly swarm: Swarm;
}

class GossipTransport implements Libp2pTransport {
  /** round -> sender -> merged batch and the parts seen */
  private readonly rounds = new Map<number, Map<string, { batch: RolloutBatch; parts: Set<number> }>>();
  private readonly unsubscribe: () => void;

  constructor(
    readonly swarm: Swarm,
    private readonly ownsSwarm: boolean,
  ) {
    this.unsubscribe = swarm.onMessage(({ message }) => {
      if (message.kind === 'rollouts') this.receive(message);
    });
  }

  get peerId(): string {
    return this.swarm.peerId;
  }

  async publishRollouts(batch: RolloutBatch): Promise<void> {
    if (batch.peerId !== this.peerId) throw new TransportError(`batch.peerId ${batch.peerId} is not this peer (${this.peerId})`);
    if (batch.swarmId !== this.swarm.config.swarmId) throw new TransportError(`batch.swarmId ${batch.swarmId} is not this swarm`);
    if (batch.rollouts.length === 0) return;
    const parts = splitRollouts(batch.rollouts);
    for (let part = 0; part < parts.length; part++) {
      await this.swarm.publish({
        kind: 'rollouts',
        round: batch.round,
        rollouts: parts[part],
        part,
        parts: parts.length,
        ...(batch.modelCommitment ? { modelCommitment: batch.modelCommitment } : {}),
      });
    }
  }

  private receive(message: RolloutsMessage): void {
    let byPeer = this.rounds.get(message.round);
    if (!byPeer) {
      byPeer = new Map();
      this.rounds.set(message.round, byPeer);
      // a peer that never calls prune must not grow without bound
      while (this.rounds.size > KEEP_ROUNDS) this.rounds.delete(Math.min(...this.rounds.keys()));
    }
    const entry = byPeer.get(message.peerId);
    if (!entry) {
      byPeer.set(message.peerId, {
        batch: {
          v: 1,
          swarmId: message.swarmId,
          round: message.round,
          peerId: message.peerId,
          rollouts: [...message.rollouts],
          ...(message.modelCommitment ? { modelCommitment: message.modelCommitment } : {}),
        },
        parts: new Set([message.part]),
      });
      return;
    }
    // a repeated part index (new nonce, same part) would double-count a peer's rollouts
    if (entry.parts.has(message.part) || entry.parts.size >= message.parts) return;
    entry.parts.add(message.part);
    entry.batch.rollouts.push(...message.rollouts);
  }

  receivedRollouts(round: number): RolloutBatch[] {
    return [...(this.rounds.get(round)?.values() ?? [])].map((e) => ({ ...e.batch, rollouts: [...e.batch.rollouts] }));
  }

  prune(round: number): void {
    for (const r of [...this.rounds.keys()]) if (r < round) this.rounds.delete(r);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.ownsSwarm) await this.swarm.stop();
  }
}

/** A Transport on an already-joined swarm; closing it leaves the swarm running. */
export function transportOver(swarm: Swarm): Libp2pTransport {
  return new GossipTransport(swarm, false);
}

/** Joins the swarm and returns its Transport; closing the transport leaves the swarm. */
export async function createLibp2pTransport(config: SwarmConfig, options: SwarmOptions = {}): Promise<Libp2pTransport> {
  return new GossipTransport(await Swarm.join(config, options), true);
}
