// Owns the identity effects of a tab: the wallet (wagmi) or burner, the tab's peer key, the binding, the
// registration and the chain reads behind the leaderboard. Components read `snapshot` and call methods; every
// failure lands in `snapshot.error` as a sentence for the user and never stops the rest of the tab.
import type { Address, Hex, PublicClient } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { PrivateKey } from '@libp2p/interface';
import type { SwarmConfig } from '../../swarm/config.ts';
import { chainClient, parseChainConfig, type SwarmChainConfig } from '../../identity/chain.ts';
import { bindingTypedData, encodeSignedBinding, signPeerBinding, type SignedPeerBinding, type SignedPeerBindingWire } from '../../identity/binding.ts';
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
import { idbGet, idbPut } from '../../identity/idb.ts';

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
}

export interface IdentityOptions {
  /** Called with each new binding, for the app to gossip it. */
  onBinding?: (signed: SignedPeerBindingWire) => void;
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
    signed: null, boundAccount: null, registration: null, relayer: false, round: null, leaderboard: [], burnerKey: null, error: null, chainError: null,
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
  private readonly cleanups: (() => void)[] = [];

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
    if (stored && stored.binding.peerId === peerId && stored.binding.account.toLowerCase() === boundAccount.toLowerCase()) this.options.onBinding?.(stored);
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
    this.resetBinding({ wallet: null, step: 'idle', burnerKey: null });
  }

  /** Signs the binding with the wallet (EIP-712) and with the tab's libp2p key, over the same digest. */
  async sign(): Promise<void> {
    await this.task('Waiting for the wallet to sign…', async () => {
      const { account, client, chain, peerKey, peerId } = this.ready();
      const nonce = await readNonce(client, chain.coordinator, account);
      const deadline = BigInt(Math.floor(Date.now() / 1000)) + BINDING_LIFETIME_S;
      const binding = { account, peerId, swarmId: this.swarmId, nonce, deadline };
      const domain = { chainId: chain.chainId, verifyingContract: chain.coordinator };
      const signer = this.burner ?? { signTypedData: (typed: ReturnType<typeof bindingTypedData>) => this.requireWallet().signBinding(typed) };
      this.signed = await signPeerBinding({ binding, domain, wallet: signer, peerKey });
      const wire = encodeSignedBinding(this.signed);
      this.update({ signed: wire, step: 'signed' });
      this.options.onBinding?.(wire);
      // Kept so that after a reload the app can gossip the binding again without asking the wallet.
      await idbPut(`binding-${peerId}`, wire).catch(() => undefined);
    });
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
   * round and stage (the chain's rounds are the stage manager's, not the gossip clock's). Skipped when unregistered.
   */
  async reportReward(reward: number): Promise<boolean> {
    const { chain, peerKey, service, roundStage } = this;
    const peerId = this.snapshot.peerId;
    if (!chain || !peerKey || !service || !peerId || !roundStage || !this.snapshot.boundAccount) return false;
    try {
      const report = await signRewardReport({ peerId, ...roundStage, reward: rewardToUnits(reward) }, { chainId: chain.chainId, coordinator: chain.coordinator }, peerKey);
      await service.reportReward(report);
      return true;
    } catch (error) {
      this.update({ chainError: `reward report not accepted: ${(error as Error).message}` });
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

function describe(error: unknown): string {
  if (error instanceof WalletError && error.rejected) return `${error.message} This tab keeps training, unregistered: its rewards are not recorded on chain.`;
  if (error instanceof Error) return error.message.split('\n')[0];
  return String(error);
}
