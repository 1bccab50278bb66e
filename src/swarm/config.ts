// The swarm a tab joins: where the relay is, which chain, which model, how long a round lasts. `npm start`
// writes the local default to /swarm.json; a URL may carry another one as `?swarm=<base64url JSON>`.

export interface ChainConfig {
  chainId: number;
  rpcUrl: string;
  coordinator: `0x${string}`;
  /** the coordinator service for gasless registration (optional) */
  coordinatorService?: string;
}

/** `sapo`: RL Swarm era 2 rounds (the default); `game`: era 1's answer → critique → resolve, three stages a round */
export type SwarmMode = 'sapo' | 'game';

export interface SwarmConfig {
  swarmId: string;
  /** absent: sapo */
  mode?: SwarmMode;
  relayAddrs: string[];
  /** True for swarms on loopback / private networks (dev, booth): lets the browser dial ws:// and 127.0.0.1. */
  local: boolean;
  /** length of one round; every peer derives the round index from genesisMs and roundMs */
  roundMs: number;
  /** unix ms at which round 0 began */
  genesisMs: number;
  /** task family -> relative weight (> 0) */
  taskMix: Record<string, number>;
  /** which model the swarm trains, e.g. a folder under /models/ or a Hugging Face id */
  modelId: string;
  /** periodic averaging (NoLoCo-style): every this many rounds a tab averages its weights with one random peer's; 0 = off */
  averageEveryRounds?: number;
  /** the coordinator contract; absent for swarms without a chain */
  chain?: ChainConfig;
  /**
   * A lab swarm (tests, the /lab.html page, `npm run peer` without --rl): scripted rollouts are allowed on it
   * and nowhere else, so demo traffic never reaches a real swarm's training.
   */
  lab?: boolean;
  /** peers with a verified on-chain binding fill a tab's external groups first (sybil resistance) */
  preferBound?: boolean;
  /**
   * Train a LoRA adapter of this rank on the frozen base (targets: projection names, default all seven);
   * then rollouts name base fingerprint + adapter hash and peers exchange adapters, not whole models.
   */
  lora?: { rank: number; targets?: string[] };
  /** tokens per completion every peer samples and checks others' completions against (1..1024) */
  completionBudget?: number;
  /** SHA-256 fingerprint of the base model (worker/adapter.ts baseFingerprint): a tab with another base is refused */
  baseFingerprint?: string;
  /** where Hugging Face repo ids resolve (default https://huggingface.co/): a mirror, or a local folder in tests */
  hubUrl?: string;
  /** share of peers' complete batches each tab spot-checks (0..1; default VERIFY.rate) */
  verifyRate?: number;
}

/** bounds of what a swarm config may ask a tab for (the engine checks rank against the model) */
export const MAX_CONFIG_LORA_RANK = 256;
export const MAX_CONFIG_COMPLETION_TOKENS = 1024;

export class SwarmConfigError extends Error {
  override name = 'SwarmConfigError';
}

/**
 * A round is as long as the default model needs on a slow device, not more: about 1-2 s of sampling and one
 * step on SwiftShader (`npm run bench:rounds`), 3 s with room for a loaded machine. Slower tabs fall behind
 * and rejoin at the current round; faster ones train early once J external groups are in (see loop.ts).
 */
export const DEFAULT_ROUND_MS = 3_000;
export const DEFAULT_MODEL_ID = 'tabswarm-tiny';
/** a game swarm's default: the default model fine-tuned on game transcripts (npm run build:game-model) */
export const DEFAULT_GAME_MODEL_ID = 'tabswarm-tiny-game';
/**
 * A game round is three stages of roundMs / 3, each a sampling pass and one GRPO step of the default model
 * (the resolve prompt is the longest): 5 s a stage leaves a loaded CPU-only tab room.
 */
export const DEFAULT_GAME_ROUND_MS = 15_000;

