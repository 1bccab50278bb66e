// The coordinator service: the swarm's stage manager and gasless relayer, an HTTP server on 127.0.0.1.
//   GET  /health     -> round, stage, relayer account
//   POST /register   -> a dual-signed binding (wire form); both signatures checked here, then registerPeerWithSig
//   POST /rewards    -> a peer-key-signed reward report; queued and sent in batches (submitRewardsFor)
//   POST /attestations -> a registered wallet's signed RewardAttestation; pooled, and sent once k agree
//                       (submitAttestedRewards, where the contract checks every signature: relayed, not trusted)
// It also advances the stage on a timer and audits registrations that bypassed it (sent by the account itself):
// those whose peer signature is not the peer id's are revoked, so nobody keeps a peer id they cannot sign for
// (the contract now proves secp256k1 peer keys itself; the audit stays as a second line).
// Every limit is per caller identity (account, peer id, bound account), with a per-IP bucket only as a generous
// backstop: behind a TLS proxy every caller has the proxy's IP. A failed reward batch is retried with backoff.
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
  type Log,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { swarmCoordinatorAbi } from '../../src/identity/generated/SwarmCoordinator.ts';
import { swarmChain } from '../../src/identity/chain.ts';
import { peerPublicKeyForContract, peerSignatureProblem, verifyPeerBinding } from '../../src/identity/binding.ts';
import { REWARD_SKIP_REASONS, verifyRewardReport, type RewardReport } from '../../src/identity/coordinator.ts';
import { RateLimiter } from './rate-limit.ts';
import { requestPath } from './http-input.ts';
import { AttestationRelay } from './attestations.ts';

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
  /** A failed reward batch is tried again this many times in all, waiting baseMs, 2 baseMs, 4 baseMs… between. */
  retry?: { attempts?: number; baseMs?: number };
  /**
   * Rewards the chain can trust: the reward this service re-scored itself from the peer's gossiped rollouts
   * for (round, stage), or null when it holds none. With it, a report that disagrees, or one it cannot
   * re-score, is refused with the reason, and only re-scored values are queued. Without it (no gossip
   * re-scorer attached) reports are taken as signed, within the bounds.
   */
  rescored?: (report: RewardReport) => Promise<Rescore> | Rescore;
  /**
   * The service puts its own re-scored values on chain (relay/coordinator/verified.ts): a report that agrees is
   * answered and not queued, since it adds nothing to what the service submits itself.
   */
  submitsOwnRewards?: boolean;
  /** Called with every refused reward report (peer id, what it concerned, why). */
  onRefusal?: (peerId: string, what: string, reason: string) => void;
  /** Extra state shown at GET /health (the swarm-round mapping) and GET /refusals. */
  describe?: () => { mapping?: unknown; refusals?: unknown[] };
  /** Limits per caller; tests lower them. Each is [burst, per minute]. */
  limits?: Partial<Record<LimitName, [number, number]>>;
  log?: (line: string) => void;
}

/** A re-scored reward in units; null or a reason when there is none. */
export type Rescore = bigint | null | { reason: string };

/** A report agrees with the re-score within this many units: the tab rounds a float mean, the service an integer sum. */
export const REPORT_TOLERANCE_UNITS = 1n;

type LimitName = 'registerIp' | 'registerAccount' | 'registerPeer' | 'rewardIp' | 'rewardPeer' | 'rewardAccount';
const DEFAULT_LIMITS: Record<LimitName, [number, number]> = {
  registerIp: [120, 120],
  registerAccount: [3, 6],
  registerPeer: [2, 4],
  rewardIp: [3000, 3000],
  // an honest tab reports once per stage (20 s by default): 10 in a burst and 20 a minute leave room for retries
  rewardPeer: [10, 20],
  // one account may run a few tabs; a farm of fresh peer ids under one account cannot multiply its budget
  rewardAccount: [40, 80],
};

