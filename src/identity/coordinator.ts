// Reading the coordinator contract (viem) and talking to the coordinator service (HTTP), for tabs and Node alike.
// Reward reports to the service are signed by the peer's libp2p key, so reporting needs no wallet prompt and
// no gas, yet nobody can report for a peer id whose key they do not hold.
import { isHex, keccak256, type Address, type Hex, type PublicClient } from 'viem';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { swarmCoordinatorAbi } from './generated/SwarmCoordinator.ts';
import { MAX_PEER_ID_LENGTH, type SignedPeerBindingWire } from './binding.ts';
import { peerDigestSignatureProblem, signDigestWithPeerKey } from './peer-signature.ts';

export interface LeaderboardEntry {
  peerId: string;
  /** null once a stage manager revoked the binding */
  account: Address | null;
  totalReward: bigint;
  totalWins: bigint;
}

const ZERO = '0x0000000000000000000000000000000000000000';

/** Rewards are fractional in the RL loop; on chain they are non-negative integers in thousandths. */
export const REWARD_SCALE = 1000;
/**
 * The most one report may carry, in units: a round's reward is a mean of per-completion rewards of at most 1.1
 * (accuracy + format), so 2.0 leaves headroom; the contract is deployed with this bound and refuses more.
 */
export const MAX_REWARD_UNITS = 2000n;
/** Rounds behind the current one for which rewards are still taken (late batches, retries). */
export const REWARD_WINDOW_ROUNDS = 4n;
export function rewardToUnits(reward: number): bigint {
  if (!Number.isFinite(reward)) throw new RangeError('reward must be a finite number');
  if (reward < 0) throw new RangeError('reward must not be negative (on-chain rewards are unsigned)');
  return BigInt(Math.round(reward * REWARD_SCALE));
}

/** The `reason` of the contract's `RewardSkipped` event, by value. */
export const REWARD_SKIP_REASONS = ['not-registered', 'already-submitted', 'reward-too-large', 'too-few-attestations'] as const;

/** Whole register, sorted by total reward then wins (the contract pages in registration order). */
export async function readLeaderboard(client: PublicClient, coordinator: Address, options: { pageSize?: number; maxEntries?: number } = {}): Promise<LeaderboardEntry[]> {
  const pageSize = BigInt(options.pageSize ?? 200);
  const maxEntries = options.maxEntries ?? 2000;
  // The contract keeps one entry per registration; a peer id re-registered after a revocation shows only its
  // latest one (later in registration order), so the board has one row per peer id and no inherited totals.
  const byPeer = new Map<string, LeaderboardEntry>();
  let read = 0;
  for (let offset = 0n; read < maxEntries; offset += pageSize) {
    const page = await client.readContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'leaderboard', args: [offset, pageSize] });
    for (const e of page) byPeer.set(e.peerId, { peerId: e.peerId, account: e.account === ZERO ? null : e.account, totalReward: e.totalReward, totalWins: e.totalWins });
    read += page.length;
    if (BigInt(page.length) < pageSize) break;
  }
  return [...byPeer.values()].sort((a, b) => (a.totalReward === b.totalReward ? Number(b.totalWins - a.totalWins) : a.totalReward > b.totalReward ? -1 : 1));
}

export async function readBoundAccount(client: PublicClient, coordinator: Address, peerId: string): Promise<Address | null> {
  const account = await client.readContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'accountOf', args: [peerId] });
  return account === ZERO ? null : account;
}

export async function readNonce(client: PublicClient, coordinator: Address, account: Address): Promise<bigint> {
  return client.readContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'nonces', args: [account] });
}

export async function readRoundStage(client: PublicClient, coordinator: Address): Promise<{ round: bigint; stage: bigint }> {
  const [round, stage] = await Promise.all([
    client.readContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'currentRound' }),
    client.readContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'currentStage' }),
  ]);
  return { round, stage };
}

// ---- reward reports (peer-key signed) ----

export interface RewardReport {
  peerId: string;
  round: bigint;
  stage: bigint;
  /** in thousandths, see rewardToUnits */
  reward: bigint;
}

export interface RewardReportWire {
  peerId: string;
  round: string;
  stage: string;
  reward: string;
  signature: string;
}

/** What the report is bound to, so a report for one swarm/contract cannot be replayed to another. */
export interface ReportContext {
  chainId: number;
  coordinator: Address;
}

export class RewardReportError extends Error {
  override name = 'RewardReportError';
}

