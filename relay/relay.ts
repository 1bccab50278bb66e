// The bootstrap relay: websockets for browsers, circuit relay v2 so browsers can signal WebRTC through it,
// gossipsub + pubsub peer discovery so peers learn about each other. It carries no training traffic.
import http from 'node:http';
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { circuitRelayServer } from '@libp2p/circuit-relay-v2';
import { gossipsub } from '@libp2p/gossipsub';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import { discoveryTopic, RELAY_DATA_LIMIT, RELAY_DURATION_LIMIT_MS } from '../src/swarm/constants.ts';

export interface RelayOptions {
  host?: string;
  port?: number;
  /** HTTP health endpoint port; 0 picks a free one, null disables it. */
  healthPort?: number | null;
  swarmId?: string;
}

export interface RunningRelay {
  node: Libp2p;
  multiaddrs: string[];
  healthUrl: string | null;
  stop(): Promise<void>;
}

export async function startRelay(options: RelayOptions = {}): Promise<RunningRelay> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9090;
  const swarmId = options.swarmId ?? 'local';
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/${host}/tcp/${port}/ws`] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 1024 },
    services: {
      identify: identify(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: 1024,
          defaultDataLimit: RELAY_DATA_LIMIT,
          defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
        },
      }),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
    peerDiscovery: [pubsubPeerDiscovery({ topics: [discoveryTopic(swarmId)], interval: 5_000 })],
  });
  await node.start();
  const multiaddrs = node.getMultiaddrs().map((ma) => ma.toString());

  let server: http.Server | null = null;
  let healthUrl: string | null = null;
  if (options.healthPort !== null) {
    server = http.createServer((req, res) => {
      if (req.url !== '/health' && req.url !== '/') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.stringify({
        ok: true,
        peerId: node.peerId.toString(),
        multiaddrs,
        connections: node.getConnections().length,
        peers: node.getPeers().length,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(body);
    });
    await new Promise<void>((resolve) => server!.listen(options.healthPort ?? 0, host, resolve));
    const address = server.address();
    if (address && typeof address === 'object') healthUrl = `http://${host}:${address.port}/health`;
  }

  return {
    node,
    multiaddrs,
    healthUrl,
    async stop() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await node.stop();
    },
  };
}
