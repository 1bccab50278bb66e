// Browser wallets through wagmi core: the `injected()` connector plus EIP-6963 discovery (one entry per wallet,
// however many ways it announces itself), switching to — or adding — the swarm's chain, signing the binding and
// sending the registration transaction from the user's own account.
import {
  connect,
  createConfig,
  disconnect,
  getConnectors,
  injected,
  signTypedData,
  switchChain,
  waitForTransactionReceipt,
  watchConnectors,
  writeContract,
  http,
  type Config,
  type Connector,
} from '@wagmi/core';
import { BaseError, webSocket, type Address, type Hex } from 'viem';
import { swarmChain, type SwarmChainConfig } from './chain.ts';
import { bindingTypedData, peerPublicKeyForContract, type SignedPeerBinding } from './binding.ts';
import { swarmCoordinatorAbi } from './generated/SwarmCoordinator.ts';

export interface WalletOption {
  id: string;
  name: string;
  icon?: string;
  /** EIP-6963 reverse-DNS id; absent for the generic window.ethereum entry */
  rdns?: string;
}

export class WalletError extends Error {
  override name = 'WalletError';
  constructor(
    message: string,
    /** the user said no in the wallet: not a fault, the tab just stays unregistered */
    readonly rejected = false,
  ) {
    super(message);
  }
}

interface ConnectorLike {
  id: string;
  name: string;
  icon?: string | undefined;
  rdns?: string | readonly string[] | undefined;
}

/**
 * One entry per wallet. EIP-6963 announcements win; the generic `injected` entry (window.ethereum) is listed
 * only when nothing announced itself, since a wallet that announces is almost always also window.ethereum.
 */
export function dedupeWallets(connectors: readonly ConnectorLike[], hasWindowEthereum: boolean): WalletOption[] {
  const options: WalletOption[] = [];
  const seen = new Set<string>();
  for (const c of connectors) {
    // wagmi makes EIP-6963 connectors with id = the announced rdns (and no rdns field); wallet-specific
    // connectors carry an rdns field instead.
    const rdns = (typeof c.rdns === 'string' ? c.rdns : c.rdns?.[0]) ?? (c.id !== 'injected' && c.id.includes('.') ? c.id : undefined);
    if (!rdns) continue;
    const key = rdns.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    options.push({ id: c.id, name: c.name, rdns, ...(c.icon ? { icon: c.icon } : {}) });
  }
  const generic = connectors.find((c) => c.id === 'injected');
  if (options.length === 0 && generic && hasWindowEthereum) options.push({ id: generic.id, name: generic.name === 'Injected' ? 'Browser wallet' : generic.name });
  return options;
}

/** True when a wallet error means the user declined (EIP-1193 code 4001), not that something broke. */
export function isUserRejection(error: unknown): boolean {
  if (error instanceof BaseError) {
    return error.walk((e) => (e as { code?: number }).code === 4001 || (e as Error).name === 'UserRejectedRequestError') !== null;
  }
  return (error as { code?: number } | null)?.code === 4001;
}

function walletError(action: string, error: unknown): WalletError {
  if (isUserRejection(error)) return new WalletError(`The wallet declined to ${action}.`, true);
  const short = error instanceof BaseError ? error.shortMessage : (error as Error)?.message ?? String(error);
  return new WalletError(`Could not ${action}: ${short}`);
}

export class WalletConnection {
  readonly config: Config;
  private connector: Connector | null = null;
  account: Address | null = null;

  constructor(readonly chain: SwarmChainConfig) {
    const viemChain = swarmChain(chain);
    this.config = createConfig({
      chains: [viemChain],
      connectors: [injected()],
      multiInjectedProviderDiscovery: true,
      // Nothing about the wallet is remembered between visits; the user connects on purpose each time.
      storage: null,
      transports: { [viemChain.id]: chain.rpcUrl.startsWith('ws') ? webSocket(chain.rpcUrl) : http(chain.rpcUrl) },
    });
  }

  wallets(): WalletOption[] {
    return dedupeWallets(getConnectors(this.config), typeof window !== 'undefined' && 'ethereum' in window && Boolean((window as { ethereum?: unknown }).ethereum));
  }