export interface CoordinatorService {
  url: string;
  relayer: Address;
  /** Sends queued rewards and due retries now; resolves to how many reports were in the batches that went through. */
  flushRewards(): Promise<number>;
  /** Batches that failed and wait for another try. */
  pendingBatches(): number;
  advanceStage(): Promise<{ round: bigint; stage: bigint }>;
  readRoundStage(): Promise<{ round: bigint; stage: bigint }>;
  /** Sends one batch of rewards for (round, stage) now, retried like any batch; false when it did not go through. */
  submitRewards(round: bigint, stage: bigint, reports: RewardReport[]): Promise<boolean>;
  /** The round's winners from verified scores (submitRoundWinners); false when the chain refused them. */
  submitRoundWinners(round: bigint, winners: string[]): Promise<boolean>;
  /** Sends the pooled attestations that reached the contract's quorum; resolves to how many rewards were recorded. */
  flushAttestations(): Promise<number>;
  /** Whether the peer id has a live binding on chain (cached for a minute). */
  isRegistered(peerId: string): Promise<boolean>;
  maxRewardPerReport: bigint;
  rewardWindowRounds: bigint;
  stagesPerRound: number;
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
  function send(functionName: string, args: readonly unknown[]): Promise<{ hash: Hex; result: unknown; logs: Log[] }> {
    const job = txChain.then(async () => {
      const { request, result } = await client.simulateContract({ account, address, abi: swarmCoordinatorAbi, functionName: functionName as never, args: args as never });
      const hash = await wallet.writeContract(request as never);
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`${functionName} transaction ${hash} reverted`);
      return { hash, result, logs: receipt.logs };
    });
    txChain = job.catch(() => undefined);
    return job;
  }

  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const limiter = (name: LimitName) => new RateLimiter(...limits[name]);
  const registerLimit = { ip: limiter('registerIp'), account: limiter('registerAccount'), peer: limiter('registerPeer') };
  const rewardLimit = { ip: limiter('rewardIp'), peer: limiter('rewardPeer'), account: limiter('rewardAccount') };
  const registered = new Map<string, { account: Address; at: number }>(); // peer id -> its bound account, when last read
  const queue = new Map<string, RewardReport>(); // "round/stage/peer" -> report
  const window = await client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'rewardWindowRounds' });
  const maxReward = await client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'maxRewardPerReport' });
  const stagesPerRound = await client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'stagesPerRound' });
  const retryAttempts = Math.max(1, options.retry?.attempts ?? 5);
  const retryBaseMs = options.retry?.baseMs ?? 2_000;
  interface Batch {
    round: bigint;
    stage: bigint;
    reports: RewardReport[];
    attempts: number;
    nextAt: number;
  }
  const pending: Batch[] = [];
  /** verified mode: self-reports that matched the re-score (shown at /health) */
  let agreedReports = 0;
  const MAX_PENDING = 64;
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
    if (!registerLimit.peer.take(verdict.peerId)) throw new HttpError(429, 'rate-limited', 'too many registrations for this peer id; wait a minute');
    const { binding, walletSignature, peerSignature } = body as { binding: Record<string, string>; walletSignature: Hex; peerSignature: Hex };
    const tuple = { account: verdict.account, peerId: verdict.peerId, swarmId: binding.swarmId, nonce: BigInt(binding.nonce), deadline: BigInt(binding.deadline) };
    const peerPublicKey = await peerPublicKeyForContract({ binding: tuple, domain: { chainId: options.chainId, verifyingContract: address }, peerSignature });
    try {
      const { hash } = await send('registerPeerWithSig', [tuple, walletSignature, peerSignature, peerPublicKey]);
      registered.set(verdict.peerId, { account: verdict.account, at: Date.now() });
      log(`registered ${verdict.peerId} -> ${verdict.account} (${hash})`);
      return { txHash: hash, account: verdict.account, peerId: verdict.peerId };
    } catch (error) {
      const name = revertName(error);
      if (name) throw new HttpError(409, name, `the contract refused the registration: ${name}`);
      throw error;
    }
  }

  /** The account a peer id is bound to on chain (cached for a minute), or null. */
  async function boundAccount(peerId: string): Promise<Address | null> {
    const seen = registered.get(peerId);
    if (seen !== undefined && Date.now() - seen.at < 60_000) return seen.account;
    const bound = await client.readContract({ address, abi: swarmCoordinatorAbi, functionName: 'accountOf', args: [peerId] });
    if (isAddressEqual(bound, '0x0000000000000000000000000000000000000000')) return null;
    if (registered.size >= MAX_QUEUE) registered.clear(); // a cache: forgetting costs one read
    registered.set(peerId, { account: bound, at: Date.now() });
    return bound;
  }

  async function handleReward(body: unknown, ip: string) {
    if (!rewardLimit.ip.take(ip)) throw new HttpError(429, 'rate-limited', 'too many reports from this address');
    const verdict = await verifyRewardReport(body, ctx);
    if (!verdict.ok) throw new HttpError(400, 'invalid-report', verdict.reason);
    const { report } = verdict;
    if (!rewardLimit.peer.take(report.peerId)) throw new HttpError(429, 'rate-limited', 'too many reports for this peer id');
    const bound = await boundAccount(report.peerId);
    if (!bound) throw new HttpError(404, 'not-registered', 'this peer id is not registered on the coordinator');
    if (!rewardLimit.account.take(bound.toLowerCase())) throw new HttpError(429, 'rate-limited', 'too many reports for the account this peer id is bound to');
    if (report.reward > maxReward) throw new HttpError(400, 'reward-too-large', `a report carries at most ${maxReward} units`);
    const { round, stage } = current;
    if (report.round > round || (report.round === round && report.stage > stage)) throw new HttpError(409, 'round-not-open', `round ${report.round} stage ${report.stage} has not started`);
    if (report.round + window < round) throw new HttpError(410, 'round-closed', `rewards are taken for rounds ${round - window} to ${round} only`);
    if (options.rescored) {
      const expected = await options.rescored(report);
      const refuse = (code: string, reason: string) => {
        options.onRefusal?.(report.peerId, `report for round ${report.round} stage ${report.stage}`, reason);
        log(`refused the report of ${report.peerId} for round ${report.round} stage ${report.stage}: ${reason}`);
        return new HttpError(409, code, reason);
      };
      if (expected === null) throw refuse('not-rescored', `no gossiped rollouts of this peer for round ${report.round} stage ${report.stage} were re-scored here`);
      if (typeof expected === 'object') throw refuse('not-rescored', expected.reason);
      const gap = expected > report.reward ? expected - report.reward : report.reward - expected;
      if (gap > REPORT_TOLERANCE_UNITS) throw refuse('disagrees-with-rescore', `reported ${report.reward} units, the rollouts re-score to ${expected}`);
      if (options.submitsOwnRewards) {
        agreedReports += 1;
        return { queued: false, agreed: true, rescored: expected.toString() };
      }
    }
    if (queue.size >= MAX_QUEUE) throw new HttpError(503, 'busy', 'reward queue is full; retry later');
    queue.set(`${report.round}/${report.stage}/${report.peerId}`, report);
    return { queued: true };
  }

  const relay = new AttestationRelay({
    client, address, chainId: options.chainId, maxReward, maxEntries: MAX_QUEUE, boundAccount, log,
    submit: async (round, stage, entries) => Number((await send('submitAttestedRewards', [round, stage, entries])).result),
    describeError: (error) => revertName(error) ?? (error as Error).message.split('\n')[0],
  });

  async function handleAttestation(body: unknown, ip: string) {
    if (!rewardLimit.ip.take(ip)) throw new HttpError(429, 'rate-limited', 'too many attestations from this address');
    const { round } = current;
    const claimed = typeof body === 'object' && body !== null && typeof (body as { round?: unknown }).round === 'string' && /^[0-9]{1,20}$/.test((body as { round: string }).round) ? BigInt((body as { round: string }).round) : null;
    if (claimed !== null && (claimed > round || claimed + window < round)) throw new HttpError(409, 'round-not-open', `attestations are taken for rounds ${round > window ? round - window : 0n} to ${round} only`);
    const verdict = await relay.pool.add(body);
    if (!verdict.ok) throw new HttpError(400, 'invalid-attestation', verdict.reason);
    return { pooled: true, signer: verdict.signer, signers: verdict.signers };
  }

  const flushAttestations = () => relay.flush(current.round > window ? current.round - window : 0n);

  /** Reverts that no retry can cure: the batch is dropped at once. */
  const PERMANENT = new Set(['RoundClosed', 'BatchTooLarge', 'LengthMismatch', 'RoundNotOpen']);

  async function sendBatch(batch: Batch): Promise<boolean> {
    const { round, stage, reports } = batch;
    try {
      const { result, logs } = await send('submitRewardsFor', [round, stage, reports.map((r) => r.peerId), reports.map((r) => r.reward)]);
      const skipped = parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'RewardSkipped', logs });
      const reasons = skipped.map((l) => `${l.args.peerId}: ${REWARD_SKIP_REASONS[l.args.reason] ?? l.args.reason}`);
      log(`submitted ${String(result)} of ${reports.length} rewards for round ${round} stage ${stage}${reasons.length ? `; skipped ${reasons.join(', ')}` : ''}`);
      return true;
    } catch (error) {
      const name = revertName(error);
      batch.attempts += 1;
      const why = name ?? (error as Error).message.split('\n')[0];
      if ((name && PERMANENT.has(name)) || batch.attempts >= retryAttempts) {
        log(`reward batch for round ${round} stage ${stage} failed (${why}); dropped ${reports.length} reports after ${batch.attempts} attempt(s)`);
      } else {
        batch.nextAt = Date.now() + retryBaseMs * 2 ** (batch.attempts - 1);
        pending.push(batch);
        log(`reward batch for round ${round} stage ${stage} failed (${why}); retry ${batch.attempts} of ${retryAttempts - 1} in ${batch.nextAt - Date.now()} ms`);
      }
      return false;
    }
  }

  let flushing: Promise<number> | null = null;
  async function flushRewards(): Promise<number> {
    if (flushing) await flushing.catch(() => undefined);
    const batches: Batch[] = [];
    const groups = new Map<string, RewardReport[]>();
    for (const r of queue.values()) groups.set(`${r.round}/${r.stage}`, [...(groups.get(`${r.round}/${r.stage}`) ?? []), r]);
    queue.clear();
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += 256) batches.push({ round: group[0].round, stage: group[0].stage, reports: group.slice(i, i + 256), attempts: 0, nextAt: 0 });
    }
    const now = Date.now();
    for (let i = pending.length - 1; i >= 0; i--) {
      if (pending[i].nextAt <= now) batches.push(...pending.splice(i, 1));
    }
    flushing = (async () => {
      let sent = 0;
      for (const batch of batches) if (await sendBatch(batch)) sent += batch.reports.length;
      // Bounded: if the chain stays down, the oldest waiting batches go first (their rounds close anyway).
      while (pending.length > MAX_PENDING) {
        const dropped = pending.shift()!;
        log(`retry queue full; dropped the batch for round ${dropped.round} stage ${dropped.stage}`);
      }
      return sent;
    })();
    return flushing;
  }

  async function submitRewards(round: bigint, stage: bigint, reports: RewardReport[]): Promise<boolean> {
    if (reports.length === 0) return true;
    return sendBatch({ round, stage, reports, attempts: 0, nextAt: 0 });
  }

  async function submitRoundWinners(round: bigint, winners: string[]): Promise<boolean> {
    try {
      const { result, hash } = await send('submitRoundWinners', [round, winners]);
      log(`recorded ${String(result)} of ${winners.length} winners for round ${round} (${hash})`);
      return true;
    } catch (error) {
      log(`winners for round ${round} not recorded: ${revertName(error) ?? (error as Error).message.split('\n')[0]}`);
      return false;
    }
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
    const path = requestPath(req.url);
    if (path === null) return reply(400, { error: 'bad-url', reason: 'the request URL does not parse' });
    const ip = req.socket.remoteAddress ?? 'unknown';
    if (req.method === 'GET' && path === '/health') {
      const mapping = options.describe?.().mapping;
      return reply(200, { ok: true, swarmId: options.swarmId, chainId: options.chainId, coordinator: address, relayer: account.address, round: current.round.toString(), stage: current.stage.toString(), attested: relay.counts, ...(mapping ? { mapping, agreedReports } : {}) });
    }
    if (req.method === 'GET' && path === '/refusals') return reply(200, { refusals: options.describe?.().refusals ?? [] });
    const routes: Record<string, (body: unknown, ip: string) => Promise<unknown>> = { '/register': handleRegister, '/rewards': handleReward, '/attestations': handleAttestation };
    const handler = req.method === 'POST' && Object.hasOwn(routes, path) ? routes[path] : null;
    if (!handler) return reply(404, { error: 'not-found', reason: `no route ${req.method} ${path}` });
    const chunks: Buffer[] = [];
    let size = 0;
    // A client that hangs up mid-body emits 'error' on the request; unhandled, it would end the process.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
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
  every(options.batchMs ?? 2_000, 'sending rewards', () => (queue.size || pending.some((b) => b.nextAt <= Date.now()) ? flushRewards() : Promise.resolve(0)));
  every(options.batchMs ?? 2_000, 'sending attested rewards', flushAttestations);
  every(options.auditMs ?? 5_000, 'auditing registrations', auditRegistrations);

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    relayer: account.address,
    flushRewards,
    pendingBatches: () => pending.length,
    advanceStage,
    async readRoundStage() {
      current = await readRoundStage();
      return current;
    },
    submitRewards,
    submitRoundWinners,
    flushAttestations,
    isRegistered: async (peerId) => (await boundAccount(peerId)) !== null,
    maxRewardPerReport: maxReward,
    rewardWindowRounds: window,
    stagesPerRound: Number(stagesPerRound),
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
