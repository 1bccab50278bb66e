// One createNode for browser and Node peers: websockets to reach the relay, circuit relay v2 to signal,
// WebRTC for the direct peer-to-peer links that carry the swarm's traffic (in Node, @libp2p/webrtc runs on
// node-datachannel). libp2p v3 has no auto-dialer, so this module dials discovered peers itself and keeps
// the relay connections alive.
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { webRTC } from '@libp2p/webrtc';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify, type Identify } from '@libp2p/identify';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery';
import type { Connection, PeerId, PeerInfo, PrivateKey } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
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
  if (options.autoDial !== false) dialDiscoveredPeers(node, log, options.allowPrivateAddresses ? DIAL.localTimeoutMs : DIAL.timeoutMs);
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

function webrtcAddrs(peer: PeerId, addrs: Multiaddr[]): Multiaddr[] {
  const out: Multiaddr[] = [];
  for (const addr of addrs) {
    const s = addr.toString();
    if (!s.includes('/p2p-circuit/webrtc')) continue;
    out.push(s.endsWith(`/p2p/${peer}`) ? addr : multiaddr(`${s}/p2p/${peer}`));
  }
  return out;
}

/**
 * Dials every discovered peer's WebRTC address (through a relay circuit for signalling) until a direct link
 * is up. Two peers discovering each other at once would both dial and the crossed handshakes can stall, so
 * the smaller peer id dials first and the other waits out that attempt before trying too.
 */
function dialDiscoveredPeers(node: Libp2p, log: (line: string) => void, timeoutMs: number): void {
  const pending = new Set<string>();
  const self = node.peerId.toString();

  async function dialLoop(peer: PeerId, announced: Multiaddr[]): Promise<void> {
    const id = peer.toString();
    try {
      // the larger id only dials when the smaller one's attempt (timeout included) has had its chance
      if (id < self) await sleep(timeoutMs + 2_000);
      // a joining peer discovers everyone at once; spreading its handshakes over a second keeps them from
      // all competing for the CPU and timing out together
      else await sleep(Math.random() * 1_000);
      let backoff: number = DIAL.firstBackoffMs;
      for (let attempt = 1; attempt <= DIAL.attempts && node.status === 'started'; attempt++) {
        if (hasDirectConnection(node, peer)) return;
        const stored = (await node.peerStore.get(peer).catch(() => null))?.addresses.map((a) => a.multiaddr) ?? [];
        const addrs = [...new Map(webrtcAddrs(peer, [...announced, ...stored]).map((a) => [a.toString(), a])).values()];
        if (addrs.length === 0) return;
        for (const addr of addrs) {
          try {
            // a stalled handshake is retried soon, but a slow (loaded) machine gets longer each attempt
            await node.dial(addr, { signal: AbortSignal.timeout(Math.min(timeoutMs * 2 ** (attempt - 1), DIAL.maxTimeoutMs)), force: true });
            if (hasDirectConnection(node, peer)) return;
          } catch (error) {
            log(`WebRTC dial ${id.slice(-8)} attempt ${attempt} failed: ${(error as Error).message}`);
          }
        }
        // jitter so two peers retrying do not collide again in lockstep
        await sleep(backoff * (0.5 + Math.random()));
        backoff = Math.min(backoff * 2, DIAL.maxBackoffMs);
      }
    } finally {
      pending.delete(id);
    }
  }

  node.addEventListener('peer:discovery', (event: CustomEvent<PeerInfo>) => {
    const peer = event.detail.id;
    const id = peer.toString();
    if (id === self || pending.has(id) || hasDirectConnection(node, peer)) return;
    if (webrtcAddrs(peer, event.detail.multiaddrs).length === 0) return;
    pending.add(id);
    void dialLoop(peer, event.detail.multiaddrs);
  });
}