/** the length of one game stage: a third of the swarm's round, so game rounds are the swarm clock's rounds */
export function gameStageMs(config: Pick<SwarmConfig, 'roundMs'>): number {
  return config.roundMs / 3;
}
const ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

function fail(message: string): never {
  throw new SwarmConfigError(message);
}

function parseChain(value: unknown): ChainConfig {
  if (typeof value !== 'object' || value === null) fail('chain must be an object');
  const c = value as Record<string, unknown>;
  if (!Number.isSafeInteger(c.chainId) || (c.chainId as number) <= 0) fail('chain.chainId must be a positive integer');
  if (typeof c.rpcUrl !== 'string' || !/^(https?|wss?):\/\/[^\s]{1,500}$/.test(c.rpcUrl)) fail('chain.rpcUrl must be an http(s) or ws(s) URL');
  if (typeof c.coordinator !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(c.coordinator)) fail('chain.coordinator must be a 0x-prefixed 20-byte address');
  const chain: ChainConfig = { chainId: c.chainId as number, rpcUrl: c.rpcUrl, coordinator: c.coordinator as `0x${string}` };
  if (c.coordinatorService !== undefined) {
    if (typeof c.coordinatorService !== 'string' || !/^https?:\/\/[^\s]{1,500}$/.test(c.coordinatorService)) fail('chain.coordinatorService must be an http(s) URL');
    chain.coordinatorService = c.coordinatorService.replace(/\/$/, '');
  }
  return chain;
}

function parseTaskMix(value: unknown): Record<string, number> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('taskMix must be an object of family -> weight');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 32) fail('taskMix has more than 32 families');
  const mix: Record<string, number> = {};
  for (const [family, weight] of entries) {
    if (!ID.test(family)) fail(`taskMix family "${family.slice(0, 40)}" must be 1-63 lowercase letters, digits, dots, dashes or underscores`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) fail(`taskMix weight for ${family} must be a positive number`);
    mix[family] = weight;
  }
  return mix;
}

function parseLora(value: unknown): { rank: number; targets?: string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('lora must be an object {rank, targets?}');
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.rank) || (v.rank as number) < 1 || (v.rank as number) > MAX_CONFIG_LORA_RANK) fail(`lora.rank must be an integer from 1 to ${MAX_CONFIG_LORA_RANK}`);
  const out: { rank: number; targets?: string[] } = { rank: v.rank as number };
  if (v.targets !== undefined) {
    if (!Array.isArray(v.targets) || v.targets.length < 1 || v.targets.length > 7 || !v.targets.every((t) => typeof t === 'string' && /^[a-z_]{1,32}$/.test(t))) {
      fail('lora.targets must be 1-7 projection names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)');
    }
    out.targets = [...(v.targets as string[])];
  }
  return out;
}

