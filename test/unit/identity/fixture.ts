// Shared setup for the contract tests: a real anvil, the coordinator deployed, viem clients per actor.
import { BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, http, type Abi, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { startAnvil, deployCoordinator, DEV_KEYS, type LocalChain } from '../../../scripts/lib/chain.ts';
import { swarmChain } from '../../../src/identity/chain.ts';
import { swarmCoordinatorAbi } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { startCoordinatorService, type CoordinatorService, type CoordinatorServiceOptions } from '../../../relay/coordinator/service.ts';
import { peerPublicKeyForContract, signPeerBinding, type PeerBinding, type SignedPeerBinding } from '../../../src/identity/binding.ts';

export const SWARM = 'unit';

export interface Actor {
  account: PrivateKeyAccount;
  /** Calls `fn` on `address` as this actor: simulate first (so reverts decode), then send and wait. */
  call(fn: string, args: readonly unknown[], address?: Address, abi?: Abi): Promise<unknown>;
}

export interface ChainFixture {
  chain: LocalChain;
  client: PublicClient;
  coordinator: Address;
  actors: Record<keyof typeof DEV_KEYS, Actor>;
  read(fn: string, args?: readonly unknown[]): Promise<unknown>;
  now(): Promise<bigint>;
  stop(): Promise<void>;
}

export async function startChainFixture(stagesPerRound = 2): Promise<ChainFixture> {
  const chain = await startAnvil();
  try {
    const viemChain = swarmChain(chain);
    const client = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl), pollingInterval: 50 }) as PublicClient;
    const coordinator = await deployCoordinator({ rpcUrl: chain.rpcUrl, swarmId: SWARM, stagesPerRound });
    const actor = (key: Hex): Actor => {
      const account = privateKeyToAccount(key);
      const wallet = createWalletClient({ account, chain: viemChain, transport: http(chain.rpcUrl) });
      return {
        account,
        async call(fn, args, address = coordinator, abi = swarmCoordinatorAbi as Abi) {
          const { request, result } = await client.simulateContract({ account, address, abi, functionName: fn, args });
          const hash = await wallet.writeContract(request);
          const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
          if (receipt.status !== 'success') throw new Error(`${fn} mined but reverted`);
          return result;
        },
      };
    };
    const actors = Object.fromEntries(Object.entries(DEV_KEYS).map(([name, key]) => [name, actor(key)])) as ChainFixture['actors'];
    return {
      chain,
      client,
      coordinator,
      actors,
      read: (fn, args = []) => client.readContract({ address: coordinator, abi: swarmCoordinatorAbi as Abi, functionName: fn, args }),
      now: async () => (await client.getBlock()).timestamp,
      stop: () => chain.stop(),
    };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

/** The custom error name a failed call reverted with, or a description of why it did not revert. */
export async function revertName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no revert';
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName ?? `undecoded revert: ${reverted.shortMessage}`;
    return `other error: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** A fresh libp2p key: secp256k1 (what tabs make, provable on chain) unless Ed25519 is asked for (older tabs). */
export async function newPeer(type: 'secp256k1' | 'Ed25519' = 'secp256k1'): Promise<{ key: PrivateKey; peerId: string }> {
  const key = type === 'Ed25519' ? await generateKeyPair('Ed25519') : await generateKeyPair('secp256k1');
  return { key, peerId: peerIdFromPrivateKey(key).toString() };
}

export async function signedBinding(
  fx: ChainFixture,
  signer: PrivateKeyAccount,
  peer: { key: PrivateKey; peerId: string },
  overrides: Partial<PeerBinding> = {},
): Promise<SignedPeerBinding & { peerPublicKey: Hex }> {
  const account = overrides.account ?? signer.address;
  const binding: PeerBinding = {
    account,
    peerId: peer.peerId,
    swarmId: SWARM,
    nonce: (await fx.read('nonces', [account])) as bigint,
    deadline: (await fx.now()) + 3600n,
    ...overrides,
  };
  const signed = await signPeerBinding({ binding, domain: { chainId: fx.chain.chainId, verifyingContract: fx.coordinator }, wallet: signer, peerKey: peer.key });
  // The uncompressed secp256k1 key the contract needs to prove the peer signature ('0x' for Ed25519).
  return { ...signed, peerPublicKey: await peerPublicKeyForContract(signed) };
}

export function asTuple(b: PeerBinding) {
  return { account: b.account, peerId: b.peerId, swarmId: b.swarmId, nonce: b.nonce, deadline: b.deadline };
}

/**
 * The coordinator service against a fixture's chain, as the tests run it: no stage timer, batches and
 * audits only when a test flushes them (60 s timers), quiet unless a test collects the log.
 */
export function startFixtureService(fx: ChainFixture, options: Partial<CoordinatorServiceOptions> = {}): Promise<CoordinatorService> {
  return startCoordinatorService({
    rpcUrl: fx.chain.rpcUrl,
    chainId: fx.chain.chainId,
    coordinator: fx.coordinator,
    privateKey: DEV_KEYS.coordinator,
    swarmId: SWARM,
    stageMs: 0,
    batchMs: 60_000,
    auditMs: 60_000,
    log: () => undefined,
    ...options,
  });
}
