// Spot checks over the network, and their consequences. When a peer's batch for a round is complete (every
// row its commitment covers has arrived), this tab decides with fresh randomness, drawn only then, whether to
// challenge it (VERIFY.rate). A challenge goes to the author over the challenge protocol, the named weights
// come from the author over the weight protocol (by content hash, capped at this swarm's model size,
// cached), and the check itself (teacher-forced forward, CDF intervals) runs wherever the model is: the
// `check` dependency (the worker, in the app). An unanswered challenge or weights that are not served is a
// failure. A failed batch is left out of J for its round; repeated failures leave the peer out altogether and
// each one costs it score. Every outcome is signed evidence (challenge + response + verdict) when a signer
// is given. Bounded: checks in flight, checks per minute, one decision per (peer, round), peers remembered.
import type { PeerId } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import { peerIdFromString } from '@libp2p/peer-id';
import type { RolloutBatch } from '../rl/transport.ts';
import { makeChallenge, type Challenge, type ChallengeResponse, type Verdict } from '../rl/verify/check.ts';
import { makeEvidence, type Evidence, type EvidenceSigner } from '../rl/verify/evidence.ts';
import { VERIFY } from './constants.ts';
import { maxResponseBytes, sendChallenge } from './verify.ts';
import { fetchWeights, type FetchedWeights } from './weights.ts';

export type BatchStatus = 'pending' | 'verified' | 'failed';

export interface CheckOutcome {
  peerId: string;
  round: number;
  ok: boolean;
  reasons: string[];
  checkedTokens: number;
  at: number;
  evidence: Evidence | null;
  /**
   * the author's own revealed data failed the check: its signed commitment and reveal prove the fault, so
   * one such failure excludes it; a missing answer or weights is only held against it when repeated
   */
  conclusive?: boolean;
}

export interface PeerRecord {
  verified: number;
  failed: number;
  lastReason: string | null;
  excluded: boolean;
}

/** What a tab knows of each peer's checks: pure and bounded, read by the feed and the peers list. */
export class VerifyLedger {
  private readonly peers = new Map<string, PeerRecord>();
  private readonly batches = new Map<string, BatchStatus>();

  constructor(private readonly excludeAfter: number = VERIFY.excludeAfterFailures) {}

  pending(peerId: string, round: number): void {
    this.setBatch(peerId, round, 'pending');
  }

  record(o: Pick<CheckOutcome, 'peerId' | 'round' | 'ok' | 'reasons' | 'conclusive'>): PeerRecord {
    const r = this.peers.get(o.peerId) ?? { verified: 0, failed: 0, lastReason: null, excluded: false };
    if (o.ok) r.verified++;
    else {
      r.failed++;
      r.lastReason = o.reasons[0] ?? 'failed';
      r.excluded = r.excluded || o.conclusive === true || r.failed >= this.excludeAfter;
    }
    this.peers.delete(o.peerId);
    this.peers.set(o.peerId, r);
    if (this.peers.size > VERIFY.maxLedgerPeers) this.peers.delete(this.peers.keys().next().value as string);
    this.setBatch(o.peerId, o.round, o.ok ? 'verified' : 'failed');
    return { ...r };
  }

  private setBatch(peerId: string, round: number, status: BatchStatus): void {
    const key = `${peerId}@${round}`;
    this.batches.delete(key);
    this.batches.set(key, status);
    if (this.batches.size > VERIFY.maxLedgerPeers * 4) this.batches.delete(this.batches.keys().next().value as string);
  }

  /** a check that ended without a verdict (not checked here, or the peer busy): the batch is unverified again */
  forget(peerId: string, round: number): void {
    if (this.batches.get(`${peerId}@${round}`) === 'pending') this.batches.delete(`${peerId}@${round}`);
  }

  batch(peerId: string, round: number): BatchStatus | null {
    return this.batches.get(`${peerId}@${round}`) ?? null;
  }

  peer(peerId: string): PeerRecord | null {
    const r = this.peers.get(peerId);
    return r ? { ...r } : null;
  }

  excluded(peerId: string): boolean {
    return this.peers.get(peerId)?.excluded ?? false;
  }

  /** a failed batch stays out of its round's J; an excluded peer's batches stay out of every round's */
  keeps(peerId: string, round: number): boolean {
    return !this.excluded(peerId) && this.batch(peerId, round) !== 'failed';
  }

  snapshot(): Record<string, PeerRecord> {
    return Object.fromEntries([...this.peers].map(([k, v]) => [k, { ...v }]));
  }

  /** the newest `n` batch decisions, keyed `${peerId}@${round}` */
  recentBatches(n: number): Record<string, BatchStatus> {
    return Object.fromEntries([...this.batches].slice(-n));
  }
}

