// The coordinator service: the swarm's stage manager and gasless relayer, an HTTP server on 127.0.0.1.
//   GET  /health     -> round, stage, relayer account
//   POST /register   -> a dual-signed binding (wire form); both signatures checked here, then registerPeerWithSig
//   POST /rewards    -> a peer-key-signed reward report; queued and sent in batches (submitRewardsFor)
// It also advances the stage on a timer and audits registrations that bypassed it (sent by the account itself):
// those whose peer signature is not the peer id's are revoked, so nobody keeps a peer id they cannot sign for.
import http from 'node:http';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  http as httpTransport,
  isAddressEqual,
  parseEventLogs,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { swarmCoordinatorAbi } from '../../src/identity/generated/SwarmCoordinator.ts';
import { swarmChain } from '../../src/identity/chain.ts';
import { peerSignatureProblem, verifyPeerBinding } from '../../src/identity/binding.ts';
import { verifyRewardReport, type RewardReport } from '../../src/identity/coordinator.ts';
import { RateLimiter } from './rate-limit.ts';

export interface CoordinatorServiceOptions {
  rpcUrl: string;
  chainId: number;
  coordinator: Address;
  /** Key of the stage-manager account that pays for relayed transactions. */
  privateKey: Hex;
  swarmId: string;
  host?: string;
  port?: number;
  /** Milliseconds between stage advances; 0 leaves stages to someone else. */
  stageMs?: number;
  /** Milliseconds between reward batches. */
  batchMs?: number;
  /** Milliseconds between audits of registrations made without the relayer. */
  auditMs?: number;
  log?: (line: string) => void;
}

export interface CoordinatorService {
  url: string;
  relayer: Address;
  /** Sends queued rewards now; resolves to how many reports were in the sent batches. */
  flushRewards(): Promise<number>;
  advanceStage(): Promise<{ round: bigint; stage: bigint }>;
  /** Checks registrations since the last audit; resolves to the peer ids it revoked. */
  auditRegistrations(): Promise<string[]>;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024;
const MAX_QUEUE = 10_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function revertName(error: unknown): string | null {
  const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  return reverted instanceof ContractFunctionRevertedError ? (reverted.data?.errorName ?? 'reverted') : null;
}

export async function startCoordinatorService(options: CoordinatorServiceOptions): Promise<CoordinatorService> {
  const log = options.log ?? ((line: string) => console.error(`coordinator: ${line}`));
  const chain = swarmChain(options);
  const account = privateKeyToAccount(options.privateKey);
  const client = createPublicClient({ chain, transport: httpTransport(options.rpcUrl), pollingInterval: 100 }) as PublicClient;
  const wallet = createWalletClient({ account, chain, transport: httpTransport(options.rpcUrl) });
  const address = options.coordinator;
  const ctx = { chainId: options.chainId, coordinator: address };

  // One transaction at a time from the relayer account, so nonces never collide.
  let txChain: Promise<unknown> = Promise.resolve();
  function send(functionName: string, args: readonly unknown[]): Promise<{ hash: Hex; result: unknown }> {
    const job = txChain.then(async () => {
      const { request, result } = await client.simulateContract({ account, address, abi: swarmCoordinatorAbi, functionName: functionName as never, args: args as never });
      const hash = await wallet.writeContract(request as never);
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`${functionName} transaction ${hash} reverted`);
      return { hash, result };
    });
    txChain = job.catch(() => undefined);
    return job;
  }

  const registerLimit = { ip: new RateLimiter(20, 20), account: new RateLimiter(3, 6) };
  const rewardLimit = { ip: new RateLimiter(600, 600), peer: new RateLimiter(10, 20) };
  const registered = new Map<string, number>(); // peer id -> when the chain last confirmed its binding
  const queue = new Map<string, RewardReport>(); // "round/stage/peer" -> report
  let current = await readRoundStage();

