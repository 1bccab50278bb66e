// The coordinator as a mere relay of k-of-n attestations: registered peers POST the EIP-712 RewardAttestation they
// signed for a peer they re-scored; once `attestationQuorum` distinct registered accounts (never the peer's own)
// signed the same (round, stage, peer, reward), the entry goes to `submitAttestedRewards`, where the contract checks
// every signature again. The service cannot forge a reward this way, only fail to pass one on (and anyone else may
// send the same signatures). Bounded: entries per signer per (round, stage), and entries in all.
import { isHex, type Address, type Hex, type PublicClient } from 'viem';
import { swarmCoordinatorAbi } from '../../src/identity/generated/SwarmCoordinator.ts';
import { recoverAttester, type AttestationDomain, type RewardAttestation } from '../../src/identity/attestation.ts';
import { MAX_PEER_ID_LENGTH } from '../../src/identity/binding.ts';

export interface AttestationChain {
  /** the account the peer id is bound to, or null */
  accountOf(peerId: string): Promise<Address | null>;
  /** whether the account holds at least one live registration */
  isRegisteredAccount(account: Address): Promise<boolean>;
}

export interface PoolEntry {
  attestation: RewardAttestation;
  signatures: Map<string, Hex>; // signer (lower case) -> signature
}

export type AddVerdict = { ok: true; signer: Address; signers: number } | { ok: false; reason: string };

const DECIMAL = /^[0-9]{1,20}$/;

export class AttestationPool {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly perSigner = new Map<string, number>(); // "round/stage/signer" -> entries signed

  constructor(
    private readonly domain: AttestationDomain,
    private readonly chain: AttestationChain,
    private readonly limits = { perSignerPerStage: 256, entries: 10_000, maxReward: 2000n },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Checks one attestation (shape, signature, signer registered and not the subject) and pools it; never throws. */
  async add(value: unknown): Promise<AddVerdict> {
    try {
      if (typeof value !== 'object' || value === null) return { ok: false, reason: 'attestation must be an object' };
      const v = value as Record<string, unknown>;
      for (const f of ['round', 'stage', 'reward'] as const) if (typeof v[f] !== 'string' || !DECIMAL.test(v[f] as string)) return { ok: false, reason: `${f} must be a decimal string` };
      if (typeof v.peerId !== 'string' || v.peerId.length === 0 || v.peerId.length > MAX_PEER_ID_LENGTH) return { ok: false, reason: 'peerId missing or too long' };
      if (typeof v.signature !== 'string' || !isHex(v.signature) || v.signature.length !== 132) return { ok: false, reason: 'signature must be 65 bytes of hex' };
      const attestation: RewardAttestation = { round: BigInt(v.round as string), stage: BigInt(v.stage as string), peerId: v.peerId, reward: BigInt(v.reward as string) };
      if (attestation.reward > this.limits.maxReward) return { ok: false, reason: `reward over the bound of ${this.limits.maxReward} units` };
      const signer = await recoverAttester(attestation, this.domain, v.signature as Hex);
      const subject = await this.chain.accountOf(attestation.peerId);
      if (!subject) return { ok: false, reason: 'the attested peer id is not registered' };
      if (subject.toLowerCase() === signer.toLowerCase()) return { ok: false, reason: "a peer's own account cannot attest its reward" };
      if (!(await this.chain.isRegisteredAccount(signer))) return { ok: false, reason: `signer ${signer} holds no registered peer id` };
      const key = `${attestation.round}/${attestation.stage}/${attestation.peerId}/${attestation.reward}`;
      const entry = this.entries.get(key) ?? { attestation, signatures: new Map<string, Hex>() };
      const s = signer.toLowerCase();
      if (!entry.signatures.has(s)) {
        const budget = `${attestation.round}/${attestation.stage}/${s}`;
        const used = this.perSigner.get(budget) ?? 0;
        if (used >= this.limits.perSignerPerStage) return { ok: false, reason: 'this signer attested too many rewards for this round and stage' };
        if (!this.entries.has(key) && this.entries.size >= this.limits.entries) return { ok: false, reason: 'attestation pool is full; retry later' };
        this.perSigner.set(budget, used + 1);
        entry.signatures.set(s, v.signature as Hex);
        this.entries.set(key, entry);
      }
      return { ok: true, signer, signers: entry.signatures.size };
    } catch (error) {
      return { ok: false, reason: `unverifiable attestation: ${(error as Error)?.message?.split('\n')[0] ?? String(error)}` };
    }
  }

  /**
   * Takes the entries with at least `quorum` signers, grouped by (round, stage), as the contract's AttestedReward
   * (signatures in increasing signer order). Taken entries leave the pool: one submission each.
   */
  takeReady(quorum: number): { round: bigint; stage: bigint; entries: { peerId: string; reward: bigint; signatures: Hex[] }[] }[] {
    const groups = new Map<string, { round: bigint; stage: bigint; entries: { peerId: string; reward: bigint; signatures: Hex[] }[] }>();
    for (const [key, e] of this.entries) {
      if (e.signatures.size < quorum) continue;
      this.entries.delete(key);
      const g = `${e.attestation.round}/${e.attestation.stage}`;
      const group = groups.get(g) ?? { round: e.attestation.round, stage: e.attestation.stage, entries: [] };
      const signatures = [...e.signatures].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1)).slice(0, 16).map(([, sig]) => sig);
      group.entries.push({ peerId: e.attestation.peerId, reward: e.attestation.reward, signatures });
      groups.set(g, group);
    }
    return [...groups.values()];
  }

  /** Forgets rounds before `round` (their window closed). */
  prune(round: bigint): void {
    for (const [key, e] of this.entries) if (e.attestation.round < round) this.entries.delete(key);
    for (const key of this.perSigner.keys()) if (BigInt(key.split('/')[0]) < round) this.perSigner.delete(key);
  }
}

