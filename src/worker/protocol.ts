// The typed protocol between the page and the engine worker, in one file. Every request carries an id; the
// reply names the id it answers; errors cross as {name, message, stack}. Events (progress, stats, rollouts to
// publish) flow from the worker unasked. The same `TabswarmWorkerApi` is served behind a Worker and in-thread.
import type { RolloutBatch } from '../rl/transport.ts';
import type { GameEvent } from '../rl/game/runner.ts';
import type { GameMessage } from '../rl/game/transport.ts';
import { isVerifyRequest, type VerifyReply, type VerifyRequest } from './verify-protocol.ts';

export interface GpuProbe {
  webgpu: boolean;
  adapter: string | null;
  /** Why there is no WebGPU, in words a person can act on. */
  reason: string | null;
}

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

export interface LoadOptions {
  /** Base URL of a Hugging Face folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json). */
  modelUrl: string;
  swarmId: string;
  peerId: string;
  backend: BackendChoice;
  /** Restore weights, optimizer state and round from this tab's storage when a checkpoint exists. */
  resume: boolean;
  /** Refuse models whose estimated working set exceeds this many bytes (memory guard). */
  memoryBudgetBytes?: number;
  /** the swarm's task family -> weight; empty or absent means the default mix */
  taskMix?: Record<string, number>;
  /** train a LoRA adapter on the frozen base instead of every weight (the swarm config's `lora`) */
  lora?: { rank: number; targets?: string[] };
  /** the swarm config's tokens per completion; absent: the model folder's generation_config may shorten the default */
  completionBudget?: number;
  /** the base model's fingerprint the swarm names (adapter.ts baseFingerprint): another base is refused */
  baseFingerprint?: string;
}

export interface LoadResult {
  backend: 'webgpu' | 'cpu';
  modelId: string;
  parameterCount: number;
  /** Last completed round restored from storage, or null for a fresh start. */
  resumedRound: number | null;
  /** why it runs where it runs, when that is not what was asked (e.g. WebGPU failed, CPU fallback) */
  note: string | null;
  /** digest of the weights now loaded (see digestTensors): equal before a reload and after resuming */
  weightsDigest: string;
  /** SHA-256 of the base model as loaded, before any training (adapter.ts baseFingerprint) */
  baseFingerprint: string;
  /** the adapter trained (rank, targets), or null for full fine-tuning */
  lora: { rank: number; targets: string[] } | null;
  /** what the weight protocol exchanges: the adapter's family with LoRA (base, rank, targets in it), else null */
  weightsFamily: string | null;
  /** tokens per completion this tab samples */
  completionBudget: number;
}

export interface RoundClock {
  genesisMs: number;
  roundMs: number;
}

/** A game swarm (mode "game"): the worker plays answer → critique → resolve on the swarm clock. */
export interface GameOptions {
  clock: RoundClock;
  swarmId: string;
  taskMix?: Record<string, number>;
  /**
   * what paces the stages: the swarm clock (default), or the coordinator's stage counter, which the page
   * reads from the chain and sends as `gamePosition` requests (rl/game/machine.ts positionFromChain)
   */
  pace?: 'clock' | 'coordinator';
}

/** the coordinator's counters as the chain reports them */
export interface ChainStage {
  round: number;
  stage: number;
  stagesPerRound: number;
}

export interface RunOptions {
  /** When the swarm has a clock, rounds follow it; without one each round follows the last. */
  clock?: RoundClock;
  /** held-out evaluation every this many rounds (default EVAL_EVERY_ROUNDS in loop.ts; 0 = never) */
  evalEvery?: number;
}

/** One held-out evaluation: greedy answers to tasks never trained on, judged by the verifier. */
export interface EvalPoint {
  /** the last round trained before it ran; -1 for the untrained start */
  round: number;
  /** share of held-out tasks answered correctly (verifier-correct, not reward), 0..1 */
  accuracy: number;
  tasks: number;
  /** share of answers in the expected format */
  formatRate: number;
  seconds: number;
}

export interface SampleCompletion {
  prompt: string;
  text: string;
  reward: number;
  correct: boolean;
}

export interface RoundStats {
  round: number;
  stage: string;
  ownReward: number;
  ownAccuracy: number;
  /** Mean of peers' re-scored rewards this round; null when no peer sent anything usable. */
  swarmReward: number | null;
  swarmAccuracy: number | null;
  localRollouts: number;
  externalRollouts: number;
  /** external groups trained on this round, by sending peer (at most J entries) */
  externalByPeer: Record<string, number>;
  /** optimizer steps this round took: 1, or 0 when no group carried signal (nothing to learn from) */
  optimizerSteps: number;
  peersHeard: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  rolloutsPerSecond: number;
  samples: SampleCompletion[];
}

