// The weight protocol: one peer asks another for its current model weights (the meta-model's raw material:
// averaging with a random peer, "download the swarm model", spot checks of a rollout's model commitment).
//
//   request  = frame(JSON {v, family, want})            want: "current" or a SHA-256 hex content hash
//   reply    = frame(JSON {ok: true, family, hash, bytes}) + `bytes` raw bytes    (model.safetensors)
//            | frame(JSON {ok: false, reason})
//   frame    = u32 big-endian length + that many bytes
//
// A peer is a stranger: the receiver refuses another model family, a size over its cap (what the swarm's
// own model takes, never what the sender says) and bytes whose SHA-256 differs from the header's, each with a
// named error and a reason; the server refuses unknown families and serves a bounded number of requests
// per peer at once. Every read, write and the whole exchange run under timeouts.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import { peerIdFromString } from '@libp2p/peer-id';
import { WEIGHTS } from './constants.ts';

/** What a server hands out: the serialized weights and their content hash. */
export interface ServedWeights {
  bytes: Uint8Array;
  /** SHA-256 hex of `bytes` */
  hash: string;
  /**
   * the parameters' content hash (src/rl/verify weightsHash) when known: what a rollout's sampling
   * commitment names; the receiver re-hashes the parameters itself before trusting it
   */
  params?: string;
}

export interface FetchedWeights extends ServedWeights {
  family: string;
  peerId: string;
}

/** The peer answered, and said no (wrong family, not held, busy): `reason` is its word. */
export class WeightsRefusedError extends Error {
  override name = 'WeightsRefusedError';
}

/** What the peer sent breaks the protocol or our limits: oversize, hash mismatch, wrong family, malformed. */
export class WeightsRejectedError extends Error {
  override name = 'WeightsRejectedError';
}

export class WeightsTimeoutError extends Error {
  override name = 'WeightsTimeoutError';
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const HASH = /^[0-9a-f]{64}$/;
const FAMILY = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export function frame(json: object): Uint8Array {
  const body = utf8.encode(JSON.stringify(json));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

function chunkBytes(chunk: Uint8Array | { subarray(): Uint8Array }): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray();
}

/** Reads exact byte counts off a stream, each read under a deadline; a stream ending early is an error. */
export class StreamReader {
  private readonly it: AsyncIterator<Uint8Array | { subarray(): Uint8Array }>;
  private buffered: Uint8Array[] = [];
  private have = 0;

  constructor(
    private readonly stream: Stream,
    private readonly timeoutMs: number,
  ) {
    this.it = stream[Symbol.asyncIterator]();
  }

  async read(n: number, what: string): Promise<Uint8Array> {
    while (this.have < n) {
      const next = await withTimeout(this.it.next(), this.timeoutMs, `reading ${what}`, () => this.stream.abort(new WeightsTimeoutError(`timed out reading ${what}`)));
      if (next.done) throw new WeightsRejectedError(`the stream ended after ${this.have} of ${n} bytes of ${what}`);
      const bytes = chunkBytes(next.value);
      this.buffered.push(bytes);
      this.have += bytes.length;
    }
    const all = this.buffered.length === 1 ? this.buffered[0] : concat(this.buffered, this.have);
    this.buffered = all.length > n ? [all.subarray(n)] : [];
    this.have = all.length - n;
    return all.subarray(0, n);
  }

