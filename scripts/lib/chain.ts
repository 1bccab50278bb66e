// The local development chain: anvil from npm `@foundry-rs/anvil` on 127.0.0.1, plus the coordinator deployment.
// Used by `npm start` (through services.ts) and by the tests. Dev keys live here, in Node-only code, never in the app.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import net from 'node:net';
import { createPublicClient, createWalletClient, getAddress, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { swarmCoordinatorAbi, swarmCoordinatorBytecode } from '../../src/identity/generated/SwarmCoordinator.ts';
import { swarmChain } from '../../src/identity/chain.ts';
import { MAX_REWARD_UNITS, REWARD_WINDOW_ROUNDS } from '../../src/identity/coordinator.ts';
import type { SwarmConfig } from '../../src/swarm/config.ts';

/** anvil's well-known accounts from its default mnemonic: public knowledge, funded only on a local anvil. */
export const DEV_KEYS = {
  deployer: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  coordinator: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  user1: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  user2: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  user3: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
} as const satisfies Record<string, Hex>;

export const LOCAL_CHAIN_ID = 31337;

export class ChainStartError extends Error {
  override name = 'ChainStartError';
}

export interface LocalChain {
  rpcUrl: string;
  chainId: number;
  stop(): Promise<void>;
}

function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', 'anvil');
  } catch {
    throw new ChainStartError(`${pkg} is not installed: anvil has no build for ${process.platform}/${process.arch} (run npm install)`);
  }
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts anvil (chain 31337, automine) on 127.0.0.1; port 0 or absent picks a free one. Ready when it answers RPC. */
export async function startAnvil(options: { port?: number; host?: string } = {}): Promise<LocalChain> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const child = spawn(anvilBinary(), ['--host', host, '--port', String(port), '--chain-id', String(LOCAL_CHAIN_ID), '--silent'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const rpcUrl = `http://${host}:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new ChainStartError(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`);
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new ChainStartError(`anvil did not answer on ${rpcUrl} within 15 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rpcUrl, chainId: LOCAL_CHAIN_ID, stop };
}

export interface DeployOptions {
  rpcUrl: string;
  chainId?: number;
  swarmId: string;
  stagesPerRound?: number;
  deployerKey?: Hex;
  /** Gets the stage-manager role (the coordinator service's account). */
  stageManager?: Address;
  /** Largest reward per report, in units (default MAX_REWARD_UNITS). */
  maxRewardPerReport?: bigint;
  /** Rounds behind the current one that still take rewards (default REWARD_WINDOW_ROUNDS). */
  rewardWindowRounds?: bigint;
}

export async function deployCoordinator(options: DeployOptions): Promise<Address> {
  const chain = swarmChain({ chainId: options.chainId ?? LOCAL_CHAIN_ID, rpcUrl: options.rpcUrl });
  const account = privateKeyToAccount(options.deployerKey ?? DEV_KEYS.deployer);
  const wallet = createWalletClient({ account, chain, transport: http(options.rpcUrl) });
  const client = createPublicClient({ chain, transport: http(options.rpcUrl) });
  const hash = await wallet.deployContract({
    abi: swarmCoordinatorAbi,
    bytecode: swarmCoordinatorBytecode,
    args: [
      options.swarmId,
      BigInt(options.stagesPerRound ?? 1),
      options.stageManager ?? privateKeyToAccount(DEV_KEYS.coordinator).address,
      options.maxRewardPerReport ?? MAX_REWARD_UNITS,
      options.rewardWindowRounds ?? REWARD_WINDOW_ROUNDS,
    ],
  });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new ChainStartError(`coordinator deployment failed (tx ${hash})`);
  return getAddress(receipt.contractAddress);
}

export interface LocalChainServices {
  /** The `chain` section of /swarm.json. */
  config: { chainId: number; rpcUrl: string; coordinator: Address; coordinatorService: string };
  stop(): Promise<void>;
}

/**
 * anvil + the deployed coordinator + the coordinator service (stage manager and gasless relayer), for `npm start`
 * and the end-to-end tests. Port 0 picks a free port.
 */
export async function startLocalChainServices(options: {
  swarmId: string;
  chainPort?: number;
  coordinatorPort?: number;
  stageMs?: number;
  /**
   * Verified rewards: the service joins this swarm's gossip and puts on chain only what it re-scores itself,
   * its stages following the swarm clock (relay/coordinator/verified-service.ts). Needs a global WebSocket.
   */
  follow?: SwarmConfig;
}): Promise<LocalChainServices> {
  const chain = await startAnvil({ port: options.chainPort ?? 8545 });
  let stopFollowing: () => Promise<void> = async () => undefined;
  try {
    const coordinator = await deployCoordinator({ rpcUrl: chain.rpcUrl, swarmId: options.swarmId, stagesPerRound: 1 });
    // Imported lazily so scripts that only need anvil do not load the HTTP service.
    const { startCoordinatorService } = await import('../../relay/coordinator/service.ts');
    const common = { rpcUrl: chain.rpcUrl, chainId: chain.chainId, coordinator, privateKey: DEV_KEYS.coordinator, swarmId: options.swarmId, port: options.coordinatorPort ?? 9091 };
    let service;
    if (options.follow) {
      const { followSwarm } = await import('../../relay/coordinator/follower.ts');
      const { startVerifiedCoordinatorService } = await import('../../relay/coordinator/verified-service.ts');
      const seat = await followSwarm(options.follow);
      stopFollowing = seat.stop;
      service = await startVerifiedCoordinatorService({ ...common, source: seat.source, shape: seat.shape });
    } else {
      service = await startCoordinatorService({ ...common, stageMs: options.stageMs ?? 20_000 });
    }
    return {
      config: { chainId: chain.chainId, rpcUrl: chain.rpcUrl, coordinator, coordinatorService: service.url },
      async stop() {
        await service.stop();
        await stopFollowing();
        await chain.stop();
      },
    };
  } catch (error) {
    await stopFollowing();
    await chain.stop();
    throw error;
  }
}
