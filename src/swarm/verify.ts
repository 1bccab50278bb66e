// The challenge protocol: a receiver asks the author of a rollout batch to reveal challenged completions
// (tokens, quantised logprobs, Merkle proofs) of the batch it committed to (src/rl/verify).
//
//   request = frame(JSON Challenge)                                   (src/rl/verify/check.ts)
//   reply   = frame(JSON {ok: true, response: WireResponse}) | frame(JSON {ok: false, reason})
//             (WireResponse: the reveals' tokens and logprobs as base64 integers, verify-codec.ts)
//   frame   = u32 big-endian length + that many bytes                (as the weight protocol)
//
// Bounded both ways: a request over VERIFY.maxRequestBytes or naming more rows than MAX_CHALLENGED_ROWS is
// refused, a reply over what the challenger computed from the commitment (rows x the committed token budget)
// is refused, a peer answers at most VERIFY.servesPerPeer challenges at once and VERIFY.perPeerPerMinute per
// minute, and every read, write and the whole exchange run under timeouts. Whatever goes wrong on the
// challenger's side ends in one of the named errors below; the caller counts it as "unanswered".
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import { MAX_CHALLENGED_ROWS, type Challenge, type ChallengeResponse } from '../rl/verify/check.ts';
import type { SamplingCommitment } from '../rl/verify/commit.ts';
import { VERIFY } from './constants.ts';
import { frame, StreamReader, withTimeout } from './weights.ts';
import { decodeResponse, encodeResponse } from './verify-codec.ts';

/** The challenged peer answered, and said no: `reason` is its word. */
export class ChallengeRefusedError extends Error {
  override name = 'ChallengeRefusedError';
}

/** The reply breaks the protocol or our limits (oversize, malformed, another challenge's answer). */
export class ChallengeRejectedError extends Error {
  override name = 'ChallengeRejectedError';
}

export class ChallengeTimeoutError extends Error {
  override name = 'ChallengeTimeoutError';
}

export interface ServeChallengesOptions {
  /** answers from this tab's kept committed batches; throws (e.g. ChallengeError) when it cannot */
  answer(challenge: Challenge, from: string): Promise<ChallengeResponse>;
  timeoutMs?: number;
  now?: () => number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Only the shape: the answerer checks the root against what it committed. */
function challengeShape(value: unknown): value is Challenge {
  const c = value as Partial<Challenge> | null;
  return !!c && c.v === 1 && typeof c.swarmId === 'string' && c.swarmId.length <= 64 && Number.isSafeInteger(c.round) && typeof c.peerId === 'string'
    && c.peerId.length <= 128 && typeof c.root === 'string' && HEX64.test(c.root) && typeof c.nonce === 'string' && c.nonce.length <= 64
    && Array.isArray(c.rows) && c.rows.length >= 1 && c.rows.length <= MAX_CHALLENGED_ROWS
    && c.rows.every((r, i) => Number.isSafeInteger(r) && r >= 0 && (i === 0 || r > c.rows![i - 1]));
}

/** Answers challenges on VERIFY.protocol. Returns a function that stops serving. */
export async function serveChallenges(node: Libp2p, options: ServeChallengesOptions): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? VERIFY.timeoutMs;
  const now = options.now ?? (() => Date.now());
  const active = new Map<string, number>();
  // per peer: timestamps of the challenges answered in the last minute (at most perPeerPerMinute kept)
  const recent = new Map<string, number[]>();
  let inFlight = 0;
  const handler = async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString();
    const t = now();
    const times = (recent.get(peer) ?? []).filter((x) => t - x < 60_000);
    const busy = active.get(peer) ?? 0;
    const refusal = busy >= VERIFY.servesPerPeer ? 'busy: a challenge from this peer is in flight'
      : inFlight >= VERIFY.servesTotal ? `busy: ${VERIFY.servesTotal} challenges in flight`
        : times.length >= VERIFY.perPeerPerMinute ? `rate: at most ${VERIFY.perPeerPerMinute} challenges per minute per peer` : null;
    if (!refusal) times.push(t);
    recent.delete(peer);
    recent.set(peer, times);
    if (recent.size > VERIFY.maxTrackedPeers) recent.delete(recent.keys().next().value as string);
    active.set(peer, busy + 1);
    inFlight++;
    try {
      await withTimeout(serveOne(stream, peer, refusal), timeoutMs * 2, 'answering a challenge', () => stream.abort(new ChallengeTimeoutError('answer timed out')));
    } catch (error) {
      stream.abort(error as Error);
    } finally {
      inFlight--;
      const left = (active.get(peer) ?? 1) - 1;
      if (left > 0) active.set(peer, left);
      else active.delete(peer);
    }
  };
  const serveOne = async (stream: Stream, peer: string, refusal: string | null) => {
    const reply = async (json: object) => {
      stream.send(frame(json));
      await stream.close({ signal: AbortSignal.timeout(timeoutMs) });
    };
    const request = await new StreamReader(stream, timeoutMs).readFrame(VERIFY.maxRequestBytes, 'challenge').catch(() => null);
    if (!challengeShape(request)) return reply({ ok: false, reason: 'malformed challenge' });
    if (refusal) return reply({ ok: false, reason: refusal });
    let response: ChallengeResponse;
    try {
      response = await options.answer(request, peer);
    } catch (error) {
      return reply({ ok: false, reason: `${(error as Error).name}: ${(error as Error).message}`.slice(0, 200) });
    }
    await reply({ ok: true, response: encodeResponse(response) });
  };
  await node.handle(VERIFY.protocol, handler, { maxInboundStreams: VERIFY.servesPerPeer + 1, maxOutboundStreams: VERIFY.servesPerPeer + 1 });
  return () => node.unhandle(VERIFY.protocol);
}

