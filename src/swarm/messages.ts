// Versioned swarm messages and their validating decoder. Everything a peer receives passes through
// `decodeMessage`, which never throws: it returns the typed message or a reason. Strict: unknown keys,
// wrong types, out-of-range numbers and over-long strings or lists are all refusals, so nothing a peer
// sends can smuggle extra bytes or crash a handler downstream.
import type { PublishedRollout, TaskRef } from '../rl/transport.ts';
import { MAX_COMMITTED_COMPLETIONS, type SamplingCommitment } from '../rl/verify/commit.ts';
import { LIMITS, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './constants.ts';

export type MessageKind = 'binding' | 'rollouts' | 'heartbeat' | 'critique' | 'resolve' | 'vote' | 'ping' | 'echo';
export const MESSAGE_KINDS: readonly MessageKind[] = ['binding', 'rollouts', 'heartbeat', 'critique', 'resolve', 'vote', 'ping', 'echo'];

/** Fields every message carries. The network layer checks peerId against the gossipsub signer. */
export interface MessageHeader {
  v: typeof PROTOCOL_VERSION;
  swarmId: string;
  round: number;
  peerId: string;
  /** unique per sender (a counter seeded from the clock); a repeated (peerId, nonce) is a replay */
  nonce: number;
  /** sender's swarm time (unix ms) at sending: feeds the round clock's skew estimate and latency figures */
  ts: number;
}

export interface BindingMessage extends MessageHeader {
  kind: 'binding';
  /** the dual-signed EIP-712 PeerBinding in the identity layer's wire form (src/identity/binding.ts) */
  signed: {
    binding: { account: string; peerId: string; swarmId: string; nonce: string; deadline: string };
    domain: { chainId: number; verifyingContract: string };
    walletSignature: string;
    peerSignature: string;
  };
}

/** A batch's committed sampling on the wire: src/rl/verify's commitment less what the header says. */
export type WireSampling = Omit<SamplingCommitment, 'swarmId' | 'round' | 'peerId'>;

export interface RolloutsMessage extends MessageHeader {
  kind: 'rollouts';
  rollouts: PublishedRollout[];
  modelCommitment?: string;
  logprobCommitment?: string;
  /** every part of a split batch carries the same one */
  sampling?: WireSampling;
  /** a round's batch may be split across messages: this is part `part` of `parts` (0-based) */
  part: number;
  parts: number;
}

export interface HeartbeatMessage extends MessageHeader {
  kind: 'heartbeat';
  stats: Record<string, number>;
  /** the sender's latest held-out evaluation, and the one it started from (dashboards plot the climb) */
  heldOut?: HeldOutReport;
}

/** Greedy accuracy on held-out tasks (verifier-correct, 0..1) after `round`, and at the sender's start. */
export interface HeldOutReport {
  round: number;
  accuracy: number;
  tasks: number;
  startRound: number;
  startAccuracy: number;
}

export interface CritiqueMessage extends MessageHeader {
  kind: 'critique';
  task: TaskRef;
  /** whose answer is critiqued */
  about: string;
  text: string;
}

/** The game's third stage: the majority pick this peer read from the critiques, then its final answer. */
export interface ResolveMessage extends MessageHeader {
  kind: 'resolve';
  task: TaskRef;
  text: string;
}

export interface VoteMessage extends MessageHeader {
  kind: 'vote';
  votes: { task: TaskRef; peerId: string }[];
}

/** Asks every peer for an echo; the header's nonce names it. The round-trip probe's outbound half. */
export interface PingMessage extends MessageHeader {
  kind: 'ping';
}

/** Answers pings, several at once when they arrive close together: (pinger, ping nonce) pairs. */
export interface EchoMessage extends MessageHeader {
  kind: 'echo';
  echoes: { peerId: string; nonce: number }[];
}

export type SwarmMessage = BindingMessage | RolloutsMessage | HeartbeatMessage | CritiqueMessage | ResolveMessage | VoteMessage | PingMessage | EchoMessage;

export type DecodeResult = { ok: true; message: SwarmMessage } | { ok: false; reason: string };

/** A failed check inside the decoder; caught at its boundary and turned into a reason. */
class Invalid extends Error {
  override name = 'InvalidSwarmMessage';
}

function bad(reason: string): never {
  throw new Invalid(reason);
}

type Obj = Record<string, unknown>;

function object(value: unknown, what: string, allowed: readonly string[]): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`${what} must be an object`);
  for (const key of Object.keys(value)) if (!allowed.includes(key)) bad(`${what} has unknown field "${key.slice(0, 32)}"`);
  return value as Obj;
}

