// The RL core's Transport over gossipsub: a round's rollouts go out as one or more `rollouts` messages (split
// by rollout, so each part is useful alone and no reassembly is needed), and come back merged per peer,
// de-duplicated by task and capped per (peer, round) in groups, bytes and parts, for a bounded number of
// peers and rounds: memory per sender is what an honest sender needs, whatever it sends.
import type { PublishedRollout, RolloutBatch, Transport } from '../rl/transport.ts';
import type { SamplingCommitment } from '../rl/verify/commit.ts';
import type { SwarmConfig } from './config.ts';
import { KEEP_ROUNDS, LIMITS, MAX_MESSAGE_BYTES, PER_PEER_ROUND } from './constants.ts';
import { MessageTooLargeError, type RolloutsMessage, type WireSampling } from './messages.ts';
import { Swarm, type SwarmOptions } from './swarm.ts';

export class TransportError extends Error {
  override name = 'TransportError';
}

/** bytes a message costs beyond its rollouts: header, commitments, keys (generous) */
const ENVELOPE_BYTES = 1_024;

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
  /**
   * Called with only what a message ADDED to a peer's batch (new groups, after de-duplication and the
   * per-(peer, round) caps), so a consumer never re-handles the merged batch. Returns the unsubscribe.
   */
  onNewRollouts(listener: (added: RolloutBatch) => void): () => void;
}

/** What one peer's batch for one round may hold here: an honest peer's fits, anything more is dropped. */
export interface TransportLimits {
  /** groups per (peer, round): the swarm's B when known */
  maxGroups: number;
  /** encoded bytes of those groups per (peer, round) */
  maxBytes: number;
  /** messages (parts) per (peer, round) */
  maxParts: number;
  /** peers per round */
  maxPeers: number;
  /** rounds kept behind the newest (finished rounds are pruned even if nobody calls prune) */
  keepRounds: number;
}

export const TRANSPORT_DEFAULTS: TransportLimits = {
  maxGroups: LIMITS.rolloutsPerMessage,
  maxBytes: PER_PEER_ROUND.maxBytes,
  maxParts: PER_PEER_ROUND.maxParts,
  maxPeers: 256,
  keepRounds: KEEP_ROUNDS,
};

/** Caps sized to a swarm's round shape: twice what an honest batch of B groups of G completions encodes to. */
export function transportLimitsFor(shape: { questions: number; completions: number; completionChars: number }): TransportLimits {
  const honestBytes = shape.questions * (256 + shape.completions * (shape.completionChars + 64));
  return { ...TRANSPORT_DEFAULTS, maxGroups: shape.questions, maxBytes: Math.max(16 * 1024, 2 * honestBytes) };
}

interface PeerRound {
  batch: RolloutBatch;
  parts: Set<number>;
  refs: Set<string>;
  bytes: number;
}

const encoder = new TextEncoder();

class GossipTransport implements Libp2pTransport {
  /** round -> sender -> merged batch and what it cost */
  private readonly rounds = new Map<number, Map<string, PeerRound>>();
  private readonly listeners = new Set<(added: RolloutBatch) => void>();
  private readonly unsubscribe: () => void;
  /** messages or groups dropped by the caps (diagnostics) */
  dropped = 0;

  constructor(
    readonly swarm: Swarm,
    private readonly ownsSwarm: boolean,
    private readonly limits: TransportLimits = TRANSPORT_DEFAULTS,
  ) {
    this.unsubscribe = swarm.onMessage(({ message }) => {
      if (message.kind === 'rollouts') this.receive(message);
    });
  }

  get peerId(): string {
    return this.swarm.peerId;
  }

