// The bootstrap relay: websockets for browsers, circuit relay v2 so browsers can signal WebRTC through it,
// gossipsub + pubsub peer discovery so peers learn about each other. It carries no training traffic: it
// never subscribes to a swarm's rounds topic, and gossipsub does not run over relayed (limited) circuits.
import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { circuitRelayServer } from '@libp2p/circuit-relay-v2';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { discoveryTopic, RELAY_DATA_LIMIT, RELAY_DURATION_LIMIT_MS } from '../src/swarm/constants.ts';

export interface RelayOptions {
  host?: string;
  port?: number;
  /** HTTP health endpoint port; 0 picks a free one, null disables it. */
  healthPort?: number | null;
  swarmId?: string;
  /**
   * File holding the relay's private key (created when missing): a restarted relay keeps its peer id, so the
   * /p2p/<id> addresses peers were given stay valid.
   */
  keyFile?: string;
  /** how many swarms' discovery topics the relay forwards at most (one relay can serve several swarms) */
  maxSwarms?: number;
  /** addresses to announce instead of the listen address, e.g. /dns4/relay.example/tcp/443/wss behind TLS */
  announce?: string[];
  /** new discovery topics one remote peer may make the relay join (default 2) */
  topicsPerPeer?: number;
  /** circuit reservations held from one remote host at once (default 128: a booth's tabs share an address) */
  reservationsPerHost?: number;
  /** relayed connections (WebRTC signalling) one remote peer may open per minute (default 60) */
  relayedDialsPerMinute?: number;
}

export interface RunningRelay {
  node: Libp2p<{ pubsub: GossipSub }>;
  multiaddrs: string[];
  healthUrl: string | null;
  stop(): Promise<void>;
}

export class RelayKeyError extends Error {
  override name = 'RelayKeyError';
}

async function loadOrCreateKey(file: string): Promise<PrivateKey> {
  let bytes: Buffer | null = null;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RelayKeyError(`cannot read relay key ${file}: ${(error as Error).message}`);
  }
  if (bytes) {
    try {
      return privateKeyFromProtobuf(new Uint8Array(bytes));
    } catch (error) {
      throw new RelayKeyError(`relay key ${file} is not a libp2p private key: ${(error as Error).message}`);
    }
  }
  const key = await generateKeyPair('Ed25519');
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 });
  return key;
}

const DISCOVERY_TOPIC = /^tabswarm\/[a-z0-9][a-z0-9-]{0,62}\/discovery\/1$/;

/**
 * Peers find each other through the relay's gossip on their swarm's discovery topic, and gossipsub only
 * forwards topics it is subscribed to: so the relay joins the discovery topic of every swarm its peers
 * join (bounded), never the swarms' rounds topics.
 */
function serveDiscoveryTopics(pubsub: GossipSub, ownSwarm: string, maxSwarms: number, perPeer: number): Set<string> {
  const served = new Set([discoveryTopic(ownSwarm)]);
  // one remote peer cannot use up the relay's topics: each may add only a few (bounded map of who added)
  const addedBy = new Map<string, number>();
  pubsub.addEventListener('subscription-change', (event) => {
    const who = event.detail.peerId.toString();
    for (const { topic, subscribe } of event.detail.subscriptions) {
      if (!subscribe || served.has(topic) || !DISCOVERY_TOPIC.test(topic) || served.size >= maxSwarms) continue;
      const added = addedBy.get(who) ?? 0;
      if (added >= perPeer) continue;
      addedBy.set(who, added + 1);
      if (addedBy.size > 4 * maxSwarms) addedBy.delete(addedBy.keys().next().value as string);
      served.add(topic);
      pubsub.subscribe(topic);
    }
  });
  return served;
}

/** the remote host of a peer's first open connection (the IP in /ip4/<ip>/... or /ip6/<ip>/...) */
function remoteHost(node: Libp2p, peer: PeerId): string | null {
  const conn = node.getConnections(peer)[0];
  return conn ? (conn.remoteAddr.toString().split('/')[2] ?? null) : null;
}