/** The digest a report's signature covers (keccak256 of a versioned, context-bound text). */
function reportDigest(r: RewardReport, ctx: ReportContext): Hex {
  return keccak256(new TextEncoder().encode(`tabswarm-reward/2|${ctx.chainId}|${ctx.coordinator.toLowerCase()}|${r.peerId}|${r.round}|${r.stage}|${r.reward}`));
}

export async function signRewardReport(report: RewardReport, ctx: ReportContext, peerKey: PrivateKey): Promise<RewardReportWire> {
  if (!peerIdFromString(report.peerId).publicKey?.equals(peerKey.publicKey)) throw new RewardReportError('the libp2p key does not belong to report.peerId');
  if (report.reward < 0n || report.reward > MAX_REWARD_UNITS) throw new RewardReportError(`reward must be 0-${MAX_REWARD_UNITS} units`);
  const signature = await signDigestWithPeerKey(peerKey, reportDigest(report, ctx));
  return { peerId: report.peerId, round: report.round.toString(), stage: report.stage.toString(), reward: report.reward.toString(), signature };
}

/** Checks shape and the peer-key signature of a report; never throws. */
export async function verifyRewardReport(value: unknown, ctx: ReportContext): Promise<{ ok: true; report: RewardReport } | { ok: false; reason: string }> {
  try {
    if (typeof value !== 'object' || value === null) return { ok: false, reason: 'report must be an object' };
    const v = value as Record<string, unknown>;
    if (typeof v.peerId !== 'string' || v.peerId.length === 0 || v.peerId.length > MAX_PEER_ID_LENGTH) return { ok: false, reason: 'peerId missing or too long' };
    for (const field of ['round', 'stage'] as const) {
      if (typeof v[field] !== 'string' || !/^[0-9]{1,20}$/.test(v[field] as string)) return { ok: false, reason: `${field} must be a decimal string` };
    }
    if (typeof v.reward !== 'string' || !/^[0-9]{1,20}$/.test(v.reward)) return { ok: false, reason: 'reward must be a non-negative decimal integer string' };
    if (typeof v.signature !== 'string' || !isHex(v.signature) || v.signature.length !== 130) return { ok: false, reason: 'signature must be 64 bytes of hex' };
    const report: RewardReport = { peerId: v.peerId, round: BigInt(v.round as string), stage: BigInt(v.stage as string), reward: BigInt(v.reward) };
    if (report.reward > MAX_REWARD_UNITS) return { ok: false, reason: `reward over the bound of ${MAX_REWARD_UNITS} units per report` };
    const problem = await peerDigestSignatureProblem(report.peerId, reportDigest(report, ctx), v.signature as Hex);
    if (problem === 'peerId is not a valid libp2p peer id' || problem?.startsWith('peerId must')) return { ok: false, reason: problem };
    return problem ? { ok: false, reason: `report signature does not match the peer id: ${problem}` } : { ok: true, report };
  } catch (error) {
    return { ok: false, reason: `unverifiable report: ${(error as Error)?.message ?? String(error)}` };
  }
}

// ---- the coordinator service's HTTP API ----

export class CoordinatorServiceError extends Error {
  override name = 'CoordinatorServiceError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface ServiceHealth {
  ok: boolean;
  swarmId: string;
  chainId: number;
  coordinator: Address;
  relayer: Address;
  round: string;
  stage: string;
  /** verified mode: how swarm rounds map onto (round, stage) (src/identity/round-mapping.ts); check before use */
  mapping?: unknown;
}

export class CoordinatorServiceClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 20_000,
  ) {}

  health(): Promise<ServiceHealth> {
    return this.request('GET', '/health');
  }

  /** Relayed, gasless registration: the service checks both signatures and sends registerPeerWithSig. */
  register(signed: SignedPeerBindingWire): Promise<{ txHash: Hex; account: Address; peerId: string }> {
    return this.request('POST', '/register', signed);
  }

  reportReward(report: RewardReportWire): Promise<{ queued: boolean }> {
    return this.request('POST', '/rewards', report);
  }

  /** A k-of-n reward attestation (src/identity/attestation.ts) for the service to pool and relay. */
  attest(attestation: { round: string; stage: string; peerId: string; reward: string; signature: Hex }): Promise<{ pooled: boolean; signers: number }> {
    return this.request('POST', '/attestations', attestation);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new CoordinatorServiceError(`coordinator service at ${this.baseUrl} is unreachable: ${(error as Error).message}`, 0, 'unreachable');
    }
    const payload = (await res.json().catch(() => ({}))) as { error?: string; reason?: string } & T;
    if (!res.ok) throw new CoordinatorServiceError(payload.reason ?? payload.error ?? `HTTP ${res.status}`, res.status, payload.error ?? 'http-error');
    return payload;
  }
}