function string(value: unknown, what: string, maxChars: number, pattern?: RegExp): string {
  if (typeof value !== 'string') bad(`${what} must be a string`);
  if (value.length > maxChars) bad(`${what} is longer than ${maxChars} characters`);
  if (pattern && !pattern.test(value)) bad(`${what} is malformed`);
  return value;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) bad(`${what} must be an integer`);
  if (value < min || value > max) bad(`${what} is out of range ${min}..${max}`);
  return value;
}

function finite(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) bad(`${what} must be a finite number`);
  if (value < min || value > max) bad(`${what} is out of range`);
  return value;
}

function list(value: unknown, what: string, maxItems: number, minItems = 0): unknown[] {
  if (!Array.isArray(value)) bad(`${what} must be a list`);
  if (value.length > maxItems) bad(`${what} has more than ${maxItems} items`);
  if (value.length < minItems) bad(`${what} has fewer than ${minItems} items`);
  return value;
}

const ID = /^[a-z0-9][a-z0-9._-]*$/;
/** base58btc (libp2p Ed25519/secp256k1 ids) or base32 CIDs */
const PEER_ID = /^(12D3KooW|16Uiu2|Qm)[1-9A-HJ-NP-Za-km-z]+$|^b[a-z2-7]+$/;
const HEX = /^[0-9a-f]+$/;
const HEX_0X = /^0x[0-9a-fA-F]+$/;

export function peerIdField(value: unknown, what: string): string {
  return string(value, what, LIMITS.peerIdChars, PEER_ID);
}

function taskRef(value: unknown, what: string): TaskRef {
  const t = object(value, what, ['family', 'seed', 'difficulty']);
  return {
    family: string(t.family, `${what}.family`, LIMITS.idChars, ID),
    seed: integer(t.seed, `${what}.seed`, 0, 0xffff_ffff),
    difficulty: integer(t.difficulty, `${what}.difficulty`, 1, 5),
  };
}

const HEADER = ['v', 'kind', 'swarmId', 'round', 'peerId', 'nonce', 'ts'] as const;
const FIELDS: Record<MessageKind, readonly string[]> = {
  binding: [...HEADER, 'signed'],
  rollouts: [...HEADER, 'rollouts', 'modelCommitment', 'logprobCommitment', 'sampling', 'part', 'parts'],
  heartbeat: [...HEADER, 'stats', 'heldOut'],
  critique: [...HEADER, 'task', 'about', 'text'],
  resolve: [...HEADER, 'task', 'text'],
  vote: [...HEADER, 'votes'],
  ping: [...HEADER],
  echo: [...HEADER, 'echoes'],
};

function header(m: Obj): MessageHeader {
  if (m.v !== PROTOCOL_VERSION) bad(`unsupported version ${String(m.v).slice(0, 16)}`);
  return {
    v: PROTOCOL_VERSION,
    swarmId: string(m.swarmId, 'swarmId', LIMITS.idChars, /^[a-z0-9][a-z0-9-]*$/),
    round: integer(m.round, 'round', 0, 2 ** 40),
    peerId: peerIdField(m.peerId, 'peerId'),
    nonce: integer(m.nonce, 'nonce', 0, Number.MAX_SAFE_INTEGER),
    ts: integer(m.ts, 'ts', 0, 2 ** 45),
  };
}

function rollouts(m: Obj, h: MessageHeader): RolloutsMessage {
  const items = list(m.rollouts, 'rollouts', LIMITS.rolloutsPerMessage, 1).map((r, i) => {
    const o = object(r, `rollouts[${i}]`, ['task', 'completions']);
    const completions = list(o.completions, `rollouts[${i}].completions`, LIMITS.completionsPerRollout, 1).map((c, j) => {
      const what = `rollouts[${i}].completions[${j}]`;
      const co = object(c, what, ['text', 'reward']);
      return { text: string(co.text, `${what}.text`, LIMITS.completionChars), reward: finite(co.reward, `${what}.reward`, -1e6, 1e6) };
    });
    return { task: taskRef(o.task, `rollouts[${i}].task`), completions };
  });
  const parts = integer(m.parts, 'parts', 1, 64);
  const out: RolloutsMessage = { ...h, kind: 'rollouts', rollouts: items, part: integer(m.part, 'part', 0, parts - 1), parts };
  if (m.modelCommitment !== undefined) out.modelCommitment = string(m.modelCommitment, 'modelCommitment', LIMITS.commitmentHexChars, HEX);
  if (m.logprobCommitment !== undefined) out.logprobCommitment = string(m.logprobCommitment, 'logprobCommitment', LIMITS.commitmentHexChars, HEX);
  if (m.sampling !== undefined) out.sampling = sampling(m.sampling);
  return out;
}