  async readFrame(maxBytes: number, what: string): Promise<unknown> {
    // not head.slice().buffer: a Node Buffer's slice is a view, its .buffer the whole pool
    const head = await this.read(4, `${what} length`);
    const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    if (length > maxBytes) throw new WeightsRejectedError(`${what} of ${length} bytes is over the ${maxBytes}-byte limit`);
    try {
      return JSON.parse(fromUtf8.decode(await this.read(length, what)));
    } catch (error) {
      if (error instanceof WeightsRejectedError || error instanceof WeightsTimeoutError) throw error;
      throw new WeightsRejectedError(`${what} is not UTF-8 JSON`);
    }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new WeightsTimeoutError(`timed out ${what} after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Writes in slices, waiting for the stream to drain when its buffer is full (weights are MiBs). */
async function writeAll(stream: Stream, bytes: Uint8Array, timeoutMs: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += WEIGHTS.chunkBytes) {
    if (!stream.send(bytes.subarray(at, at + WEIGHTS.chunkBytes))) {
      await stream.onDrain({ signal: AbortSignal.timeout(timeoutMs) }).catch((error: Error) => {
        throw error.name === 'TimeoutError' || error.name === 'AbortError' ? new WeightsTimeoutError(`timed out writing weights after ${timeoutMs} ms`) : error;
      });
    }
  }
}

export interface ServeOptions {
  /** the model family this tab trains (see modelFamily), or a getter (null: no model loaded yet); requests for any other are refused */
  family: string | (() => string | null);
  /** this tab's current weights (null: none to give yet); called once per request */
  current(): Promise<ServedWeights | null>;
  /**
   * an earlier version this tab still keeps (a rollout of last round names the weights it sampled with),
   * looked up by file or parameter hash; null when not kept
   */
  byHash?(hash: string): Promise<ServedWeights | null>;
  /** concurrent serves per peer (default WEIGHTS.servesPerPeer) and in all (WEIGHTS.servesTotal) */
  servesPerPeer?: number;
  servesTotal?: number;
  timeoutMs?: number;
}

/** Serves this node's weights on WEIGHTS.protocol. Returns a function that stops serving. */
export async function serveWeights(node: Libp2p, options: ServeOptions): Promise<() => Promise<void>> {
  const perPeer = options.servesPerPeer ?? WEIGHTS.servesPerPeer;
  const timeoutMs = options.timeoutMs ?? WEIGHTS.timeoutMs;
  const total = options.servesTotal ?? WEIGHTS.servesTotal;
  const active = new Map<string, number>();
  let inFlight = 0;
  const handler = async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString();
    const busy = active.get(peer) ?? 0;
    const refusal = busy >= perPeer ? `busy: ${perPeer} transfers to this peer are in flight` : inFlight >= total ? `busy: ${total} transfers in flight` : null;
    active.set(peer, busy + 1);
    inFlight++;
    try {
      await withTimeout(serveOne(stream, refusal), timeoutMs * 4, 'serving weights', () => stream.abort(new WeightsTimeoutError('serve timed out')));
    } catch (error) {
      stream.abort(error as Error);
    } finally {
      inFlight--;
      const left = (active.get(peer) ?? 1) - 1;
      if (left > 0) active.set(peer, left);
      else active.delete(peer);
    }
  };
  const serveOne = async (stream: Stream, busy: string | null) => {
    const reader = new StreamReader(stream, timeoutMs);
    const refuse = async (reason: string) => {
      stream.send(frame({ ok: false, reason }));
      await stream.close({ signal: AbortSignal.timeout(timeoutMs) });
    };
    const request = await reader.readFrame(WEIGHTS.maxRequestBytes, 'request').catch(() => null);
    const r = request as { v?: unknown; family?: unknown; want?: unknown } | null;
    if (!r || r.v !== 1 || typeof r.family !== 'string' || typeof r.want !== 'string') return refuse('malformed request');
    if (busy) return refuse(busy);
    const family = typeof options.family === 'function' ? options.family() : options.family;
    if (family === null) return refuse('no model loaded yet');
    if (r.family !== family) return refuse(`wrong model family: this peer trains ${family}`);
    const current = await options.current();
    if (!current) return refuse('no weights to give yet');
    const wanted = r.want === 'current' || r.want === current.hash || r.want === current.params ? current : HASH.test(r.want) ? await options.byHash?.(r.want) : null;
    if (!wanted) return refuse(`not held: this peer's weights are now ${current.hash}`);
    const weights = wanted;
    stream.send(frame({ ok: true, family, hash: weights.hash, bytes: weights.bytes.length, ...(weights.params ? { params: weights.params } : {}) }));
    await writeAll(stream, weights.bytes, timeoutMs);
    await stream.close({ signal: AbortSignal.timeout(timeoutMs) });
  };
  await node.handle(WEIGHTS.protocol, handler, { maxInboundStreams: perPeer + 1, maxOutboundStreams: perPeer + 1 });
  return () => node.unhandle(WEIGHTS.protocol);
}

export interface FetchOptions {
  /** the swarm's model family: a reply for another is refused */
  family: string;
  /** "current", or the content hash wanted (e.g. to check a rollout's model commitment) */
  want?: string;
  /** the most bytes accepted: what the swarm's model takes serialized (never the sender's claim) */
  maxBytes: number;
  timeoutMs?: number;
}

/**
 * The peers among `peers` that said (in identify) they serve the weight protocol, then those identify has not
 * answered for yet: watch-only pages such as the conference screen share the topic but serve no weights, and
 * asking them would only count a refusal.
 *
 * "Not answered yet" is read from identify's own mark (the protocol and agent versions it stores), never from an
 * empty protocol list: libp2p records every negotiated stream's protocol, and a peer is on our topic only after its
 * gossipsub stream reached us, which it opens once IT has identified US, whether or not our identify of it answered.
 * So a topic peer whose identify by us is in flight, or failed (identify runs once per connection, at open, and is
 * not retried), lists gossipsub and not the weights. Read as "serves none", it left "Download the swarm model" with
 * 0 peers and nothing refused (a CI flake). Asking such a peer costs one refused stream at worst.
 */
export async function weightServers(node: Libp2p, peers: readonly string[]): Promise<string[]> {
  const verdicts = await Promise.all(peers.map(async (p): Promise<'serves' | 'unknown' | 'no'> => {
    try {
      const { protocols, metadata } = await node.peerStore.get(peerIdFromString(p));
      if (protocols.includes(WEIGHTS.protocol)) return 'serves';
      return metadata.has('ProtocolVersion') || metadata.has('AgentVersion') ? 'no' : 'unknown';
    } catch {
      return 'no'; // not in the peer store (yet): nothing known about it, nothing to ask
    }
  }));
  return [...peers.filter((_, i) => verdicts[i] === 'serves'), ...peers.filter((_, i) => verdicts[i] === 'unknown')];
}

/**
 * Weight servers in the order a tab asks them: with the swarm's `preferBound`, peers whose id is bound to an
 * account (a verified identity binding) first, so a stranger's fresh ids do not crowd bound peers out of a
 * capped download; otherwise as given.
 */
export function boundFirst(servers: readonly string[], preferBound: boolean, isBound: (peerId: string) => boolean): string[] {
  if (!preferBound) return [...servers];
  return [...servers.filter(isBound), ...servers.filter((p) => !isBound(p))];
}

/**
 * The peers a periodic average picks one from at random: with `preferBound`, the bound ones when there are
 * any (a sybil's many fresh ids do not multiply its chance against them); otherwise every server.
 */
export function averagingCandidates(servers: readonly string[], preferBound: boolean, isBound: (peerId: string) => boolean): string[] {
  const bound = preferBound ? servers.filter(isBound) : [];
  return bound.length > 0 ? bound : [...servers];
}

/** Fetches `peer`'s weights; throws WeightsRefusedError, WeightsRejectedError or WeightsTimeoutError with a reason. */
export async function fetchWeights(node: Libp2p, peer: PeerId, options: FetchOptions): Promise<FetchedWeights> {
  const timeoutMs = options.timeoutMs ?? WEIGHTS.timeoutMs;
  const want = options.want ?? 'current';
  if (want !== 'current' && !HASH.test(want)) throw new RangeError('want must be "current" or a SHA-256 hex hash');
  const stream = await node.dialProtocol(peer, WEIGHTS.protocol, { signal: AbortSignal.timeout(timeoutMs) }).catch((error: Error) => {
    throw error.name === 'TimeoutError' || error.name === 'AbortError' ? new WeightsTimeoutError(`timed out opening a weights stream to ${peer}`) : error;
  });
  try {
    stream.send(frame({ v: 1, family: options.family, want }));
    const reader = new StreamReader(stream, timeoutMs);
    const header = (await reader.readFrame(WEIGHTS.maxHeaderBytes, 'reply header')) as Record<string, unknown> | null;
    if (header?.ok === false) {
      throw new WeightsRefusedError(`peer refused: ${typeof header.reason === 'string' ? header.reason.slice(0, 200) : 'no reason given'}`);
    }
    if (header?.ok !== true || typeof header.family !== 'string' || !FAMILY.test(header.family) || typeof header.hash !== 'string' || !HASH.test(header.hash) || !Number.isSafeInteger(header.bytes) || (header.bytes as number) < 0) {
      throw new WeightsRejectedError('malformed reply header');
    }
    if (header.family !== options.family) throw new WeightsRejectedError(`wrong model family: asked for ${options.family}, the peer sent ${header.family.slice(0, 64)}`);
    // a parameter hash is only the peer's word here: whoever uses it re-hashes the parameters (spot checks do)
    if (want !== 'current' && header.hash !== want && header.params !== want) throw new WeightsRejectedError(`asked for weights ${want}, the peer announced ${header.hash}`);
    const length = header.bytes as number;
    if (length > options.maxBytes) throw new WeightsRejectedError(`oversize: the peer announced ${length} bytes, this swarm's model takes at most ${options.maxBytes}`);
    const bytes = (await reader.read(length, 'weights')).slice();
    const hash = await sha256Hex(bytes);
    if (hash !== header.hash) throw new WeightsRejectedError(`hash mismatch: the bytes hash to ${hash}, the peer announced ${header.hash}`);
    await stream.close({ signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
    return { bytes, hash, family: header.family, peerId: peer.toString() };
  } catch (error) {
    stream.abort(error as Error);
    throw error;
  }
}

/** The family a swarm's weights belong to: the architecture, so weights of one family can be averaged. */
export function modelFamily(config: { model_type: string; vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number; num_key_value_heads: number }): string {
  const c = config;
  return `${c.model_type}-v${c.vocab_size}-h${c.hidden_size}-i${c.intermediate_size}-l${c.num_hidden_layers}-a${c.num_attention_heads}-kv${c.num_key_value_heads}`;
}
