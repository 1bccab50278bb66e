// Owns the identity effects of a tab: the wallet (wagmi) or burner, the tab's peer key, the binding, the
// registration and the chain reads behind the leaderboard. Components read `snapshot` and call methods; every
// failure lands in `snapshot.error` as a sentence for the user and never stops the rest of the tab.
import type { Address, Hex, PublicClient } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { PrivateKey } from '@libp2p/interface';
import type { SwarmConfig } from '../../swarm/config.ts';
import { chainClient, parseChainConfig, type SwarmChainConfig } from '../../identity/chain.ts';
import { bindingTypedData, encodeSignedBinding, signPeerBinding, type SignedPeerBinding, type SignedPeerBindingWire, type TypedDataSigner } from '../../identity/binding.ts';
import {
  CoordinatorServiceClient,
  readBoundAccount,
  readLeaderboard,
  readNonce,
  readRoundStage,
  rewardToUnits,
  signRewardReport,
  type LeaderboardEntry,
} from '../../identity/coordinator.ts';
import { WalletConnection, WalletError, type WalletOption } from '../../identity/wallet.ts';
import { exportBurnerKey, loadBurner, loadOrCreateBurner } from '../../identity/burner.ts';
import { loadOrCreatePeerKey } from '../../identity/peer-key.ts';
import { RoundMappingCache, reportSlot } from '../../identity/round-mapping.ts';
import { signRewardAttestation } from '../../identity/attestation.ts';
import type { RolloutBatch } from '../../rl/transport.ts';
import type { RoundShape } from '../../worker/rescore.ts';
import { attestRound } from './attester.ts';
import { idbGet, idbPut } from '../../identity/idb.ts';
import { planWinners } from './winners.ts';

export type IdentityStep = 'idle' | 'busy' | 'connected' | 'signed' | 'registered';

export interface IdentitySnapshot {
  /** false when the swarm has no chain: the tab trains unregistered */
  available: boolean;
  note: string | null;
  peerId: string | null;
  wallets: WalletOption[];
  wallet: { kind: 'browser' | 'burner'; name: string; account: Address } | null;
  hasStoredBurner: boolean;
  step: IdentityStep;
  busy: string | null;
  signed: SignedPeerBindingWire | null;
  /** who the chain says this tab's peer id belongs to */
  boundAccount: Address | null;
  registration: { via: 'own' | 'relayed'; txHash: Hex } | null;
  relayer: boolean;
  round: string | null;
  leaderboard: LeaderboardEntry[];
  burnerKey: Hex | null;
  error: string | null;
  chainError: string | null;
  /** the binding's re-sign before its deadline: asking the wallet, done, or declined (the tab runs on, unbound later) */
  renewal: { state: 'asking' | 'renewed' | 'declined'; message: string } | null;
  /** the game's last vote on chain (submitWinners), or why the last one was not sent */
  winners: { round: string; winners: string[]; txHash: Hex } | { skipped: string } | null;
}

/** Re-signs this tab's binding for the swarm's renewal timer: the new binding, or null when it was not renewed. */
export type RenewBinding = () => Promise<SignedPeerBindingWire | null>;

export interface IdentityOptions {
  /** Called with each new binding, for the app to gossip it, and how to re-sign it before its deadline. */
  onBinding?: (signed: SignedPeerBindingWire, renew: RenewBinding) => void;
  pollMs?: number;
}

/** How long a signed binding may wait to be registered; peers gossiping it check the chain, not this. */
const BINDING_LIFETIME_S = 24n * 3600n;

/** The chain section, with the coordinator service URL that the swarm config parser does not keep (yet). */
async function resolveChain(swarm: SwarmConfig): Promise<SwarmChainConfig | null> {
  if (!swarm.chain) return null;
  const chain = parseChainConfig(swarm.chain);
  if (chain.coordinatorService) return chain;
  try {
    const res = await fetch('./swarm.json', { cache: 'no-store' });
    const raw = (await res.json()) as { swarmId?: string; chain?: { coordinator?: string; coordinatorService?: unknown } };
    if (raw.swarmId === swarm.swarmId && raw.chain?.coordinator?.toLowerCase() === chain.coordinator.toLowerCase() && typeof raw.chain.coordinatorService === 'string') {
      return parseChainConfig({ ...chain, coordinatorService: raw.chain.coordinatorService });
    }
  } catch {
    // no served config: this swarm simply has no relayer
  }
  return chain;
}