export interface SpotCheckerDeps {
  node: Libp2p;
  /** the swarm's model family (weight protocol), null while no model is loaded */
  family(): string | null;
  /** the most bytes a peer's weights may take: this swarm's model serialized, plus header room */
  maxWeightBytes(): number | null;
  /**
   * weights this tab holds itself under `hash` (its own kept versions, the swarm's starting model): used
   * before asking the author, so naming public weights over a thin (relayed) link still gets checked
   */
  localWeights?(hash: string): Promise<FetchedWeights | null>;
  /** the complete batch this tab holds for (peer, round) */
  batchOf(peerId: string, round: number): RolloutBatch | null;
  /** the check proper (teacher-forced forward on the fetched weights) */
  check(batch: RolloutBatch, challenge: Challenge, response: ChallengeResponse | null, weights: FetchedWeights | null): Promise<Verdict>;
  /** consequences: called once per failure (score, J, feed) */
  onOutcome(outcome: CheckOutcome, record: PeerRecord): void;
  /** signs evidence (the tab's peer key); without it outcomes carry none */
  sign?: EvidenceSigner;
  challenger: string;
  rate?: number;
  rows?: number;
  random?: () => number;
  now?: () => number;
  timeoutMs?: number;
}

/** uniform [0, 1) from the platform's CSPRNG: a sender cannot predict which batches or rows are checked */
export function secureRandom(): number {
  const b = new Uint32Array(1);
  crypto.getRandomValues(b);
  return b[0] / 4294967296;
}

