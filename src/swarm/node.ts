// One createNode for browser and Node peers: websockets to reach the relay, circuit relay v2 to signal,
// WebRTC for the direct peer-to-peer links that carry the swarm's traffic.
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { webRTC } from '@libp2p/webrtc';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub } from '@libp2p/gossipsub';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import type { PrivateKey } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { discoveryTopic } from './constants.ts';

export interface SwarmNodeOptions {
  swarmId: string;
  relayAddrs: string[];
  privateKey?: PrivateKey;
  /** Local/dev swarms dial ws:// and loopback addresses, which the browser's default gater refuses. */
  allowPrivateAddresses?: boolean;
}

export async function createSwarmNode(options: SwarmNodeOptions): Promise<Libp2p> {
  const node = await createLibp2p({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: [] } }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: options.allowPrivateAddresses ? { denyDialMultiaddr: () => false } : {},
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
    },
    peerDiscovery: [pubsubPeerDiscovery({ topics: [discoveryTopic(options.swarmId)], interval: 5_000 })],
  });
  await node.start();
  for (const addr of options.relayAddrs) {
    try {
      await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      console.warn(`could not reach relay ${addr}: ${(error as Error).message}`);
    }
  }
  return node;
}