/** Bounds what one remote peer or host can hold of the relay: reservations per host, relayed dials per minute. */
function relayGater(getNode: () => Libp2p | null, options: { reservationsPerHost: number; relayedDialsPerMinute: number }) {
  const dials = new Map<string, { count: number; windowStart: number }>();
  return {
    denyInboundRelayReservation: (source: PeerId) => {
      const node = getNode();
      if (!node) return false;
      const host = remoteHost(node, source);
      if (host === null) return false;
      const relay = node.services as { relay?: { reservations?: Map<unknown, unknown> } };
      const holders = [...(relay.relay?.reservations?.keys() ?? [])].map(String).filter((id) => id !== source.toString());
      const sameHost = holders.filter((id) => node.getConnections().some((c) => c.remotePeer.toString() === id && c.remoteAddr.toString().split('/')[2] === host));
      return sameHost.length >= options.reservationsPerHost;
    },
    denyOutboundRelayedConnection: (source: PeerId) => {
      const id = source.toString();
      const now = Date.now();
      const entry = dials.get(id);
      if (!entry || now - entry.windowStart > 60_000) {
        dials.delete(id);
        dials.set(id, { count: 1, windowStart: now });
        if (dials.size > 4096) dials.delete(dials.keys().next().value as string);
        return false;
      }
      entry.count++;
      return entry.count > options.relayedDialsPerMinute;
    },
  };
}

export async function startRelay(options: RelayOptions = {}): Promise<RunningRelay> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9090;
  const swarmId = options.swarmId ?? 'local';
  const privateKey = options.keyFile ? await loadOrCreateKey(options.keyFile) : undefined;
  let started: Libp2p | null = null;
  const node = await createLibp2p({
    connectionGater: relayGater(() => started, { reservationsPerHost: options.reservationsPerHost ?? 128, relayedDialsPerMinute: options.relayedDialsPerMinute ?? 60 }),
    ...(privateKey ? { privateKey } : {}),
    addresses: { listen: [`/ip4/${host}/tcp/${port}/ws`], ...(options.announce ? { announce: options.announce } : {}) },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // a booth opens many tabs from one address within a second; the default (5/s per host) would refuse them
    connectionManager: { maxConnections: 1024, inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 },
    services: {
      identify: identify(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: 1024,
          defaultDataLimit: RELAY_DATA_LIMIT,
          defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
        },
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        // tabs behind one NAT (or on one machine) share an IP; the relay must not penalise that
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
    peerDiscovery: [pubsubPeerDiscovery({ topics: [discoveryTopic(swarmId)], interval: 5_000 })],
  });
  await node.start();
  started = node;
  const multiaddrs = node.getMultiaddrs().map((ma) => ma.toString());
  const served = serveDiscoveryTopics(node.services.pubsub, swarmId, options.maxSwarms ?? 64, options.topicsPerPeer ?? 2);

  let server: http.Server | null = null;
  let healthUrl: string | null = null;
  if (options.healthPort !== null) {
    server = http.createServer((req, res) => {
      if (req.url !== '/health' && req.url !== '/') {
        res.writeHead(404).end();
        return;
      }
      const connections = node.getConnections();
      const body = JSON.stringify({
        ok: node.status === 'started',
        peerId: node.peerId.toString(),
        multiaddrs,
        swarmId,
        connections: connections.length,
        peers: node.getPeers().length,
        discoverySubscribers: node.services.pubsub.getSubscribers(discoveryTopic(swarmId)).length,
        swarms: served.size,
        uptimeS: Math.round(process.uptime()),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(options.healthPort ?? 0, host, resolve);
    });
    const address = server.address();
    if (address && typeof address === 'object') healthUrl = `http://${host}:${address.port}/health`;
  }

  let stopped: Promise<void> | null = null;
  return {
    node,
    multiaddrs,
    healthUrl,
    stop() {
      stopped ??= (async () => {
        // stop accepting health checks first, then close every peer connection cleanly
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        server?.closeAllConnections();
        await node.stop();
      })();
      return stopped;
    },
  };
}