function nonce(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

export class SpotChecker {
  readonly ledger = new VerifyLedger();
  /** (peer@round) already decided: one decision per batch, whatever arrives later */
  private readonly decided = new Set<string>();
  private readonly weights = new Map<string, FetchedWeights>();
  private inFlight = 0;
  /** peers with a check in flight: one at a time per peer, as the answering side serves them */
  private readonly checking = new Set<string>();
  /** consecutive "busy" refusals per peer: a peer that is always busy is treated as one that never answers */
  private readonly busy = new Map<string, number>();
  private recent: number[] = [];
  private readonly random: () => number;
  private readonly now: () => number;
  private stopped = false;
  /** checks started and finished (tests and the lab page read these) */
  readonly counts = { offered: 0, challenged: 0, verified: 0, failed: 0, skippedBusy: 0, refusedBusy: 0 };

  constructor(private readonly deps: SpotCheckerDeps) {
    this.random = deps.random ?? secureRandom;
    this.now = deps.now ?? (() => Date.now());
  }

  /**
   * Called with each new part of a peer's batch. Returns the check's promise when this call started one
   * (tests await it), otherwise null.
   */
  offer(part: RolloutBatch): Promise<CheckOutcome> | null {
    if (this.stopped) return null;
    const batch = this.deps.batchOf(part.peerId, part.round);
    const c = batch?.sampling;
    if (!batch || !c) return null;
    const rows = batch.rollouts.reduce((n, r) => n + r.completions.length, 0);
    if (rows < c.completions) return null; // not complete yet
    const key = `${batch.peerId}@${batch.round}`;
    if (this.decided.has(key)) return null;
    this.decided.add(key);
    if (this.decided.size > VERIFY.maxLedgerPeers * 4) this.decided.delete(this.decided.values().next().value as string);
    this.counts.offered++;
    // drawn now, after the batch is complete: the sender committed before knowing
    if (this.random() >= (this.deps.rate ?? VERIFY.rate)) return null;
    const t = this.now();
    this.recent = this.recent.filter((x) => t - x < 60_000);
    if (this.inFlight >= VERIFY.inFlight || this.recent.length >= VERIFY.perMinute || this.checking.has(batch.peerId)) {
      this.counts.skippedBusy++;
      return null;
    }
    this.recent.push(t);
    this.inFlight++;
    this.checking.add(batch.peerId);
    this.counts.challenged++;
    this.ledger.pending(batch.peerId, batch.round);
    return this.run(batch).finally(() => {
      this.inFlight--;
      this.checking.delete(batch.peerId);
    });
  }

  private async run(batch: RolloutBatch): Promise<CheckOutcome> {
    const c = batch.sampling!;
    const challenge = makeChallenge(c, this.deps.rows ?? VERIFY.rows, this.random, nonce());
    const peer = peerIdFromString(batch.peerId);
    let response: ChallengeResponse | null = null;
    let verdict: Verdict;
    let conclusive = false;
    try {
      response = await sendChallenge(this.deps.node, peer, challenge, { maxBytes: maxResponseBytes(c, challenge.rows.length), ...(this.deps.timeoutMs ? { timeoutMs: this.deps.timeoutMs } : {}) });
    } catch (error) {
      response = null;
      const why = `${(error as Error).name}: ${(error as Error).message.slice(0, 160)}`;
      if (this.excused(batch.peerId, error as Error)) return this.unchecked(batch, why);
      verdict = { ok: false, reasons: [`challenge unanswered (${why})`], checkedTokens: 0, maxLogprobDelta: 0, maxCdfOvershoot: 0 };
    }
    if (response) {
      const weights = await this.weightsFor(peer, c.weightsHash).catch((error: Error) => error);
      if (weights instanceof Error && this.excused(batch.peerId, weights)) return this.unchecked(batch, `${weights.name}: ${weights.message.slice(0, 160)}`);
      if (!(weights instanceof Error)) this.busy.delete(batch.peerId);
      verdict = weights instanceof Error
        ? { ok: false, reasons: [`the named weights ${c.weightsHash.slice(0, 12)}… were not served (${weights.name}: ${weights.message.slice(0, 160)})`], checkedTokens: 0, maxLogprobDelta: 0, maxCdfOvershoot: 0 }
        : await this.deps.check(batch, challenge, response, weights).then((v) => ((conclusive = !v.ok), v), (error: Error): Verdict => (
          // our own failure to check is not the peer's fault: recorded, never counted against it
          { ok: true, reasons: [`not checked here: ${error.message.slice(0, 160)}`], checkedTokens: 0, maxLogprobDelta: 0, maxCdfOvershoot: 0 }
        ));
    }
    const at = this.now();
    const evidence = this.deps.sign
      ? await makeEvidence({ commitment: c, challenge, response, verdict: verdict!, challenger: this.deps.challenger, at }, this.deps.sign).catch(() => null)
      : null;
    const outcome: CheckOutcome = { peerId: batch.peerId, round: batch.round, ok: verdict!.ok, reasons: verdict!.reasons, checkedTokens: verdict!.checkedTokens, at, evidence, conclusive };
    if (outcome.ok && outcome.checkedTokens === 0) {
      this.ledger.forget(batch.peerId, batch.round);
      return outcome; // nothing was checked: neither verified nor failed
    }
    const record = this.ledger.record(outcome);
    if (outcome.ok) this.counts.verified++;
    else this.counts.failed++;
    if (!this.stopped) {
      try {
        this.deps.onOutcome(outcome, record);
      } catch {
        // a display bug must not undo the verdict
      }
    }
    return outcome;
  }

  /**
   * Whether a missing answer is excused: "busy" / "rate" refusals and the link failing (dials, timeouts,
   * resets) happen to honest peers on a loaded machine or a churning link, a few times in a row. A peer that
   * never gets through is treated as one that never answers; a refusal on content (round or weights not
   * held, a malformed or oversized reply) is never excused.
   */
  private excused(peerId: string, error: Error): boolean {
    // a peer that does not speak the protocol at all will never answer: nothing to excuse
    const content = error.name === 'ChallengeRejectedError' || error.name === 'WeightsRejectedError' || error.name === 'UnsupportedProtocolError'
      || ((error.name === 'ChallengeRefusedError' || error.name === 'WeightsRefusedError') && !/refused: (busy|rate)\b/.test(error.message));
    if (content) return false;
    const times = (this.busy.get(peerId) ?? 0) + 1;
    this.busy.delete(peerId);
    this.busy.set(peerId, times);
    if (this.busy.size > VERIFY.maxLedgerPeers) this.busy.delete(this.busy.keys().next().value as string);
    return times < VERIFY.busyRefusalsAllowed;
  }

  private unchecked(batch: RolloutBatch, why: string): CheckOutcome {
    this.counts.refusedBusy++;
    this.ledger.forget(batch.peerId, batch.round);
    return { peerId: batch.peerId, round: batch.round, ok: true, reasons: [`not checked: ${why}`], checkedTokens: 0, at: this.now(), evidence: null };
  }

  /** cached per (author, hash): the hash is the author's word until the check re-hashes the parameters */
  private async weightsFor(peer: PeerId, hash: string): Promise<FetchedWeights> {
    const key = `${peer.toString()}:${hash}`;
    const kept = this.weights.get(key);
    if (kept) return kept;
    const local = await this.deps.localWeights?.(hash).catch(() => null);
    if (local) return local;
    const family = this.deps.family(), maxBytes = this.deps.maxWeightBytes();
    if (!family || maxBytes === null) throw new Error('no model loaded here to check against');
    const got = await fetchWeights(this.deps.node, peer, { family, want: hash, maxBytes, ...(this.deps.timeoutMs ? { timeoutMs: this.deps.timeoutMs } : {}) });
    this.weights.set(key, got);
    for (const k of this.weights.keys()) {
      if (this.weights.size <= VERIFY.cachedWeights) break;
      this.weights.delete(k);
    }
    return got;
  }

  stop(): void {
    this.stopped = true;
  }
}