export interface ExportedFile {
  name: string;
  data: ArrayBuffer;
}

/** "the swarm model": the folder of the mean, how many models went into it, and why each peer left out was refused */
export interface SwarmModelExport {
  files: ExportedFile[];
  /** this tab's and the peers' that passed (averaged with this tab alone, each peer's mean passed the average guard) */
  models: number;
  /** one line per peer left out: "peer k: ErrorName: why" */
  refused: string[];
}

export type Phase = 'idle' | 'loading' | 'ready' | 'running' | 'paused' | 'stopped' | 'error';

export type ProgressStage = 'download' | 'compile' | 'load' | 'restore';

export interface Progress {
  stage: ProgressStage;
  /** What is being worked on: a file name, a kernel family. */
  item: string;
  loaded: number;
  /** null when the size is unknown (no content-length) */
  total: number | null;
  /** 0..100, or null when the total is unknown */
  percent: number | null;
}

export type WorkerEvent =
  | { kind: 'progress'; progress: Progress }
  | { kind: 'phase'; phase: Phase; detail: string | null }
  | { kind: 'stats'; stats: RoundStats }
  | { kind: 'eval'; point: EvalPoint }
  /** the weights became the mean of this tab's and `models - 1` peers' after `round` (periodic averaging) */
  | { kind: 'averaged'; round: number | null; models: number; weightsDigest: string }
  /** where the round in flight is: sampling, publishing, training */
  | { kind: 'stage'; round: number; stage: string }
  | { kind: 'publish'; batch: RolloutBatch }
  /** a game stage's messages for the page to gossip (GossipGameTransport.publishAll) */
  | { kind: 'gamePublish'; messages: GameMessage[] }
  /** what the game runner did: a stage played, a message dropped, a stage missed, votes cast */
  | { kind: 'game'; event: GameEvent }
  | { kind: 'saved'; round: number; bytes: number; store: 'opfs' | 'indexeddb'; weightsDigest: string }
  /** something went wrong that does not stop contributing (e.g. a checkpoint could not be written) */
  | { kind: 'warning'; message: string };

/** What each request type answers with. */
export interface Results {
  probe: GpuProbe;
  load: LoadResult;
  start: void;
  pause: void;
  resume: void;
  stop: void;
  throttle: void;
  deliver: void;
  reset: void;
  export: ExportedFile[];
  exportAverage: SwarmModelExport;
  average: void;
  startGame: void;
  deliverGame: void;
  gamePosition: void;
  verify: VerifyReply;
}

export type WorkerRequest =
  | { id: number; type: 'probe' }
  | { id: number; type: 'load'; options: LoadOptions }
  | { id: number; type: 'start'; options: RunOptions }
  | { id: number; type: 'pause' }
  | { id: number; type: 'resume' }
  | { id: number; type: 'stop' }
  /** duty in (0, 1]: the share of wall time the GPU may be busy */
  | { id: number; type: 'throttle'; duty: number }
  /** a peer's rollouts, received by the page's libp2p node (WebRTC lives on the page, not in workers) */
  | { id: number; type: 'deliver'; batch: RolloutBatch }
  /** stop and clear this tab's checkpoint */
  | { id: number; type: 'reset' }
  | { id: number; type: 'export' }
  /**
   * the mean of this tab's weights and the given peers' (model.safetensors bytes of the same model family,
   * fetched by the page over the weight protocol) as a Hugging Face folder: the swarm model
   */
  | { id: number; type: 'exportAverage'; models: ArrayBuffer[] }
  /** periodic averaging (NoLoCo-style): take the mean of this tab's weights and these, between two rounds */
  | { id: number; type: 'average'; models: ArrayBuffer[] }
  /** play the swarm game instead of SAPO rounds (a game swarm) */
  | { id: number; type: 'startGame'; options: GameOptions }
  /** a peer's game message, received and capped by the page's GossipGameTransport */
  | { id: number; type: 'deliverGame'; message: GameMessage }
  /**
   * the coordinator's stage counter moved (a game started with pace "coordinator" follows it); null: the
   * page gave up on the chain, and the game follows the swarm clock from now on
   */
  | { id: number; type: 'gamePosition'; position: ChainStage | null }
  /** verified work: answer a challenge, give kept weights, spot-check a batch, exclude a peer (src/worker/verify.ts) */
  | { id: number; type: 'verify'; request: VerifyRequest };