  onNewRollouts(listener: (added: RolloutBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
        ...(batch.sampling ? { sampling: wireSampling(batch.sampling) } : {}),
      });
    }
  }

  private receive(message: RolloutsMessage): void {
    const { limits } = this;
    let byPeer = this.rounds.get(message.round);
    if (!byPeer) {
      const newest = Math.max(message.round, ...this.rounds.keys());
      // finished rounds go even when nobody calls prune; a round far behind the newest is not kept at all
      if (message.round < newest - limits.keepRounds) return void this.dropped++;
      byPeer = new Map();
      this.rounds.set(message.round, byPeer);
      for (const r of this.rounds.keys()) if (r < newest - limits.keepRounds) this.rounds.delete(r);
    }
    let entry = byPeer.get(message.peerId);
    if (!entry) {
      if (byPeer.size >= limits.maxPeers) return void this.dropped++;
      entry = {
        batch: {
          v: 1, swarmId: message.swarmId, round: message.round, peerId: message.peerId, rollouts: [],
          ...(message.modelCommitment ? { modelCommitment: message.modelCommitment } : {}),
          ...(message.sampling ? { sampling: { ...message.sampling, swarmId: message.swarmId, round: message.round, peerId: message.peerId } } : {}),
        },
        parts: new Set(),
        refs: new Set(),
        bytes: 0,
      };
      byPeer.set(message.peerId, entry);
    }
    // one commitment per batch: a part naming another (or none, after one that did) would mix rows of two
    if (!sameSampling(entry.batch.sampling, message.sampling)) return void this.dropped++;
    // a repeated part index (new nonce, same part) would double-count a peer's rollouts
    if (entry.parts.has(message.part) || entry.parts.size >= Math.min(message.parts, limits.maxParts)) return void this.dropped++;
    entry.parts.add(message.part);
    const added = [];
    for (const rollout of message.rollouts) {
      const key = `${rollout.task.family}/${rollout.task.difficulty}/${rollout.task.seed}`;
      if (entry.refs.has(key) || entry.batch.rollouts.length >= limits.maxGroups) {
        this.dropped++;
        continue;
      }
      const bytes = encoder.encode(JSON.stringify(rollout)).byteLength;
      if (entry.bytes + bytes > limits.maxBytes) {
        this.dropped++;
        continue;
      }
      entry.refs.add(key);
      entry.bytes += bytes;
      entry.batch.rollouts.push(rollout);
      added.push(rollout);
    }
    if (added.length === 0) return;
    const part: RolloutBatch = { ...entry.batch, rollouts: added, ...this.boundFlag(message.peerId) };
    for (const listener of this.listeners) {
      try {
        listener(part);
      } catch (error) {
        console.error('rollouts listener failed', error);
      }
    }
  }

  /** bound peers come first in SAPO's J only where the swarm asks for it */
  private boundFlag(peerId: string): { bound?: true } {
    return this.swarm.config.preferBound === true && this.swarm.boundAccount(peerId) !== null ? { bound: true } : {};
  }

  receivedRollouts(round: number): RolloutBatch[] {
    return [...(this.rounds.get(round)?.values() ?? [])].map((e) => ({ ...e.batch, rollouts: [...e.batch.rollouts], ...this.boundFlag(e.batch.peerId) }));
  }

  prune(round: number): void {
    for (const r of [...this.rounds.keys()]) if (r < round) this.rounds.delete(r);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.listeners.clear();
    if (this.ownsSwarm) await this.swarm.stop();
  }
}

/** the wire form of a commitment: the message header already says swarm, round and peer */
function wireSampling(c: SamplingCommitment): WireSampling {
  const { swarmId: _s, round: _r, peerId: _p, ...rest } = c;
  return rest;
}

function sameSampling(kept: SamplingCommitment | undefined, sent: WireSampling | undefined): boolean {
  if (!kept || !sent) return !kept && !sent;
  return kept.root === sent.root && kept.weightsHash === sent.weightsHash && kept.completions === sent.completions;
}

/** A Transport on an already-joined swarm; closing it leaves the swarm running. */
export function transportOver(swarm: Swarm, limits?: TransportLimits): Libp2pTransport {
  return new GossipTransport(swarm, false, limits);
}

/** Joins the swarm and returns its Transport; closing the transport leaves the swarm. */
export async function createLibp2pTransport(config: SwarmConfig, options: SwarmOptions = {}, limits?: TransportLimits): Promise<Libp2pTransport> {
  return new GossipTransport(await Swarm.join(config, options), true, limits);
}