const HASH_HEX = /^[0-9a-f]{64}$/;

/** Bounds: what the verifier's checks accept (src/rl/verify), so nothing past them reaches a spot check. */
function sampling(value: unknown): WireSampling {
  const s = object(value, 'sampling', ['v', 'weightsHash', 'settings', 'seed', 'completions', 'logprobQuantum', 'root']);
  const st = object(s.settings, 'sampling.settings', ['temperature', 'topP', 'topK', 'maxNewTokens', 'stopTokens']);
  if (s.v !== 1) bad('sampling.v must be 1');
  const settings: WireSampling['settings'] = {
    temperature: finite(st.temperature, 'sampling.settings.temperature', 0, 100),
    maxNewTokens: integer(st.maxNewTokens, 'sampling.settings.maxNewTokens', 1, LIMITS.samplingMaxNewTokens),
    stopTokens: list(st.stopTokens, 'sampling.settings.stopTokens', LIMITS.samplingStopTokens).map((t, i) => integer(t, `sampling.settings.stopTokens[${i}]`, 0, 0xffff_ffff)),
  };
  if (st.topP !== undefined) settings.topP = finite(st.topP, 'sampling.settings.topP', 0, 1);
  if (st.topK !== undefined) settings.topK = integer(st.topK, 'sampling.settings.topK', 0, 0xffff_ffff);
  return {
    v: 1,
    weightsHash: string(s.weightsHash, 'sampling.weightsHash', 64, HASH_HEX),
    settings,
    seed: integer(s.seed, 'sampling.seed', 0, 0xffff_ffff),
    completions: integer(s.completions, 'sampling.completions', 1, MAX_COMMITTED_COMPLETIONS),
    logprobQuantum: finite(s.logprobQuantum, 'sampling.logprobQuantum', 0, 1),
    root: string(s.root, 'sampling.root', 64, HASH_HEX),
  };
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT256 = /^(0|[1-9][0-9]{0,77})$/;

function binding(m: Obj, h: MessageHeader): BindingMessage {
  const signed = object(m.signed, 'signed', ['binding', 'domain', 'walletSignature', 'peerSignature']);
  const b = object(signed.binding, 'signed.binding', ['account', 'peerId', 'swarmId', 'nonce', 'deadline']);
  const d = object(signed.domain, 'signed.domain', ['chainId', 'verifyingContract']);
  return {
    ...h,
    kind: 'binding',
    signed: {
      binding: {
        account: string(b.account, 'binding.account', 42, ADDRESS),
        peerId: peerIdField(b.peerId, 'binding.peerId'),
        swarmId: string(b.swarmId, 'binding.swarmId', LIMITS.idChars, /^[a-z0-9][a-z0-9-]*$/),
        nonce: string(b.nonce, 'binding.nonce', 78, UINT256),
        deadline: string(b.deadline, 'binding.deadline', 78, UINT256),
      },
      domain: {
        chainId: integer(d.chainId, 'domain.chainId', 1, Number.MAX_SAFE_INTEGER),
        verifyingContract: string(d.verifyingContract, 'domain.verifyingContract', 42, ADDRESS),
      },
      walletSignature: string(signed.walletSignature, 'walletSignature', LIMITS.walletSignatureHexChars, HEX_0X),
      peerSignature: string(signed.peerSignature, 'peerSignature', 130, HEX_0X),
    },
  };
}

function heartbeat(m: Obj, h: MessageHeader): HeartbeatMessage {
  if (typeof m.stats !== 'object' || m.stats === null || Array.isArray(m.stats)) bad('stats must be an object');
  const s = m.stats as Obj;
  const keys = Object.keys(s);
  if (keys.length > LIMITS.heartbeatStats) bad(`stats has more than ${LIMITS.heartbeatStats} entries`);
  const stats: Record<string, number> = {};
  for (const key of keys) {
    string(key, 'stats key', LIMITS.statKeyChars, /^[a-zA-Z][a-zA-Z0-9_]*$/);
    stats[key] = finite(s[key], `stats.${key}`, -1e12, 1e12);
  }
  const out: HeartbeatMessage = { ...h, kind: 'heartbeat', stats };
  if (m.heldOut !== undefined) {
    const e = object(m.heldOut, 'heldOut', ['round', 'accuracy', 'tasks', 'startRound', 'startAccuracy']);
    out.heldOut = {
      round: integer(e.round, 'heldOut.round', -1, 2 ** 40),
      accuracy: finite(e.accuracy, 'heldOut.accuracy', 0, 1),
      tasks: integer(e.tasks, 'heldOut.tasks', 1, LIMITS.heldOutTasks),
      startRound: integer(e.startRound, 'heldOut.startRound', -1, 2 ** 40),
      startAccuracy: finite(e.startAccuracy, 'heldOut.startAccuracy', 0, 1),
    };
  }
  return out;
}

function critique(m: Obj, h: MessageHeader): CritiqueMessage {
  return {
    ...h,
    kind: 'critique',
    task: taskRef(m.task, 'task'),
    about: peerIdField(m.about, 'about'),
    text: string(m.text, 'text', LIMITS.critiqueChars),
  };
}

function resolve(m: Obj, h: MessageHeader): ResolveMessage {
  return { ...h, kind: 'resolve', task: taskRef(m.task, 'task'), text: string(m.text, 'text', LIMITS.resolveChars) };
}

function vote(m: Obj, h: MessageHeader): VoteMessage {
  const votes = list(m.votes, 'votes', LIMITS.votesPerMessage, 1).map((v, i) => {
    const o = object(v, `votes[${i}]`, ['task', 'peerId']);
    return { task: taskRef(o.task, `votes[${i}].task`), peerId: peerIdField(o.peerId, `votes[${i}].peerId`) };
  });
  return { ...h, kind: 'vote', votes };
}

function echo(m: Obj, h: MessageHeader): EchoMessage {
  const echoes = list(m.echoes, 'echoes', LIMITS.echoesPerMessage, 1).map((e, i) => {
    const o = object(e, `echoes[${i}]`, ['peerId', 'nonce']);
    return { peerId: peerIdField(o.peerId, `echoes[${i}].peerId`), nonce: integer(o.nonce, `echoes[${i}].nonce`, 0, Number.MAX_SAFE_INTEGER) };
  });
  return { ...h, kind: 'echo', echoes };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Out = new TextEncoder();

/** Validates raw gossip bytes into a message. Never throws. */
export function decodeMessage(data: Uint8Array): DecodeResult {
  try {
    if (!(data instanceof Uint8Array)) bad('message is not bytes');
    if (data.byteLength > MAX_MESSAGE_BYTES) bad(`oversized: ${data.byteLength} bytes > ${MAX_MESSAGE_BYTES}`);
    if (data.byteLength === 0) bad('empty message');
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(data));
    } catch (error) {
      bad(`not UTF-8 JSON: ${(error as Error).message.slice(0, 80)}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('message must be an object');
    const kind = (json as Obj).kind;
    if (typeof kind !== 'string' || !(MESSAGE_KINDS as readonly string[]).includes(kind)) bad(`unknown kind ${String(kind).slice(0, 32)}`);
    const k = kind as MessageKind;
    const m = object(json, k, FIELDS[k]);
    const h = header(m);
    switch (k) {
      case 'binding':
        return { ok: true, message: binding(m, h) };
      case 'rollouts':
        return { ok: true, message: rollouts(m, h) };
      case 'heartbeat':
        return { ok: true, message: heartbeat(m, h) };
      case 'critique':
        return { ok: true, message: critique(m, h) };
      case 'resolve':
        return { ok: true, message: resolve(m, h) };
      case 'vote':
        return { ok: true, message: vote(m, h) };
      case 'ping':
        return { ok: true, message: { ...h, kind: 'ping' } };
      case 'echo':
        return { ok: true, message: echo(m, h) };
      default:
        return k satisfies never;
    }
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    // anything else is a bug in this decoder; still a refusal, never an escape
    return { ok: false, reason: `decoder error: ${String((error as Error)?.message ?? error).slice(0, 120)}` };
  }
}

export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError';
}

/** Encodes a message; refuses (throws MessageTooLargeError) above MAX_MESSAGE_BYTES rather than let gossip drop it. */
export function encodeMessage(message: SwarmMessage): Uint8Array {
  const bytes = utf8Out.encode(JSON.stringify(message));
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new MessageTooLargeError(`${message.kind} message is ${bytes.byteLength} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }
  return bytes;
}