  /** Calls back whenever wallets announce themselves (EIP-6963 arrives asynchronously). */
  onWallets(callback: (wallets: WalletOption[]) => void): () => void {
    return watchConnectors(this.config, { onChange: () => callback(this.wallets()) });
  }

  async connect(walletId: string): Promise<Address> {
    const connector = getConnectors(this.config).find((c) => c.id === walletId);
    if (!connector) throw new WalletError(`No wallet "${walletId}" in this browser.`);
    let accounts: readonly Address[];
    try {
      ({ accounts } = await connect(this.config, { connector }));
    } catch (error) {
      throw walletError('connect', error);
    }
    if (!accounts[0]) throw new WalletError('The wallet connected but shared no account.');
    this.connector = connector;
    this.account = accounts[0];
    await this.ensureChain();
    return this.account;
  }

  /** Switches the wallet to the swarm's chain, asking it to add the chain when it does not know it. */
  async ensureChain(): Promise<void> {
    if (!this.connector) throw new WalletError('No wallet is connected.');
    if ((await this.connector.getChainId()) === this.chain.chainId) return;
    const viemChain = swarmChain(this.chain);
    try {
      await switchChain(this.config, {
        chainId: this.chain.chainId,
        connector: this.connector,
        addEthereumChainParameter: { chainName: viemChain.name, nativeCurrency: viemChain.nativeCurrency, rpcUrls: [this.chain.rpcUrl] },
      });
    } catch (error) {
      throw walletError(`switch to chain ${this.chain.chainId}`, error);
    }
  }

  async signBinding(typed: ReturnType<typeof bindingTypedData>): Promise<Hex> {
    if (!this.connector || !this.account) throw new WalletError('No wallet is connected.');
    try {
      return await signTypedData(this.config, { ...typed, account: this.account, connector: this.connector });
    } catch (error) {
      throw walletError('sign the binding', error);
    }
  }

  /**
   * Registration paid by the user's own account: `registerPeer` needs no wallet signature, only the sender, and
   * proves the peer key on chain, so it takes secp256k1 peer ids only (an Ed25519 tab registers through the relayer).
   */
  async registerOwn(signed: SignedPeerBinding): Promise<Hex> {
    if (!this.connector || !this.account) throw new WalletError('No wallet is connected.');
    const peerPublicKey = await peerPublicKeyForContract(signed);
    if (peerPublicKey === '0x') throw new WalletError('This tab has an Ed25519 peer key, which the contract cannot check: register through the coordinator service instead.');
    await this.ensureChain();
    let hash: Hex;
    try {
      hash = await writeContract(this.config, {
        address: signed.domain.verifyingContract,
        abi: swarmCoordinatorAbi,
        functionName: 'registerPeer',
        args: [signed.binding, signed.peerSignature, peerPublicKey],
        account: this.account,
        connector: this.connector,
        chainId: this.chain.chainId,
      });
    } catch (error) {
      throw walletError('send the registration', error);
    }
    const receipt = await waitForTransactionReceipt(this.config, { hash, chainId: this.chain.chainId });
    if (receipt.status !== 'success') throw new WalletError(`The registration transaction ${hash} reverted.`);
    return hash;
  }

  /** The game's vote for a round's winners, paid by the connected account (the contract takes one per account per round). */
  async submitWinners(coordinator: Address, round: bigint, winners: string[], peerId: string): Promise<Hex> {
    if (!this.connector || !this.account) throw new WalletError('No wallet is connected.');
    await this.ensureChain();
    let hash: Hex;
    try {
      hash = await writeContract(this.config, {
        address: coordinator,
        abi: swarmCoordinatorAbi,
        functionName: 'submitWinners',
        args: [round, winners, peerId],
        account: this.account,
        connector: this.connector,
        chainId: this.chain.chainId,
      });
    } catch (error) {
      throw walletError('send the winners', error);
    }
    const receipt = await waitForTransactionReceipt(this.config, { hash, chainId: this.chain.chainId });
    if (receipt.status !== 'success') throw new WalletError(`The winners transaction ${hash} reverted.`);
    return hash;
  }

  async disconnect(): Promise<void> {
    if (this.connector) await disconnect(this.config, { connector: this.connector }).catch(() => undefined);
    this.connector = null;
    this.account = null;
  }
}
