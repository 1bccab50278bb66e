// A tab's verified work: it answers challenges about its own batches (from the worker's kept commitments),
// serves the weights those batches name, and spot-checks peers' batches (SpotChecker: challenge, fetch the
// weights, check in the worker). Consequences of a failed check: the batch leaves J (the worker excludes it
// for its round, or the peer for good after repeated failures), the peer's gossip score drops, the feed and
// the peers list show the reason, and the signed evidence is kept (the latest few) for the coordinator.
import type { PrivateKey } from '@libp2p/interface';
import type { RolloutBatch } from '../../rl/transport.ts';
import { toHex } from '../../rl/verify/hash.ts';
import type { Evidence } from '../../rl/verify/evidence.ts';
import type { Swarm } from '../../swarm/swarm.ts';
import type { Libp2pTransport } from '../../swarm/transport.ts';
import { serveChallenges } from '../../swarm/verify.ts';
import { SpotChecker, type BatchStatus, type CheckOutcome, type PeerRecord } from '../../swarm/verifier.ts';
import { sha256Hex, type ServedWeights } from '../../swarm/weights.ts';
import type { TabswarmWorkerApi } from '../../worker/protocol.ts';

/** what the page shows: per peer, per recent batch, and the latest outcomes with their reasons */
export interface VerificationSnapshot {
  /** complete batches seen, and those not challenged because this tab was at its check budget */
  offered: number;
  skippedBusy: number;
  challenged: number;
  verified: number;
  failed: number;
  /** completions in batches this tab verified */
  verifiedRollouts: number;
  peers: Record<string, PeerRecord>;
  /** `${peerId}@${round}` of recent batches this tab decided on */
  batches: Record<string, BatchStatus>;
  recent: { peerId: string; round: number; ok: boolean; reason: string | null; at: number }[];
  /** signed evidence of the latest failures */
  evidence: Evidence[];
}

export const EMPTY_VERIFICATION: VerificationSnapshot = { offered: 0, skippedBusy: 0, challenged: 0, verified: 0, failed: 0, verifiedRollouts: 0, peers: {}, batches: {}, recent: [], evidence: [] };

const RECENT = 12;
const BATCHES_SHOWN = 200;
const EVIDENCE_KEPT = 16;

export interface VerificationDeps {
  swarm: Swarm;
  transport: Libp2pTransport;
  /** the worker, while this tab contributes (a tab without a model neither answers nor checks) */
  worker(): TabswarmWorkerApi | null;
  family(): string | null;
  /** this tab's own serialized weights size (the cap on a peer's), null before any */
  ownWeightBytes(): number | null;
  peerKey: PrivateKey | null;
  onChange(snapshot: VerificationSnapshot): void;
}

export class Verification {
  private readonly checker: SpotChecker;
  private state: VerificationSnapshot = EMPTY_VERIFICATION;
  private stopServing: (() => Promise<void>) | null = null;

  constructor(private readonly deps: VerificationDeps) {
    const { swarm, transport, peerKey } = deps;
    this.checker = new SpotChecker({
      node: swarm.node,
      family: deps.family,
      maxWeightBytes: () => {
        const own = deps.ownWeightBytes();
        return own === null ? null : own + 64 * 1024;
      },
      localWeights: async (hash) => {
        const w = await this.weightsByHash(hash);
        const family = deps.family();
        return w && family ? { ...w, family, peerId: swarm.peerId } : null;
      },
      batchOf: (peerId, round) => transport.receivedRollouts(round).find((b) => b.peerId === peerId) ?? null,
      check: async (batch, challenge, response, weights) => {
        const worker = deps.worker();
        if (!worker || !weights) throw new Error('no model loaded here');
        const reply = await worker.verify({ op: 'check', batch, challenge, response, weights: new Uint8Array(weights.bytes).buffer });
        if (reply.op !== 'check') throw new Error(`the worker answered ${reply.op} to a check`);
        return reply.verdict;
      },
      onOutcome: (o, r) => this.consequences(o, r),
      ...(peerKey ? { sign: async (bytes: Uint8Array) => toHex(await peerKey.sign(bytes)) } : {}),
      challenger: swarm.peerId,
      ...(swarm.config.verifyRate !== undefined ? { rate: swarm.config.verifyRate } : {}),
    });
  }

  async start(): Promise<void> {
    this.stopServing = await serveChallenges(this.deps.swarm.node, {
      answer: async (challenge) => {
        const worker = this.deps.worker();
        if (!worker) throw new Error('this tab holds no model now');
        const reply = await worker.verify({ op: 'answer', challenge });
        if (reply.op !== 'answer') throw new Error(`the worker answered ${reply.op} to a challenge`);
        return reply.response;
      },
    });
  }

