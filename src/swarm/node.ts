// One createNode for browser and Node peers: websockets to reach the relay, circuit relay v2 to signal,
// WebRTC for the direct peer-to-peer links that carry the swarm's traffic (in Node, @libp2p/webrtc runs on
// node-datachannel). libp2p v3 has no auto-dialer: dialer.ts dials discovered peers (and re-dials dropped
// links), this module keeps the relay connections alive.
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { webRTC } from '@libp2p/webrtc';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify, type Identify } from '@libp2p/identify';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import type { Connection, PeerId, PrivateKey } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { PeerDialer } from './dialer.ts';
import { DIAL, GOSSIPSUB_MAX_BYTES, discoveryTopic, swarmTopic } from './constants.ts';
import { serveWeights, type ServeOptions } from './weights.ts';

export type SwarmLibp2p = Libp2p<{ identify: Identify; pubsub: GossipSub }>;

export interface SwarmNodeOptions {
  swarmId: string;
  relayAddrs: string[];
  privateKey?: PrivateKey;
  /** Local/dev swarms dial ws:// and loopback addresses, which the browser's default gater refuses. */
  allowPrivateAddresses?: boolean;
  /** application score per peer id (gossipsub P5); e.g. SwarmValidator.scores.get */
  appScore?: (peerId: string) => number;
  /** peers this node never connects to (diagnostics: forces gossip through a third peer) */
  denyPeers?: string[];
  /** dial discovered peers over WebRTC (default true) */
  autoDial?: boolean;
  /** how often to announce ourselves on the discovery topic (default 1.5 s on local swarms, 5 s otherwise) */
  discoveryIntervalMs?: number;
  log?: (line: string) => void;
  /** serve this node's weights on the weight protocol (src/swarm/weights.ts) */
  weights?: ServeOptions;
}

/** A connection is direct when it runs over WebRTC rather than through the relay's circuit. */
export function isDirect(connection: Connection): boolean {
  return /\/webrtc(\/|$)/.test(connection.remoteAddr.toString()) && connection.status === 'open';
}

export function hasDirectConnection(node: Libp2p, peer: PeerId): boolean {
  return node.getConnections(peer).some(isDirect);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function createSwarmNode(options: SwarmNodeOptions): Promise<SwarmLibp2p> {
  const topic = swarmTopic(options.swarmId);
  const denied = new Set(options.denyPeers ?? []);
  const deny = (peer: PeerId) => denied.has(peer.toString());
  const node = await createLibp2p({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [webSockets(), webRTC({ rtcConfiguration: { iceServers: [] } }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // every relayed (signalling) connection arrives "from" the relay's IP, so a mesh forming at once would hit
    // the default 5 inbound connections per second per host and 10 pending; refused handshakes look like stalls
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 },
    connectionGater: {
      ...(options.allowPrivateAddresses ? { denyDialMultiaddr: () => false } : {}),
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundRelayedConnection: (_relay, remote) => deny(remote),
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        // StrictSign: every message carries its author's key and signature, checked before our validator runs
        globalSignaturePolicy: 'StrictSign',
        // id = author's peer id bytes + their sequence number: includes the sender, so ids never collide
        msgIdFn: (msg) => {
          if (msg.type !== 'signed') return new TextEncoder().encode(`unsigned:${msg.topic}`);
          const from = msg.from.toMultihash().bytes;
          const id = new Uint8Array(from.length + 8);
          id.set(from);
          new DataView(id.buffer).setBigUint64(from.length, msg.sequenceNumber);
          return id;
        },
        maxInboundDataLength: GOSSIPSUB_MAX_BYTES,
        scoreParams: {
          // every tab of a local or booth swarm shares one IP; do not punish that
          IPColocationFactorWeight: options.allowPrivateAddresses ? 0 : -5,
          appSpecificScore: (peer) => options.appScore?.(peer) ?? 0,
          appSpecificWeight: 1,
          topics: {
            [topic]: {
              topicWeight: 1,
              timeInMeshWeight: 0.01,
              timeInMeshQuantum: 1_000,
              timeInMeshCap: 100,
              firstMessageDeliveriesWeight: 0.5,
              firstMessageDeliveriesDecay: 0.9,
              firstMessageDeliveriesCap: 20,
              // rollouts come once per round: a quiet mesh peer is normal, not a fault
              meshMessageDeliveriesWeight: 0,
              meshMessageDeliveriesDecay: 0.5,
              meshMessageDeliveriesCap: 10,
              meshMessageDeliveriesThreshold: 1,
              meshMessageDeliveriesWindow: 10,
              meshMessageDeliveriesActivation: 60_000,
              meshFailurePenaltyWeight: 0,
              meshFailurePenaltyDecay: 0.5,
              invalidMessageDeliveriesWeight: -1,
              invalidMessageDeliveriesDecay: 0.5,
            },
          },
        },
      }),
    },
    peerDiscovery: [pubsubPeerDiscovery({ topics: [discoveryTopic(options.swarmId)], interval: options.discoveryIntervalMs ?? (options.allowPrivateAddresses ? 1_500 : 5_000) })],
  });
  await node.start();
  if (options.weights) await serveWeights(node, options.weights);
  const log = options.log ?? ((line: string) => console.warn(line));
  keepRelaysConnected(node, options.relayAddrs, log);
  // on loopback/LAN a handshake takes well under a second; a stalled one is better retried soon
  if (options.autoDial !== false) {
    const dialer = new PeerDialer(node, { timeoutMs: options.allowPrivateAddresses ? DIAL.localTimeoutMs : DIAL.timeoutMs, log }, (peer) => hasDirectConnection(node, peer));
    dialer.start();
    node.addEventListener('stop', () => dialer.stop(), { once: true });
  }
  // first relay connection before returning, so callers see "relay connected" as soon as possible
  await Promise.all(
    options.relayAddrs.map((addr) =>
      node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) }).catch((error: Error) => log(`could not reach relay ${addr}: ${error.message}`)),
    ),
  );
  return node;
}

/**
 * Redials each relay while it is unreachable, backing off to 10 s: a relay restart must not strand the tab
 * (new peers can only find and signal us through it). Direct WebRTC links do not depend on it.
 */
function keepRelaysConnected(node: Libp2p, relayAddrs: string[], log: (line: string) => void): void {
  for (const addr of relayAddrs) {
    const ma = multiaddr(addr);
    const relayPeer = ma.getComponents().filter((c) => c.name === 'p2p').pop()?.value;
    if (!relayPeer) {
      log(`relay address ${addr} has no /p2p/ id; not watching it`);
      continue;
    }
    void (async () => {
      let backoff = 1_000;
      while (node.status === 'started') {
        await sleep(backoff);
        if (node.status !== 'started') return;
        const connected = node.getConnections().some((c) => c.remotePeer.toString() === relayPeer && c.status === 'open');
        if (connected) {
          backoff = 2_000;
          continue;
        }
        try {
          await node.dial(ma, { signal: AbortSignal.timeout(5_000) });
          log(`reconnected to relay ${relayPeer}`);
          backoff = 2_000;
        } catch {
          backoff = Math.min(backoff * 2, 10_000);
        }
      }
    })();
  }
}