function parseExtras(v: Record<string, unknown>, config: SwarmConfig): void {
  if (v.lora !== undefined && v.lora !== null) config.lora = parseLora(v.lora);
  if (v.completionBudget !== undefined) {
    const b = v.completionBudget;
    if (!Number.isSafeInteger(b) || (b as number) < 1 || (b as number) > MAX_CONFIG_COMPLETION_TOKENS) fail(`completionBudget must be an integer from 1 to ${MAX_CONFIG_COMPLETION_TOKENS}`);
    config.completionBudget = b as number;
  }
  if (v.baseFingerprint !== undefined) {
    if (typeof v.baseFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(v.baseFingerprint)) fail('baseFingerprint must be 64 lowercase hex characters (SHA-256)');
    config.baseFingerprint = v.baseFingerprint;
  }
  if (v.hubUrl !== undefined) {
    if (typeof v.hubUrl !== 'string' || !/^https?:\/\/[^\s?#]{1,300}$/.test(v.hubUrl)) fail('hubUrl must be an http(s) URL without query or fragment');
    config.hubUrl = v.hubUrl.endsWith('/') ? v.hubUrl : `${v.hubUrl}/`;
  }
}

export function parseSwarmConfig(value: unknown): SwarmConfig {
  if (typeof value !== 'object' || value === null) fail('swarm config must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.swarmId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(v.swarmId)) {
    fail('swarmId must be 1-63 lowercase letters, digits or dashes');
  }
  if (!Array.isArray(v.relayAddrs) || v.relayAddrs.length > 16 || !v.relayAddrs.every((a) => typeof a === 'string' && a.startsWith('/') && a.length < 512)) {
    fail('relayAddrs must be up to 16 multiaddr strings');
  }
  const roundMs = v.roundMs ?? DEFAULT_ROUND_MS;
  if (!Number.isSafeInteger(roundMs) || (roundMs as number) < 1_000 || (roundMs as number) > 3_600_000) fail('roundMs must be an integer from 1000 to 3600000');
  const genesisMs = v.genesisMs ?? 0;
  if (!Number.isSafeInteger(genesisMs) || (genesisMs as number) < 0) fail('genesisMs must be a non-negative integer (unix ms)');
  const modelId = v.modelId ?? (v.mode === 'game' ? DEFAULT_GAME_MODEL_ID : DEFAULT_MODEL_ID);
  if (typeof modelId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/.test(modelId) || modelId.includes('..')) {
    fail('modelId must be 1-128 letters, digits, dots, dashes, underscores or slashes');
  }
  const averageEveryRounds = v.averageEveryRounds ?? 0;
  if (!Number.isSafeInteger(averageEveryRounds) || (averageEveryRounds as number) < 0 || (averageEveryRounds as number) > 100_000) fail('averageEveryRounds must be an integer from 0 (off) to 100000');
  if (v.mode !== undefined && v.mode !== 'sapo' && v.mode !== 'game') fail(`mode must be "sapo" or "game" (got ${JSON.stringify(v.mode).slice(0, 40)})`);
  // stages are whole milliseconds, each long enough for a sampling pass and a step
  if (v.mode === 'game' && (averageEveryRounds as number) > 0) fail('averageEveryRounds is for sapo swarms; a game swarm does not average');
  if (v.mode === 'game' && ((roundMs as number) % 3 !== 0 || (roundMs as number) < 3_000)) fail('a game swarm\'s roundMs must be a multiple of 3 and at least 3000 (three stages a round)');
  const config: SwarmConfig = {
    swarmId: v.swarmId,
    ...(v.mode === undefined ? {} : { mode: v.mode as SwarmMode }),
    relayAddrs: v.relayAddrs as string[],
    local: v.local === true,
    roundMs: roundMs as number,
    genesisMs: genesisMs as number,
    taskMix: parseTaskMix(v.taskMix),
    modelId,
    lab: v.lab === true,
    preferBound: v.preferBound === true,
  };
  if ((averageEveryRounds as number) > 0) config.averageEveryRounds = averageEveryRounds as number;
  if (v.verifyRate !== undefined) {
    if (typeof v.verifyRate !== 'number' || !(v.verifyRate >= 0 && v.verifyRate <= 1)) fail('verifyRate must be a number from 0 to 1');
    config.verifyRate = v.verifyRate;
  }
  if (v.chain !== undefined && v.chain !== null) config.chain = parseChain(v.chain);
  parseExtras(v, config);
  return config;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The value of the `?swarm=` URL parameter for a config (base64url of its JSON, no padding). */
export function encodeSwarmConfigParam(config: SwarmConfig): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(config)));
}

/** Parses a `?swarm=` value; any malformed input becomes a SwarmConfigError. */
export function decodeSwarmConfigParam(param: string): SwarmConfig {
  if (param.length > 16_384) fail('swarm URL parameter is longer than 16 KiB');
  let json: unknown;
  try {
    const b64 = param.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
  } catch (error) {
    fail(`swarm URL parameter is not base64url JSON: ${(error as Error).message}`);
  }
  return parseSwarmConfig(json);
}