  /** the weight protocol's lookup of an earlier version (a commitment names the parameters' hash) */
  async weightsByHash(hash: string): Promise<ServedWeights | null> {
    const worker = this.deps.worker();
    if (!worker) return null;
    const reply = await worker.verify({ op: 'weights', hash });
    if (reply.op !== 'weights' || !reply.version) return null;
    const bytes = new Uint8Array(reply.version.bytes);
    return { bytes, hash: await sha256Hex(bytes), params: reply.version.params };
  }

  /** a new part of a peer's batch: checked (maybe) once the batch is complete, and only while we hold a model */
  offer(added: RolloutBatch): void {
    if (!this.deps.worker()) return;
    const started = this.checker.offer(added);
    if (started) void started.then(() => this.publish(), () => this.publish());
    this.publish();
  }

  /** whether the worker should get this batch at all: an excluded peer's never, a failed batch's never again */
  keeps(peerId: string, round: number): boolean {
    return this.checker.ledger.keeps(peerId, round);
  }

  /** heartbeat figures: the screen sums what verifiers report */
  stats(): Record<string, number> {
    return { verifiedRollouts: this.state.verifiedRollouts, verifyFailed: this.state.failed };
  }

  private consequences(o: CheckOutcome, record: PeerRecord): void {
    if (o.ok) {
      const batch = this.deps.transport.receivedRollouts(o.round).find((b) => b.peerId === o.peerId);
      const n = batch ? batch.rollouts.reduce((s, r) => s + r.completions.length, 0) : 0;
      this.state = { ...this.state, verifiedRollouts: this.state.verifiedRollouts + n };
    } else {
      // a provable fault of the author (it signed the commitment): it costs score like a forged claim
      this.deps.swarm.validator.scores.penalize(o.peerId);
      const worker = this.deps.worker();
      void worker?.verify({ op: 'exclude', peerId: o.peerId, round: o.round }).catch(() => undefined);
      if (record.excluded) void worker?.verify({ op: 'exclude', peerId: o.peerId, round: null }).catch(() => undefined);
      if (o.evidence) this.state = { ...this.state, evidence: [...this.state.evidence, o.evidence].slice(-EVIDENCE_KEPT) };
    }
    this.state = {
      ...this.state,
      recent: [...this.state.recent, { peerId: o.peerId, round: o.round, ok: o.ok, reason: o.ok ? null : (o.reasons[0] ?? 'failed'), at: o.at }].slice(-RECENT),
    };
    this.publish();
  }

  private publish(): void {
    const c = this.checker.counts;
    const batches = this.checker.ledger.recentBatches(BATCHES_SHOWN);
    this.state = { ...this.state, offered: c.offered, skippedBusy: c.skippedBusy, challenged: c.challenged, verified: c.verified, failed: c.failed, peers: this.checker.ledger.snapshot(), batches };
    this.deps.onChange(this.state);
  }

  snapshot(): VerificationSnapshot {
    return this.state;
  }

  async stop(): Promise<void> {
    this.checker.stop();
    await this.stopServing?.().catch(() => undefined);
  }
}

/**
 * What verifiers report in their heartbeats (`verifiedRollouts`, `verifyFailed`): a watch-only page (the
 * conference screen) checks nothing itself, so it sums the latest report of each peer it hears. A report is
 * that peer's word about its own checks; one peer's is capped so a liar moves the sum by a bounded amount.
 */
export class VerifiedReports {
  private readonly latest = new Map<string, { verified: number; failed: number }>();

  constructor(private readonly maxPeers = 512, private readonly maxPerPeer = 1_000_000) {}

  add(peerId: string, stats: Record<string, number>): void {
    const v = stats.verifiedRollouts, f = stats.verifyFailed;
    if (typeof v !== 'number' && typeof f !== 'number') return;
    const clamp = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.max(0, Math.min(this.maxPerPeer, Math.floor(x))) : 0);
    this.latest.delete(peerId);
    this.latest.set(peerId, { verified: clamp(v), failed: clamp(f) });
    if (this.latest.size > this.maxPeers) this.latest.delete(this.latest.keys().next().value as string);
  }

  totals(): { verifiedRollouts: number; failed: number } {
    let verifiedRollouts = 0, failed = 0;
    for (const r of this.latest.values()) {
      verifiedRollouts += r.verified;
      failed += r.failed;
    }
    return { verifiedRollouts, failed };
  }
}
