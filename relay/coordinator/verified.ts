// The coordinator's verified rewards: it reads what peers gossiped each swarm round, re-scores it itself
// (relay/coordinator/rescore.ts), and puts only those values on chain. The chain's stage counter follows the swarm
// clock (the mapping is documented in rescore.ts), so every value lands on the (round, stage) its rounds map to.
// A self-reported reward is only a claim, checked against the same re-score.
//
// Per tick, in order:
//   1. the chain is stepped to the slot of the current swarm round (at most MAX_STEPS advanceStage per tick);
//   2. swarm rounds that ended `graceRounds` ago are re-scored and kept (a late part cannot change them after;
//      the validator takes a round's messages only until the next round ends, so one grace round loses nothing);
//   3. slots whose rounds are all re-scored are submitted in batches, then the round's winners.
// Bounded by the swarm's honest shape: at most maxPeersPerRound batches a round, B x G verifier calls each, and
// only the verdicts of rounds that still take rewards are kept.
import type { RolloutBatch } from '../../src/rl/transport.ts';
import type { RewardReport } from '../../src/identity/coordinator.ts';
import type { RoundShape } from '../../src/worker/rescore.ts';
import {
  chainSlotOf, mappingAt, rescoreBatch, roundWinners, slotParts, slotReward, swarmRoundsOf,
  type RescoredRound, type RescoreVerdict, type RoundMapping,
} from './rescore.ts';

/** What peers gossiped, per swarm round (the coordinator's own gossip transport, or a bus in tests). */
export interface RolloutSource {
  currentRound(): number;
  receivedRollouts(round: number): RolloutBatch[];
}

/** The chain side, as the coordinator service offers it. */
export interface RewardSink {
  readRoundStage(): Promise<{ round: bigint; stage: bigint }>;
  advanceStage(): Promise<{ round: bigint; stage: bigint }>;
  /** one batch for one (round, stage); resolves false when the chain refused it (retries are the sink's) */
  submitRewards(round: bigint, stage: bigint, reports: RewardReport[]): Promise<boolean>;
  submitRoundWinners(round: bigint, winners: string[]): Promise<boolean>;
  isRegistered(peerId: string): Promise<boolean>;
}

export interface Refusal {
  at: number;
  peerId: string;
  /** swarm round (gossip) or chain round/stage (report) it concerns */
  what: string;
  reason: string;
}

export interface VerifiedRewardsOptions {
  shape: RoundShape;
  roundsPerStage?: number;
  stagesPerRound: number;
  /** rounds after a swarm round ends before it is re-scored for good (late gossip); default 1 */
  graceRounds?: number;
  maxRewardPerReport: bigint;
  rewardWindowRounds: bigint;
  maxPeersPerRound?: number;
  log?: (line: string) => void;
}

const MAX_STEPS = 8;
const MAX_INGEST = 64;
const MAX_REFUSALS = 64;
const BATCH = 256;

export class VerifiedRewards {
  mapping: RoundMapping | null = null;
  private source: RolloutSource | null = null;
  private sink: RewardSink | null = null;
  private chainSlot = 0;
  private nextIngest = 0;
  private nextSettle = 0;
  /** swarm round -> peer -> verdict, for rounds whose rewards are still taken */
  private readonly kept = new Map<number, Map<string, RescoreVerdict>>();
  /** chain round -> peer -> units over its submitted stages (for the round's winners) */
  private readonly roundTotals = new Map<bigint, Map<string, bigint>>();
  private readonly refusalRing: Refusal[] = [];
  private readonly log: (line: string) => void;
  private readonly graceRounds: number;
  private readonly maxPeers: number;
  /** what went on chain, slot by slot (latest 64), for /health and tests */
  readonly submitted: { round: bigint; stage: bigint; rewards: Map<string, bigint>; winners?: string[] }[] = [];

  constructor(private readonly options: VerifiedRewardsOptions) {
    this.log = options.log ?? ((line) => console.error(`coordinator: ${line}`));
    this.graceRounds = Math.max(0, options.graceRounds ?? 1);
    this.maxPeers = options.maxPeersPerRound ?? 256;
  }

  /** Takes over the chain's stage counter from the swarm round current now. */
  async start(sink: RewardSink, source: RolloutSource): Promise<RoundMapping> {
    const { round, stage } = await sink.readRoundStage();
    this.chainSlot = Number(round) * this.options.stagesPerRound + Number(stage);
    const now = source.currentRound();
    this.mapping = mappingAt(now, this.chainSlot, this.options.roundsPerStage ?? 1, this.options.stagesPerRound);
    this.sink = sink;
    this.source = source;
    this.nextIngest = now;
    this.nextSettle = this.chainSlot;
    this.log(`verified rewards: chain slot ${this.chainSlot} = swarm round ${now}; ${this.mapping.roundsPerStage} swarm round(s) per stage`);
    return this.mapping;
  }

  refusals(): Refusal[] {
    return [...this.refusalRing];
  }

  refuse(peerId: string, what: string, reason: string): void {
    this.refusalRing.push({ at: Date.now(), peerId, what, reason });
    if (this.refusalRing.length > MAX_REFUSALS) this.refusalRing.shift();
    this.log(`refused ${peerId} (${what}): ${reason}`);
  }