export class IdentityState {
  snapshot = $state.raw<IdentitySnapshot>({
    available: false, note: 'loading…', peerId: null, wallets: [], wallet: null, hasStoredBurner: false, step: 'idle', busy: null,
    signed: null, boundAccount: null, registration: null, relayer: false, round: null, leaderboard: [], burnerKey: null, error: null, chainError: null, winners: null,
    renewal: null,
  });
  private chain: SwarmChainConfig | null = null;
  private swarmId = '';
  private client: PublicClient | null = null;
  private wallet: WalletConnection | null = null;
  private burner: PrivateKeyAccount | null = null;
  private service: CoordinatorServiceClient | null = null;
  private peerKey: PrivateKey | null = null;
  private signed: SignedPeerBinding | null = null;
  private roundStage: { round: bigint; stage: bigint } | null = null;
  private mapping: RoundMappingCache | null = null;
  private readonly cleanups: (() => void)[] = [];
  /** the binding gossiped now (signed here, or replayed from an earlier visit): what a renewal replaces */
  private gossiped: SignedPeerBindingWire | null = null;
  private readonly renew: RenewBinding = () => this.renewBinding();

  constructor(private readonly options: IdentityOptions = {}) {}

  /** `peerKey`: the key the tab's libp2p node runs with; absent, this tab's persisted key (src/identity/peer-key.ts). */
  async start(swarm: SwarmConfig, peerKey?: PrivateKey | null): Promise<void> {
    this.swarmId = swarm.swarmId;
    try {
      this.chain = await resolveChain(swarm);
    } catch (error) {
      return this.update({ available: false, note: `This swarm's chain settings are invalid (${(error as Error).message}); the tab trains unregistered.` });
    }
    const chain = this.chain;
    if (!chain) return this.update({ available: false, note: 'This swarm has no chain: the tab trains without registering.' });
    try {
      const key = peerKey ?? (await loadOrCreatePeerKey()).key;
      this.peerKey = key;
      const { peerIdFromPrivateKey } = await import('@libp2p/peer-id');
      this.update({ peerId: peerIdFromPrivateKey(key).toString() });
    } catch (error) {
      return this.update({ available: false, note: `No key to bind (${(error as Error).message}); the tab trains unregistered.` });
    }
    this.client = chainClient(chain);
    this.service = chain.coordinatorService ? new CoordinatorServiceClient(chain.coordinatorService) : null;
    const service = this.service;
    this.mapping = service ? new RoundMappingCache(() => service.health()) : null;
    this.wallet = new WalletConnection(chain);
    this.cleanups.push(this.wallet.onWallets((wallets) => this.update({ wallets })));
    this.update({ available: true, note: null, wallets: this.wallet.wallets(), relayer: this.service !== null });
    this.update({ hasStoredBurner: (await loadBurner().catch(() => null)) !== null });
    await this.refresh();
    await this.replayStoredBinding();
    const timer = setInterval(() => void this.refresh(), this.options.pollMs ?? 3_000);
    this.cleanups.push(() => clearInterval(timer));
  }

  /** A binding signed in an earlier visit that the chain still holds is handed to the app again for gossip. */
  private async replayStoredBinding(): Promise<void> {
    const { peerId, boundAccount } = this.snapshot;
    if (!peerId || !boundAccount) return;
    const stored = await idbGet<SignedPeerBindingWire>(`binding-${peerId}`).catch(() => undefined);
    if (stored && stored.binding.peerId === peerId && sameAddress(stored.binding.account, boundAccount)) this.handOver(stored);
  }

  stop(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    void this.wallet?.disconnect();
  }