/**
 * The most bytes an honest answer to `challenge` takes: per row, up to the committed token budget, tokens
 * (u32 at most) and logprobs (u16) in base64 (8 characters per token), and a proof of 68 characters a level.
 */
export function maxResponseBytes(commitment: Pick<SamplingCommitment, 'settings' | 'completions'>, rows: number): number {
  const depth = Math.ceil(Math.log2(Math.max(2, commitment.completions)));
  return 512 + rows * (128 + 8 * commitment.settings.maxNewTokens + 68 * depth);
}

export interface SendChallengeOptions {
  /** from maxResponseBytes: what the commitment allows, never what the peer says */
  maxBytes: number;
  timeoutMs?: number;
}

/** Sends `challenge` to its author; resolves with its response or throws one of the named errors. */
export async function sendChallenge(node: Libp2p, peer: PeerId, challenge: Challenge, options: SendChallengeOptions): Promise<ChallengeResponse> {
  const timeoutMs = options.timeoutMs ?? VERIFY.timeoutMs;
  const stream = await node.dialProtocol(peer, VERIFY.protocol, { signal: AbortSignal.timeout(timeoutMs) }).catch((error: Error) => {
    throw error.name === 'TimeoutError' || error.name === 'AbortError' ? new ChallengeTimeoutError(`timed out opening a challenge stream to ${peer}`) : error;
  });
  try {
    stream.send(frame(challenge));
    const reply = (await withTimeout(
      new StreamReader(stream, timeoutMs).readFrame(options.maxBytes, 'challenge response'), timeoutMs * 2, 'waiting for the answer',
      () => stream.abort(new ChallengeTimeoutError('timed out')),
    ).catch((error: Error) => {
      if (error.name === 'WeightsTimeoutError') throw new ChallengeTimeoutError(error.message);
      if (error.name === 'WeightsRejectedError') throw new ChallengeRejectedError(error.message);
      throw error;
    })) as { ok?: unknown; reason?: unknown; response?: unknown } | null;
    if (reply?.ok === false) throw new ChallengeRefusedError(`peer refused: ${typeof reply.reason === 'string' ? reply.reason.slice(0, 200) : 'no reason given'}`);
    if (reply?.ok !== true) throw new ChallengeRejectedError('malformed challenge response');
    let r: ChallengeResponse;
    try {
      r = decodeResponse(reply.response, challenge.rows.length);
    } catch (error) {
      throw new ChallengeRejectedError((error as Error).message);
    }
    if (r.root !== challenge.root || r.nonce !== challenge.nonce) throw new ChallengeRejectedError('the response answers another challenge');
    await stream.close({ signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
    return r;
  } catch (error) {
    stream.abort(error as Error);
    throw error;
  }
}
