// The weight protocol between two real libp2p nodes in Node (websockets on 127.0.0.1, noise, yamux): a good
// transfer round-trips bit-identically; a wrong model family, a hash the peer does not hold, an oversize
// reply, a hash mismatch and a lying family are refused with named errors and reasons; a busy server says
// so; a silent one times out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import type { Stream } from '@libp2p/interface';
import { WEIGHTS } from '../../../src/swarm/constants.ts';
import {
  fetchWeights, modelFamily, serveWeights, sha256Hex, WeightsRefusedError, WeightsRejectedError, WeightsTimeoutError, type ServedWeights,
} from '../../../src/swarm/weights.ts';

const FAMILY = modelFamily({ model_type: 'llama', vocab_size: 379, hidden_size: 64, intermediate_size: 192, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 });

async function node(listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

/** deterministic pseudo-random bytes, several stream chunks long */
function weightsBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 24;
  return out;
}

function frame(json: object): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

let server: Libp2p, client: Libp2p;
let weights: ServedWeights;

beforeAll(async () => {
  // Node 20 keeps its WebSocket client behind a flag; the `ws` package (what the websockets listener runs
  // on) speaks the same API for libp2p's dialer
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
    const ws = (await import('ws' as string)) as { WebSocket: unknown };
    (globalThis as { WebSocket?: unknown }).WebSocket = ws.WebSocket;
  }
  [server, client] = await Promise.all([node(true), node(false)]);
  const bytes = weightsBytes(300_000, 7);
  weights = { bytes, hash: await sha256Hex(bytes) };
  await client.dial(server.getMultiaddrs()[0]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), client?.stop()]);
});

/** serves with serveWeights for one test, then stops */
async function serving<T>(options: Partial<Parameters<typeof serveWeights>[1]>, body: () => Promise<T>): Promise<T> {
  const stop = await serveWeights(server, { family: FAMILY, current: async () => weights, ...options });
  try {
    return await body();
  } finally {
    await stop();
  }
}

/** a dishonest server: reads the request, then sends exactly `reply` */
async function lying<T>(reply: Uint8Array[], body: () => Promise<T>): Promise<T> {
  await server.handle(WEIGHTS.protocol, async (stream: Stream) => {
    for await (const _ of stream) break; // the request
    for (const part of reply) stream.send(part);
    await stream.close();
  });
  try {
    return await body();
  } finally {
    await server.unhandle(WEIGHTS.protocol);
  }
}

describe('weight protocol', () => {
  it('sends the current weights bit-identically, and a named hash when it holds it', async () => {
    await serving({}, async () => {
      const got = await fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 });
      expect(got.hash).toBe(weights.hash);
      expect(got.family).toBe(FAMILY);
      expect(got.peerId).toBe(server.peerId.toString());
      expect(got.bytes.length).toBe(weights.bytes.length);
      expect(Buffer.from(got.bytes).equals(Buffer.from(weights.bytes))).toBe(true);
      const named = await fetchWeights(client, server.peerId, { family: FAMILY, want: weights.hash, maxBytes: 1 << 20 });
      expect(named.hash).toBe(weights.hash);
    });
  });

  it('refuses another model family and hashes it does not hold, with reasons', async () => {
    await serving({}, async () => {
      const other = FAMILY.replace('h64', 'h128');
      await expect(fetchWeights(client, server.peerId, { family: other, maxBytes: 1 << 20 })).rejects.toThrow(WeightsRefusedError);
      await expect(fetchWeights(client, server.peerId, { family: other, maxBytes: 1 << 20 })).rejects.toThrow(/wrong model family: this peer trains llama-v379-h64/);
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, want: 'ab'.repeat(32), maxBytes: 1 << 20 })).rejects.toThrow(/not held: this peer's weights are now [0-9a-f]{64}/);
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, want: 'current-ish', maxBytes: 1 << 20 })).rejects.toThrow(RangeError);
    });
  });

  it('refuses oversize weights by the receiver\u2019s own cap, before reading them', async () => {
    await serving({}, async () => {
      const error = await fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 299_999 }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(WeightsRejectedError);
      expect((error as Error).message).toMatch(/oversize: the peer announced 300000 bytes, this swarm's model takes at most 299999/);
    });
  });

  it('rejects bytes that do not match the announced hash, and a reply for another family', async () => {
    const bytes = weightsBytes(1000, 1);
    const wrongHash = await sha256Hex(weightsBytes(1000, 2));
    await lying([frame({ ok: true, family: FAMILY, hash: wrongHash, bytes: 1000 }), bytes], async () => {
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 })).rejects.toThrow(/hash mismatch: the bytes hash to [0-9a-f]{64}, the peer announced/);
    });
    await lying([frame({ ok: true, family: 'gpt2-v50257', hash: await sha256Hex(bytes), bytes: 1000 }), bytes], async () => {
      const error = await fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(WeightsRejectedError);
      expect((error as Error).message).toMatch(/wrong model family: asked for llama.*, the peer sent gpt2-v50257/);
    });
    await lying([frame({ ok: true, family: FAMILY, hash: await sha256Hex(bytes), bytes: 1000 }), bytes.subarray(0, 10)], async () => {
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 })).rejects.toThrow(/stream ended after 10 of 1000 bytes/);
    });
    await lying([new Uint8Array([0xff, 0xff, 0xff, 0xff])], async () => {
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 })).rejects.toThrow(/reply header of 4294967295 bytes is over the 1024-byte limit/);
    });
  });

  it('serves a bounded number of transfers per peer at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await serving({ servesPerPeer: 1, current: async () => (await gate, weights) }, async () => {
      const first = fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 });
      await new Promise((r) => setTimeout(r, 200));
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 })).rejects.toThrow(/busy: 1 transfers to this peer are in flight/);
      release();
      expect((await first).hash).toBe(weights.hash);
    });
  });

  it('serves a bounded number of transfers in all', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await serving({ servesPerPeer: 5, servesTotal: 1, current: async () => (await gate, weights) }, async () => {
      const first = fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 });
      await new Promise((r) => setTimeout(r, 200));
      await expect(fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20 })).rejects.toThrow(/busy: 1 transfers in flight/);
      release();
      expect((await first).hash).toBe(weights.hash);
    });
  });

  it('times out on a peer that never answers', async () => {
    await server.handle(WEIGHTS.protocol, async () => new Promise<void>(() => undefined));
    try {
      const error = await fetchWeights(client, server.peerId, { family: FAMILY, maxBytes: 1 << 20, timeoutMs: 300 }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(WeightsTimeoutError);
    } finally {
      await server.unhandle(WEIGHTS.protocol);
    }
  });
});