  async connect(walletId: string): Promise<void> {
    await this.task('Connecting the wallet…', async () => {
      const wallet = this.requireWallet();
      const account = await wallet.connect(walletId);
      const name = this.snapshot.wallets.find((w) => w.id === walletId)?.name ?? 'wallet';
      this.burner = null;
      this.resetBinding({ wallet: { kind: 'browser', name, account }, step: 'connected' });
    });
  }

  async useBurner(): Promise<void> {
    await this.task('Preparing the burner wallet…', async () => {
      await this.wallet?.disconnect();
      this.burner = await loadOrCreateBurner();
      this.resetBinding({ wallet: { kind: 'burner', name: 'Burner wallet', account: this.burner.address }, step: 'connected', hasStoredBurner: true });
    });
  }

  async disconnect(): Promise<void> {
    await this.wallet?.disconnect();
    this.burner = null;
    // the gossiped binding is left to lapse: nobody is connected to re-sign it
    this.gossiped = null;
    this.resetBinding({ wallet: null, step: 'idle', burnerKey: null, renewal: null });
  }

  /** Signs the binding with the wallet (EIP-712) and with the tab's libp2p key, over the same digest. */
  async sign(): Promise<void> {
    await this.task('Waiting for the wallet to sign…', async () => {
      const { account } = this.ready();
      const wire = await this.signFresh(account, this.burner ?? this.walletSigner());
      this.update({ step: 'signed', renewal: null });
      this.handOver(wire);
    });
  }

  /**
   * The swarm's renewal timer calls this shortly before the gossiped binding's deadline. The burner re-signs
   * silently; a browser wallet asks the user, and `snapshot.renewal` says why the wallet pops up. A refusal,
   * or no wallet for that account, returns null: the tab keeps training and shows as unbound after the deadline.
   */
  async renewBinding(): Promise<SignedPeerBindingWire | null> {
    const old = this.gossiped;
    if (!old) return null;
    const account = old.binding.account as Address;
    const lapseTime = new Date(Number(old.binding.deadline) * 1000).toLocaleString();
    try {
      const signer = await this.signerFor(account);
      if (!signer) {
        this.update({ renewal: { state: 'declined', message: `Your binding to ${account} lapses at ${lapseTime}: connect that wallet and sign again to stay bound. This tab keeps training; peers will show it unbound.` } });
        return null;
      }
      if (signer.kind === 'browser') this.update({ renewal: { state: 'asking', message: `Your binding lapses at ${lapseTime}: your wallet asks you to sign it again so peers keep seeing your account.` } });
      const wire = await this.signFresh(account, signer.signer);
      this.update({ renewal: { state: 'renewed', message: `Binding re-signed, valid until ${new Date(Number(wire.binding.deadline) * 1000).toLocaleString()}.` } });
      this.gossiped = wire;
      return wire;
    } catch (error) {
      const why = error instanceof WalletError && error.rejected ? 'You declined to re-sign the binding' : `The binding was not re-signed (${describe(error)})`;
      this.update({ renewal: { state: 'declined', message: `${why}: this tab keeps training, and peers show it unbound after ${lapseTime}. Sign again any time.` } });
      return null;
    }
  }

  /** who can sign for `account` now: the burner (this tab's, or the stored one after a reload) or the connected wallet */
  private async signerFor(account: Address): Promise<{ kind: 'burner' | 'browser'; signer: TypedDataSigner } | null> {
    if (this.burner && sameAddress(this.burner.address, account)) return { kind: 'burner', signer: this.burner };
    const wallet = this.snapshot.wallet;
    if (wallet?.kind === 'browser' && sameAddress(wallet.account, account)) return { kind: 'browser', signer: this.walletSigner() };
    if (wallet) return null;
    // a reloaded tab gossips its stored binding before anyone connects a wallet: the burner needs no user
    const stored = await loadBurner().catch(() => null);
    return stored && sameAddress(stored.address, account) ? { kind: 'burner', signer: stored } : null;
  }

  private walletSigner(): TypedDataSigner {
    return { signTypedData: (typed: ReturnType<typeof bindingTypedData>) => this.requireWallet().signBinding(typed) };
  }