  async function readRoundStage() {
    const [round, stage] = await Promise.all([
      client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'currentRound' }),
      client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'currentStage' }),
    ]);
    return { round, stage };
  }

  async function handleRegister(body: unknown, ip: string) {
    if (!registerLimit.ip.take(ip)) throw new HttpError(429, 'rate-limited', 'too many registrations from this address; wait a minute');
    const verdict = await verifyPeerBinding(body, { expected: { swarmId: options.swarmId, chainId: options.chainId, verifyingContract: address }, now: Date.now() / 1000, client });
    if (!verdict.ok) throw new HttpError(400, 'invalid-binding', verdict.reason);
    if (!registerLimit.account.take(verdict.account.toLowerCase())) throw new HttpError(429, 'rate-limited', 'too many registrations for this account; wait a minute');
    const { binding, walletSignature, peerSignature } = body as { binding: Record<string, string>; walletSignature: Hex; peerSignature: Hex };
    const tuple = { account: verdict.account, peerId: verdict.peerId, swarmId: binding.swarmId, nonce: BigInt(binding.nonce), deadline: BigInt(binding.deadline) };
    try {
      const { hash } = await send('registerPeerWithSig', [tuple, walletSignature, peerSignature]);
      registered.set(verdict.peerId, Date.now());
      log(`registered ${verdict.peerId} -> ${verdict.account} (${hash})`);
      return { txHash: hash, account: verdict.account, peerId: verdict.peerId };
    } catch (error) {
      const name = revertName(error);
      if (name) throw new HttpError(409, name, `the contract refused the registration: ${name}`);
      throw error;
    }
  }

  async function isRegistered(peerId: string): Promise<boolean> {
    const seen = registered.get(peerId);
    if (seen !== undefined && Date.now() - seen < 60_000) return true;
    const bound = await client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'accountOf', args: [peerId] });
    if (isAddressEqual(bound, '0x0000000000000000000000000000000000000000')) return false;
    registered.set(peerId, Date.now());
    return true;
  }

  async function handleReward(body: unknown, ip: string) {
    if (!rewardLimit.ip.take(ip)) throw new HttpError(429, 'rate-limited', 'too many reports from this address');
    const verdict = await verifyRewardReport(body, ctx);
    if (!verdict.ok) throw new HttpError(400, 'invalid-report', verdict.reason);
    const { report } = verdict;
    if (!rewardLimit.peer.take(report.peerId)) throw new HttpError(429, 'rate-limited', 'too many reports for this peer id');
    if (!(await isRegistered(report.peerId))) throw new HttpError(404, 'not-registered', 'this peer id is not registered on the coordinator');
    const { round, stage } = current;
    if (report.round > round || (report.round === round && report.stage > stage)) throw new HttpError(409, 'round-not-open', `round ${report.round} stage ${report.stage} has not started`);
    if (queue.size >= MAX_QUEUE) throw new HttpError(503, 'busy', 'reward queue is full; retry later');
    queue.set(`${report.round}/${report.stage}/${report.peerId}`, report);
    return { queued: true };
  }

  let flushing: Promise<number> | null = null;
  async function flushRewards(): Promise<number> {
    if (flushing) await flushing.catch(() => undefined);
    const batch = [...queue.values()];
    queue.clear();
    const groups = new Map<string, RewardReport[]>();
    for (const r of batch) groups.set(`${r.round}/${r.stage}`, [...(groups.get(`${r.round}/${r.stage}`) ?? []), r]);
    flushing = (async () => {
      let sent = 0;
      for (const group of groups.values()) {
        for (let i = 0; i < group.length; i += 256) {
          const chunk = group.slice(i, i + 256);
          try {
            const { result } = await send('submitRewardsFor', [chunk[0].round, chunk[0].stage, chunk.map((r) => r.peerId), chunk.map((r) => r.reward)]);
            sent += chunk.length;
            log(`submitted ${String(result)} of ${chunk.length} rewards for round ${chunk[0].round} stage ${chunk[0].stage}`);
          } catch (error) {
            // Reports are idempotent on chain (one per round/stage/peer), so a tab may simply send again.
            log(`reward batch failed (${revertName(error) ?? (error as Error).message.split('\n')[0]}); dropped ${chunk.length} reports`);
          }
        }
      }
      return sent;
    })();
    return flushing;
  }

  async function advanceStage() {
    const { result } = await send('advanceStage', []);
    const [round, stage] = result as [bigint, bigint];
    current = { round, stage };
    return current;
  }

  // viem caches the block number for a polling interval; an audit right after a registration must see its block.
  let auditFrom = await client.getBlockNumber({ cacheTime: 0 });
  async function auditRegistrations(): Promise<string[]> {
    const to = await client.getBlockNumber({ cacheTime: 0 });
    if (to < auditFrom) return [];
    const logs = parseEventLogs({
      abi: swarmCoordinatorAbi,
      eventName: 'PeerRegistered',
      logs: await client.getLogs({ address, fromBlock: auditFrom, toBlock: to }),
    });
    auditFrom = to + 1n;
    const revoked: string[] = [];
    for (const { args } of logs) {
      if (isAddressEqual(args.submitter, account.address)) continue; // relayed: already checked before sending
      const binding = { account: args.account, peerId: args.peerId, swarmId: options.swarmId, nonce: args.nonce, deadline: args.deadline };
      const problem = await peerSignatureProblem({ binding, domain: { chainId: options.chainId, verifyingContract: address }, peerSignature: args.peerSignature }).catch(
        (error: Error) => `unverifiable: ${error.message}`,
      );
      if (!problem) continue;
      try {
        await send('revokePeer', [args.peerId]);
        revoked.push(args.peerId);
        log(`revoked ${args.peerId} bound to ${args.account}: ${problem}`);
      } catch (error) {
        log(`could not revoke ${args.peerId}: ${revertName(error) ?? (error as Error).message.split('\n')[0]}`);
      }
    }
    return revoked;
  }

  const server = http.createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type');
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(payload));
    };
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const ip = req.socket.remoteAddress ?? 'unknown';
    if (req.method === 'GET' && path === '/health') {
      return reply(200, { ok: true, swarmId: options.swarmId, chainId: options.chainId, coordinator: address, relayer: account.address, round: current.round.toString(), stage: current.stage.toString() });
    }
    const handler = req.method === 'POST' && path === '/register' ? handleRegister : req.method === 'POST' && path === '/rewards' ? handleReward : null;
    if (!handler) return reply(404, { error: 'not-found', reason: `no route ${req.method} ${path}` });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, { error: 'too-large', reason: `request body over ${MAX_BODY_BYTES} bytes` });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, { error: 'bad-json', reason: 'request body is not JSON' });
      }
      handler(body, ip).then(
        (payload) => reply(200, payload),
        (error: unknown) => {
          if (error instanceof HttpError) return reply(error.status, { error: error.code, reason: error.reason });
          log(`${path} failed: ${(error as Error).message.split('\n')[0]}`);
          reply(502, { error: 'chain-error', reason: 'the chain did not accept the transaction; try again' });
        },
      );
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', ok);
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : 0;

  const timers: ReturnType<typeof setInterval>[] = [];
  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    let busy = false;
    timers.push(
      setInterval(() => {
        if (busy) return;
        busy = true;
        fn()
          .catch((error: Error) => log(`${what} failed: ${error.message.split('\n')[0]}`))
          .finally(() => (busy = false));
      }, ms),
    );
  };
  if (options.stageMs) every(options.stageMs, 'advancing the stage', advanceStage);
  every(options.batchMs ?? 2_000, 'sending rewards', () => (queue.size ? flushRewards() : Promise.resolve(0)));
  every(options.auditMs ?? 5_000, 'auditing registrations', auditRegistrations);

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    relayer: account.address,
    flushRewards,
    advanceStage,
    auditRegistrations,
    async stop() {
      for (const t of timers) clearInterval(t);
      await new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      });
      await txChain;
    },
  };
}