export type RequestType = WorkerRequest['type'];

/** peers' models averaged into "the swarm model" at most */
export const MAX_AVERAGED_PEERS = 16;

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerReply =
  | { [K in RequestType]: { id: number; type: 'result'; request: K; result: Results[K] } }[RequestType]
  | { id: number; type: 'error'; error: SerializedError };

export type WorkerMessage = WorkerReply | { id: null; type: 'event'; event: WorkerEvent };

/** The engine worker as the page sees it; served by WorkerClient (real worker) and in-thread for tests. */
export interface TabswarmWorkerApi {
  probe(): Promise<GpuProbe>;
  load(options: LoadOptions): Promise<LoadResult>;
  start(options: RunOptions): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  throttle(duty: number): Promise<void>;
  deliver(batch: RolloutBatch): Promise<void>;
  reset(): Promise<void>;
  exportModel(): Promise<ExportedFile[]>;
  exportAverage(models: ArrayBuffer[]): Promise<SwarmModelExport>;
  average(models: ArrayBuffer[]): Promise<void>;
  startGame(options: GameOptions): Promise<void>;
  deliverGame(message: GameMessage): Promise<void>;
  gamePosition(position: ChainStage | null): Promise<void>;
  verify(request: VerifyRequest): Promise<VerifyReply>;
  /** returns an unsubscribe function */
  onEvent(listener: (event: WorkerEvent) => void): () => void;
  terminate(): void;
}

/** A request the worker could not parse or does not know; named so the page can tell it from engine failures. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** The worker died or was terminated with requests in flight. */
export class WorkerGoneError extends Error {
  override name = 'WorkerGoneError';
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error) };
}

/** Rebuilds an Error that keeps the worker-side name (e.g. ModelTooLargeError) so the UI can branch on it. */
export function deserializeError(error: SerializedError): Error {
  const e = new Error(error.message);
  e.name = error.name;
  if (error.stack) e.stack = error.stack;
  return e;
}

const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestType>([
  'probe', 'load', 'start', 'pause', 'resume', 'stop', 'throttle', 'deliver', 'reset', 'export', 'exportAverage', 'average', 'startGame', 'deliverGame', 'gamePosition', 'verify',
]);

/** Checks the envelope of something that arrived over postMessage before the host switches on it. */
export function parseRequest(value: unknown): WorkerRequest {
  if (typeof value !== 'object' || value === null) throw new ProtocolError('worker request must be an object');
  const v = value as { id?: unknown; type?: unknown; duty?: unknown };
  if (typeof v.id !== 'number' || !Number.isInteger(v.id)) throw new ProtocolError('worker request needs an integer id');
  if (typeof v.type !== 'string' || !REQUEST_TYPES.has(v.type)) {
    throw new ProtocolError(`unknown worker request type ${JSON.stringify(v.type)}`);
  }
  if (v.type === 'exportAverage' || v.type === 'average') {
    const models = (value as { models?: unknown }).models;
    if (!Array.isArray(models) || models.length > MAX_AVERAGED_PEERS || !models.every((m) => m instanceof ArrayBuffer)) {
      throw new ProtocolError(`${v.type} takes up to ${MAX_AVERAGED_PEERS} ArrayBuffers of model.safetensors bytes`);
    }
  }
  if (v.type === 'deliverGame') {
    const m = (value as { message?: unknown }).message;
    if (typeof m !== 'object' || m === null || typeof (m as { kind?: unknown }).kind !== 'string') throw new ProtocolError('deliverGame takes one game message object');
  }
  if (v.type === 'gamePosition') {
    const p = (value as { position?: unknown }).position as Partial<ChainStage> | null | undefined;
    const ok = p === null || (typeof p === 'object' && [p.round, p.stage, p.stagesPerRound].every((n) => Number.isSafeInteger(n) && (n as number) >= 0));
    if (!ok) throw new ProtocolError('gamePosition takes {round, stage, stagesPerRound} as non-negative integers, or null');
  }
  if (v.type === 'verify' && !isVerifyRequest((value as { request?: unknown }).request)) throw new ProtocolError('verify takes a request with an op of answer, weights, check or exclude');
  if (v.type === 'throttle' && (typeof v.duty !== 'number' || !(v.duty > 0 && v.duty <= 1))) {
    throw new ProtocolError(`throttle duty must be in (0, 1], got ${String(v.duty)}`);
  }
  return value as WorkerRequest;
}
