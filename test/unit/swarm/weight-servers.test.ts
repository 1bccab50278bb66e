// Which topic peers "Download the swarm model" and periodic averaging ask for weights (weightServers), between real
// libp2p nodes in Node (websockets on 127.0.0.1, noise, yamux, gossipsub, identify). The CI flake "the mean of 1
// model (this tab's and 0 peers'), nothing refused": a topic peer is only a topic peer once its gossipsub stream
// was negotiated, and libp2p records every negotiated protocol in the peer store. So a peer whose identify has not
// completed (still in flight, or failed: identify runs once per connection and is never retried) holds a non-empty
// protocol list without the weight protocol, and was read as "does not serve weights".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify, type Identify } from '@libp2p/identify';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { WEIGHTS } from '../../../src/swarm/constants.ts';
import { serveWeights, sha256Hex, weightServers } from '../../../src/swarm/weights.ts';

type Node = Libp2p<{ identify: Identify; pubsub: GossipSub }>;
const TOPIC = 'tabswarm/test/weight-servers';

/** `self` never identifies on its own (the test says when); the others identify it as libp2p always does */
async function node(listen: boolean, identifyOnOpen: boolean): Promise<Node> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify({ runOnConnectionOpen: identifyOnOpen }), pubsub: gossipsub() },
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let self: Node, unidentified: Node, identifiedServer: Node, watcher: Node;

beforeAll(async () => {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
    const ws = (await import('ws' as string)) as { WebSocket: unknown };
    (globalThis as { WebSocket?: unknown }).WebSocket = ws.WebSocket;
  }
  [self, unidentified, identifiedServer, watcher] = await Promise.all([node(true, false), node(false, true), node(false, true), node(false, true)]);
  const bytes = new Uint8Array([1, 2, 3]);
  const weights = { bytes, hash: await sha256Hex(bytes) };
  // two tabs that serve weights, and a watch-only screen that shares the topic and serves none
  for (const server of [unidentified, identifiedServer]) await serveWeights(server, { family: 'llama-test', current: async () => weights });
  for (const n of [self, unidentified, identifiedServer, watcher]) n.services.pubsub.subscribe(TOPIC);
  for (const n of [unidentified, identifiedServer, watcher]) await n.dial(self.getMultiaddrs()[0]);
  // each peer identified `self`, so its gossipsub opened a stream and sent its subscription: `self` has it on
  // the topic though `self` has not identified it (its identify still in flight, or failed)
  await until('all three on the topic', () => self.services.pubsub.getSubscribers(TOPIC).length === 3);
  for (const n of [identifiedServer, watcher]) await self.services.identify.identify(self.getConnections(n.peerId)[0]);
}, 30_000);

afterAll(async () => {
  await Promise.all([self, unidentified, identifiedServer, watcher].map((n) => n?.stop()));
});

describe('weightServers', () => {
  it('asks a topic peer whose identify has not completed, though the peer store already lists its gossip protocols', async () => {
    const stored = await self.peerStore.get(unidentified.peerId);
    expect(stored.protocols.length, 'the negotiated gossipsub stream is on record before identify').toBeGreaterThan(0);
    expect(stored.protocols).not.toContain(WEIGHTS.protocol);
    const topic = self.services.pubsub.getSubscribers(TOPIC).map(String);
    const servers = await weightServers(self, topic);
    expect(servers).toContain(unidentified.peerId.toString());
  });

  it('skips an identified peer that does not serve weights, and puts the identified servers first', async () => {
    expect((await self.peerStore.get(identifiedServer.peerId)).protocols).toContain(WEIGHTS.protocol);
    const topic = self.services.pubsub.getSubscribers(TOPIC).map(String);
    const servers = await weightServers(self, [unidentified.peerId.toString(), ...topic.filter((p) => p !== unidentified.peerId.toString())]);
    expect(servers).toEqual([identifiedServer.peerId.toString(), unidentified.peerId.toString()]);
    expect(await weightServers(self, ['12D3KooWGAEBgKdgKtkRFMPdvmn2wBsPbCo1B4rS2sTfSPkybWV8', 'not a peer id'])).toEqual([]);
  });

  it('once identify completed, what it said decides', async () => {
    await self.services.identify.identify(self.getConnections(unidentified.peerId)[0]);
    expect(await weightServers(self, [watcher.peerId.toString()])).toEqual([]);
    expect(await weightServers(self, [unidentified.peerId.toString()])).toEqual([unidentified.peerId.toString()]);
  });
});