  private async signFresh(account: Address, signer: TypedDataSigner): Promise<SignedPeerBindingWire> {
    const { client, chain, peerKey } = this;
    const peerId = this.snapshot.peerId;
    if (!client || !chain || !peerKey || !peerId) throw new WalletError('This swarm has no chain to register on.');
    const nonce = await readNonce(client, chain.coordinator, account);
    const deadline = BigInt(Math.floor(Date.now() / 1000)) + BINDING_LIFETIME_S;
    const binding = { account, peerId, swarmId: this.swarmId, nonce, deadline };
    const domain = { chainId: chain.chainId, verifyingContract: chain.coordinator };
    this.signed = await signPeerBinding({ binding, domain, wallet: signer, peerKey });
    const wire = encodeSignedBinding(this.signed);
    this.update({ signed: wire });
    // Kept so that after a reload the app can gossip the binding again without asking the wallet.
    await idbPut(`binding-${peerId}`, wire).catch(() => undefined);
    return wire;
  }

  private handOver(wire: SignedPeerBindingWire): void {
    this.gossiped = wire;
    this.options.onBinding?.(wire, this.renew);
  }

  /** Registration in a transaction from the user's own wallet (pays gas). */
  async registerOwn(): Promise<void> {
    await this.task('Sending the registration from your wallet…', async () => {
      if (this.burner) throw new WalletError('The burner wallet holds no funds; use the free, relayed registration.');
      if (!this.signed) throw new WalletError('Sign the binding first.');
      const txHash = await this.requireWallet().registerOwn(this.signed);
      this.update({ registration: { via: 'own', txHash }, step: 'registered' });
      await this.refresh();
    });
  }

  /** Registration sent by the coordinator service (gasless for the user). */
  async registerRelayed(): Promise<void> {
    await this.task('Asking the coordinator to register this tab…', async () => {
      if (!this.service) throw new WalletError('This swarm has no coordinator service to relay the registration.');
      if (!this.signed) throw new WalletError('Sign the binding first.');
      const { txHash } = await this.service.register(encodeSignedBinding(this.signed));
      this.update({ registration: { via: 'relayed', txHash }, step: 'registered' });
      await this.refresh();
    });
  }

  async revealBurnerKey(): Promise<void> {
    this.update({ burnerKey: await exportBurnerKey() });
  }

  hideBurnerKey(): void {
    this.update({ burnerKey: null });
  }

  /**
   * For the round loop: reports a reward this tab earned, signed by its peer key, for the coordinator's current
   * round and stage, or, when the service follows the swarm (verified mode), for the (round, stage) that its swarm
   * round maps to (src/identity/round-mapping.ts). Skipped when unregistered.
   */
  async reportReward(reward: number, swarmRound?: number): Promise<boolean> {
    const { chain, peerKey, service, roundStage } = this;
    const peerId = this.snapshot.peerId;
    if (!chain || !peerKey || !service || !peerId || !roundStage || !this.snapshot.boundAccount) return false;
    try {
      const slot = reportSlot(swarmRound, (await this.mapping?.get()) ?? null, roundStage);
      if (!slot) return false;
      const report = await signRewardReport({ peerId, ...slot, reward: rewardToUnits(reward) }, { chainId: chain.chainId, coordinator: chain.coordinator }, peerKey);
      await service.reportReward(report);
      return true;
    } catch (error) {
      this.update({ chainError: `reward report not accepted: ${(error as Error).message}` });
      return false;
    }
  }

  /**
   * k-of-n attestations: with a bound burner (a local key, so no prompt per round), signs what this tab re-scored
   * of its peers' batches for `round` and posts them to the service to relay. Never throws; resolves to how many.
   */
  async attestRound(round: number, batches: readonly RolloutBatch[], shape: RoundShape): Promise<number> {
    const { chain, service, burner } = this;
    const { peerId, boundAccount, wallet } = this.snapshot;
    if (!chain || !service || !burner || !peerId || wallet?.kind !== 'burner' || !boundAccount || !sameAddress(burner.address, boundAccount)) return 0;
    const domain = { chainId: chain.chainId, verifyingContract: chain.coordinator };
    const mapping = (await this.mapping?.get()) ?? null;
    return attestRound(round, batches, mapping, { shape, selfPeerId: peerId, sign: (a) => signRewardAttestation(burner, a, domain), post: (w) => service.attest(w) }).catch(() => 0);
  }