  /** One step of the loop (see the header); the service calls it on a timer, tests directly. */
  async tick(): Promise<void> {
    const { sink, source, mapping } = this;
    if (!sink || !source || !mapping) throw new Error('VerifiedRewards.tick before start');
    const now = source.currentRound();
    const target = chainSlotOf(now, mapping)?.slot ?? this.chainSlot;
    for (let i = 0; i < MAX_STEPS && this.chainSlot < target; i++) {
      const { round, stage } = await sink.advanceStage();
      this.chainSlot = Number(round) * mapping.stagesPerRound + Number(stage);
    }
    for (let i = 0; i < MAX_INGEST && this.nextIngest + this.graceRounds < now; i++) this.ingest(this.nextIngest++);
    for (;;) {
      const rounds = swarmRoundsOf(...partsOf(this.nextSettle, mapping), mapping);
      if (!rounds || rounds.last >= this.nextIngest || this.nextSettle >= this.chainSlot) break;
      await this.settle(this.nextSettle++, rounds);
    }
  }

  private ingest(round: number): void {
    const verdicts = new Map<string, RescoreVerdict>();
    for (const batch of this.source!.receivedRollouts(round)) {
      if (verdicts.size >= this.maxPeers) break;
      if (batch?.round !== round || typeof batch.peerId !== 'string' || verdicts.has(batch.peerId)) continue;
      const verdict = rescoreBatch(batch, this.options.shape);
      verdicts.set(batch.peerId, verdict);
      if (!verdict.ok) this.refuse(batch.peerId, `swarm round ${round}`, verdict.reason);
    }
    this.kept.set(round, verdicts);
  }

  private async settle(slot: number, rounds: { first: number; last: number }): Promise<void> {
    const mapping = this.mapping!;
    const { round, stage } = slotParts(slot, mapping);
    // a round whose last stage never settled (its window closed) leaves no totals behind
    for (const r of this.roundTotals.keys()) if (r + this.options.rewardWindowRounds < round) this.roundTotals.delete(r);
    const perPeer = new Map<string, RescoredRound[]>();
    for (let r = rounds.first; r <= rounds.last; r++) {
      for (const [peer, v] of this.kept.get(r) ?? []) if (v.ok) perPeer.set(peer, [...(perPeer.get(peer) ?? []), v]);
    }
    // verdicts stay while their round still takes rewards, so a late self-report is checked against what was sent
    const keepFrom = rounds.first - (Number(this.options.rewardWindowRounds) + 1) * mapping.stagesPerRound * mapping.roundsPerStage;
    for (const r of this.kept.keys()) if (r < keepFrom) this.kept.delete(r);
    const chainRound = BigInt(Math.floor(this.chainSlot / mapping.stagesPerRound));
    if (round + this.options.rewardWindowRounds < chainRound) {
      this.log(`round ${round} stage ${stage} settled after its reward window closed; ${perPeer.size} rewards not sent`);
      return;
    }
    const reports: RewardReport[] = [];
    for (const [peerId, parts] of perPeer) {
      const reward = slotReward(parts);
      if (reward === null) continue;
      // re-scored values cannot exceed 1.1 per completion; the bound is checked anyway, never sent over it
      if (reward > this.options.maxRewardPerReport) {
        this.refuse(peerId, `round ${round} stage ${stage}`, `re-scored ${reward} units, over the bound of ${this.options.maxRewardPerReport}`);
        continue;
      }
      if (!(await this.sink!.isRegistered(peerId))) continue; // the contract would skip it; spare the gas
      reports.push({ peerId, round, stage, reward });
    }
    reports.sort((a, b) => (a.peerId < b.peerId ? -1 : 1));
    for (let i = 0; i < reports.length; i += BATCH) await this.sink!.submitRewards(round, stage, reports.slice(i, i + BATCH));
    const record: (typeof this.submitted)[number] = { round, stage, rewards: new Map(reports.map((r) => [r.peerId, r.reward])) };
    const totals = this.roundTotals.get(round) ?? new Map<string, bigint>();
    for (const r of reports) totals.set(r.peerId, (totals.get(r.peerId) ?? 0n) + r.reward);
    this.roundTotals.set(round, totals);
    if (Number(stage) === mapping.stagesPerRound - 1) {
      this.roundTotals.delete(round);
      const winners = roundWinners(totals);
      if (winners.length > 0 && (await this.sink!.submitRoundWinners(round, winners))) record.winners = winners;
    }
    this.submitted.push(record);
    if (this.submitted.length > 64) this.submitted.shift();
  }

  /**
   * The service's check of a self-reported reward: the re-scored value for the report's (round, stage), from
   * what is kept or, for rounds not yet final, from what has arrived so far; a reason when there is none.
   */
  expected(report: RewardReport): bigint | { reason: string } {
    const { mapping, source } = this;
    if (!mapping || !source) return { reason: 'the coordinator is not following the swarm yet' };
    const rounds = swarmRoundsOf(report.round, report.stage, mapping);
    if (!rounds) return { reason: `round ${report.round} stage ${report.stage} maps to no swarm round` };
    const parts: RescoredRound[] = [];
    let refused: string | null = null;
    for (let r = rounds.first; r <= rounds.last; r++) {
      let verdict = this.kept.get(r)?.get(report.peerId);
      if (!verdict && !this.kept.has(r)) {
        const batch = source.receivedRollouts(r).find((b) => b?.peerId === report.peerId);
        if (batch) verdict = rescoreBatch(batch, this.options.shape);
      }
      if (verdict?.ok) parts.push(verdict);
      else if (verdict) refused = verdict.reason;
    }
    const reward = slotReward(parts);
    if (reward !== null) return reward;
    return { reason: refused ? `its rollouts for swarm rounds ${rounds.first}-${rounds.last} were refused: ${refused}` : `no gossiped rollouts of this peer for swarm rounds ${rounds.first}-${rounds.last} were re-scored here` };
  }
}

function partsOf(slot: number, m: RoundMapping): [bigint, bigint] {
  const { round, stage } = slotParts(slot, m);
  return [round, stage];
}