export interface AttestationRelayOptions {
  client: PublicClient;
  address: Address;
  chainId: number;
  maxReward: bigint;
  maxEntries: number;
  boundAccount(peerId: string): Promise<Address | null>;
  /** sends one submitAttestedRewards transaction; resolves to how many were recorded */
  submit(round: bigint, stage: bigint, entries: { peerId: string; reward: bigint; signatures: Hex[] }[]): Promise<number>;
  describeError(error: unknown): string;
  log(line: string): void;
}

/** The service's pool plus its chain reads (quorum, registered accounts, cached a minute) and the flush. */
export class AttestationRelay {
  readonly pool: AttestationPool;
  /** entries that reached the quorum and were sent, and rewards the chain recorded from them (GET /health) */
  readonly counts = { sent: 0, recorded: 0 };
  private readonly registered = new Map<string, { registered: boolean; at: number }>();

  constructor(private readonly o: AttestationRelayOptions) {
    this.pool = new AttestationPool({ chainId: o.chainId, verifyingContract: o.address }, {
      accountOf: o.boundAccount,
      isRegisteredAccount: (who) => this.isRegisteredAccount(who),
    }, { perSignerPerStage: 256, entries: o.maxEntries, maxReward: o.maxReward });
  }

  private async isRegisteredAccount(who: Address): Promise<boolean> {
    const seen = this.registered.get(who.toLowerCase());
    if (seen && Date.now() - seen.at < 60_000) return seen.registered;
    const ids = await this.o.client.readContract({ address: this.o.address, abi: swarmCoordinatorAbi, functionName: 'peerIdsOf', args: [who] });
    if (this.registered.size >= this.o.maxEntries) this.registered.clear(); // a cache: forgetting costs one read
    this.registered.set(who.toLowerCase(), { registered: ids.length > 0, at: Date.now() });
    return ids.length > 0;
  }

  /** Sends what reached the contract's quorum (rounds before `oldestOpen` are forgotten); resolves to rewards recorded. */
  async flush(oldestOpen: bigint): Promise<number> {
    this.pool.prune(oldestOpen);
    if (this.pool.size === 0) return 0;
    const quorum = await this.o.client.readContract({ address: this.o.address, abi: swarmCoordinatorAbi, functionName: 'attestationQuorum' });
    let recorded = 0;
    for (const group of this.pool.takeReady(Number(quorum))) {
      for (let i = 0; i < group.entries.length; i += 256) {
        const entries = group.entries.slice(i, i + 256);
        try {
          const n = await this.o.submit(group.round, group.stage, entries);
          recorded += n;
          this.counts.sent += entries.length;
          this.counts.recorded += n;
          this.o.log(`recorded ${n} of ${entries.length} attested rewards for round ${group.round} stage ${group.stage}`);
        } catch (error) {
          this.o.log(`attested rewards for round ${group.round} stage ${group.stage} not recorded: ${this.o.describeError(error)}`);
        }
      }
    }
    return recorded;
  }
}