  private lastWinnersRound: bigint | null = null;

  /**
   * For the swarm game: votes for a round's winners on chain, once per coordinator round, from the bound
   * browser wallet; winners not registered are left out (the contract would revert). Never throws.
   */
  async submitWinners(winners: readonly string[]): Promise<boolean> {
    const { chain, roundStage } = this;
    const { peerId, boundAccount, wallet, leaderboard } = this.snapshot;
    const canPay = wallet?.kind === 'browser' && boundAccount !== null && sameAddress(wallet.account, boundAccount);
    const registered = new Set(leaderboard.filter((e) => e.account !== null).map((e) => e.peerId));
    const plan = planWinners({ winners, registered, chainRound: roundStage?.round ?? null, lastVoted: this.lastWinnersRound, canPay });
    if (!plan.ok || !chain || !peerId) {
      this.update({ winners: { skipped: plan.ok ? 'no chain' : plan.reason } });
      return false;
    }
    this.lastWinnersRound = plan.round;
    try {
      const txHash = await this.requireWallet().submitWinners(chain.coordinator, plan.round, plan.winners, peerId);
      this.update({ winners: { round: String(plan.round), winners: plan.winners, txHash } });
      await this.refresh();
      return true;
    } catch (error) {
      this.update({ winners: { skipped: (error as Error).message }, chainError: `winners not recorded: ${(error as Error).message}` });
      return false;
    }
  }

  /** Re-reads the chain: who this peer id is bound to, the round, the leaderboard. */
  async refresh(): Promise<void> {
    const { client, chain } = this;
    const peerId = this.snapshot.peerId;
    if (!client || !chain || !peerId) return;
    try {
      const [boundAccount, leaderboard, roundStage] = await Promise.all([
        readBoundAccount(client, chain.coordinator, peerId),
        readLeaderboard(client, chain.coordinator),
        readRoundStage(client, chain.coordinator),
      ]);
      const registered = boundAccount !== null && this.snapshot.wallet !== null && boundAccount.toLowerCase() === this.snapshot.wallet.account.toLowerCase();
      this.roundStage = roundStage;
      this.update({ boundAccount, leaderboard, round: roundStage.round.toString(), chainError: null, ...(registered ? { step: 'registered' as const } : {}) });
    } catch (error) {
      this.update({ chainError: `cannot read the chain at ${chain.rpcUrl}: ${(error as Error).message.split('\n')[0]}` });
    }
  }

  private async task(label: string, action: () => Promise<void>): Promise<void> {
    if (this.snapshot.busy) return;
    this.update({ busy: label, error: null });
    try {
      await action();
    } catch (error) {
      this.update({ error: describe(error) });
    } finally {
      this.update({ busy: null });
    }
  }

  private ready() {
    const account = this.snapshot.wallet?.account;
    const { client, chain, peerKey } = this;
    const peerId = this.snapshot.peerId;
    if (!account) throw new WalletError('Connect a wallet first.');
    if (!client || !chain || !peerKey || !peerId) throw new WalletError('This swarm has no chain to register on.');
    return { account, client, chain, peerKey, peerId };
  }

  private requireWallet(): WalletConnection {
    if (!this.wallet) throw new WalletError('This swarm has no chain to connect a wallet to.');
    return this.wallet;
  }

  private resetBinding(patch: Partial<IdentitySnapshot>): void {
    this.signed = null;
    this.update({ signed: null, registration: null, ...patch });
  }

  private update(patch: Partial<IdentitySnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function describe(error: unknown): string {
  if (error instanceof WalletError && error.rejected) return `${error.message} This tab keeps training, unregistered: its rewards are not recorded on chain.`;
  if (error instanceof Error) return error.message.split('\n')[0];
  return String(error);
}
