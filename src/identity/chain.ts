// The swarm's chain as viem sees it, built from configuration only: any EVM RPC URL and coordinator address work.
import { createPublicClient, defineChain, http, isAddress, webSocket, type Address, type Chain, type PublicClient } from 'viem';

export interface SwarmChainConfig {
  chainId: number;
  rpcUrl: string;
  coordinator: Address;
  /** HTTP endpoint of the coordinator service (relayed registration, reward reports); absent = no relayer. */
  coordinatorService?: string;
}

export class ChainConfigError extends Error {
  override name = 'ChainConfigError';
}

/** Validates a `chain` section from /swarm.json (or a URL); throws ChainConfigError with the bad field. */
export function parseChainConfig(value: unknown): SwarmChainConfig {
  if (typeof value !== 'object' || value === null) throw new ChainConfigError('chain config must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.chainId !== 'number' || !Number.isSafeInteger(v.chainId) || v.chainId <= 0) throw new ChainConfigError('chain.chainId must be a positive integer');
  if (typeof v.rpcUrl !== 'string' || !/^(https?|wss?):\/\/\S{1,500}$/.test(v.rpcUrl)) throw new ChainConfigError('chain.rpcUrl must be an http(s) or ws(s) URL');
  if (typeof v.coordinator !== 'string' || !isAddress(v.coordinator, { strict: false })) throw new ChainConfigError('chain.coordinator must be a contract address');
  if (v.coordinatorService !== undefined && (typeof v.coordinatorService !== 'string' || !/^https?:\/\//.test(v.coordinatorService))) {
    throw new ChainConfigError('chain.coordinatorService must be an http(s) URL');
  }
  return {
    chainId: v.chainId,
    rpcUrl: v.rpcUrl,
    coordinator: v.coordinator as Address,
    ...(typeof v.coordinatorService === 'string' ? { coordinatorService: v.coordinatorService.replace(/\/$/, '') } : {}),
  };
}

export function swarmChain(config: Pick<SwarmChainConfig, 'chainId' | 'rpcUrl'>): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainId === 31337 ? 'tabswarm local chain' : `tabswarm chain ${config.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}

/** A read-only client for the swarm's chain: leaderboard reads, and ERC-1271 checks in `verifyPeerBinding`. */
export function chainClient(config: Pick<SwarmChainConfig, 'chainId' | 'rpcUrl'>): PublicClient {
  const transport = /^wss?:/.test(config.rpcUrl) ? webSocket(config.rpcUrl) : http(config.rpcUrl);
  return createPublicClient({ chain: swarmChain(config), transport }) as PublicClient;
}
