// Direct WebRTC links to the swarm's peers, kept up. libp2p v3 has no auto-dialer, so this module dials
// peers it learns of (discovery announcements) and, unlike a dial-on-discovery loop, RE-DIALS a known
// peer whose direct link dropped (a stalled tab, libp2p's monitor closing a link under load). It is
// bounded against a flood of announcements from fresh keys: a capped table of known peers (peers we once
// had a link with are the last to be forgotten), a capped queue of dials due, a cap on dials in flight,
// and exponential backoff with jitter per peer.
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { DIAL } from './constants.ts';

export interface DialerOptions {
  /** handshake timeout of a first attempt; later attempts get longer (a loaded machine is slow) */
  timeoutMs: number;
  maxConcurrent?: number;
  maxKnown?: number;
  maxQueue?: number;
  log?: (line: string) => void;
}

interface Known {
  peer: PeerId;
  addrs: Multiaddr[];
  /** failures since the last success */
  failures: number;
  nextAt: number;
  everConnected: boolean;
  lastAnnouncedAt: number;
}

/** a peer that has not announced itself for this long is forgotten */
const FORGET_AFTER_MS = 120_000;
const TICK_MS = 250;

export function webrtcAddrs(peer: PeerId, addrs: readonly Multiaddr[]): Multiaddr[] {
  const out: Multiaddr[] = [];
  for (const addr of addrs) {
    const s = addr.toString();
    if (!s.includes('/p2p-circuit/webrtc')) continue;
    out.push(s.endsWith(`/p2p/${peer}`) ? addr : multiaddr(`${s}/p2p/${peer}`));
  }
  return out;
}

export class PeerDialer {
  readonly known = new Map<string, Known>();
  private readonly queue = new Set<string>();
  private inFlight = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly self: string;
  private readonly maxConcurrent: number;
  private readonly maxKnown: number;
  private readonly maxQueue: number;
  private readonly log: (line: string) => void;
  /** counters for diagnostics and tests */
  readonly stats = { dials: 0, failures: 0, redials: 0, refusedAnnouncements: 0 };

  constructor(
    private readonly node: Libp2p,
    private readonly options: DialerOptions,
    private readonly hasDirect: (peer: PeerId) => boolean,
  ) {
    this.self = node.peerId.toString();
    this.maxConcurrent = options.maxConcurrent ?? DIAL.maxConcurrent;
    this.maxKnown = options.maxKnown ?? DIAL.maxKnown;
    this.maxQueue = options.maxQueue ?? DIAL.maxQueue;
    this.log = options.log ?? (() => undefined);
  }

  start(): void {
    this.node.addEventListener('peer:discovery', this.onDiscovery);
    this.node.addEventListener('connection:close', this.onClose);
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    this.node.removeEventListener('peer:discovery', this.onDiscovery);
    this.node.removeEventListener('connection:close', this.onClose);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private readonly onDiscovery = (event: CustomEvent<PeerInfo>): void => {
    const { id: peer, multiaddrs } = event.detail;
    const id = peer.toString();
    if (id === this.self) return;
    const addrs = webrtcAddrs(peer, multiaddrs);
    if (addrs.length === 0) return;
    const now = Date.now();
    let entry = this.known.get(id);
    if (!entry) {
      if (this.known.size >= this.maxKnown && !this.forgetOne(now)) {
        this.stats.refusedAnnouncements++;
        return;
      }
      // the larger id waits out the smaller one's first attempt: crossed handshakes can stall
      const wait = id < this.self ? this.options.timeoutMs + 2_000 : Math.random() * 1_000;
      entry = { peer, addrs, failures: 0, nextAt: now + wait, everConnected: false, lastAnnouncedAt: now };
      this.known.set(id, entry);
    }
    entry.addrs = addrs;
    entry.lastAnnouncedAt = now;
    if (!this.hasDirect(peer)) this.enqueue(id);
  };

  private readonly onClose = (event: CustomEvent<{ remotePeer: PeerId }>): void => {
    const id = event.detail.remotePeer.toString();
    const entry = this.known.get(id);
    if (!entry || this.node.status !== 'started') return;
    // the event fires before libp2p forgets the connection: look again on the next tick
    setTimeout(() => {
      if (this.hasDirect(entry.peer) || !this.known.has(id)) return;
      this.stats.redials++;
      this.log(`direct link to ${id.slice(-8)} dropped; re-dialling`);
      entry.failures = 0;
      entry.nextAt = Date.now() + backoff(0) * (id < this.self ? 2 : 1);
      this.enqueue(id);
    }, 0);
  };

  private enqueue(id: string): void {
    if (this.queue.has(id)) return;
    // a full queue drops the newcomer: its next announcement (or a tick) queues it again
    if (this.queue.size >= this.maxQueue) return;
    this.queue.add(id);
  }

  /** makes room for a new peer: one not announced for a while, else one we never had a link with */
  private forgetOne(now: number): boolean {
    let candidate: string | null = null;
    for (const [id, k] of this.known) {
      if (now - k.lastAnnouncedAt > FORGET_AFTER_MS) {
        candidate = id;
        break;
      }
      if (candidate === null && !k.everConnected && !this.hasDirect(k.peer)) candidate = id;
    }
    if (candidate === null) return false;
    this.known.delete(candidate);
    this.queue.delete(candidate);
    return true;
  }

  private tick(): void {
    if (this.node.status !== 'started') return;
    const now = Date.now();
    for (const id of this.queue) {
      if (this.inFlight >= this.maxConcurrent) return;
      const entry = this.known.get(id);
      if (!entry || this.hasDirect(entry.peer)) {
        this.queue.delete(id);
        if (entry) entry.everConnected = true;
        continue;
      }
      if (entry.nextAt > now) continue;
      if (now - entry.lastAnnouncedAt > FORGET_AFTER_MS || (!entry.everConnected && entry.failures >= DIAL.attempts)) {
        // gone, or never reachable: forget it until it announces itself again
        this.queue.delete(id);
        this.known.delete(id);
        continue;
      }
      this.queue.delete(id);
      void this.dial(id, entry);
    }
  }

  private async dial(id: string, entry: Known): Promise<void> {
    this.inFlight++;
    this.stats.dials++;
    const timeout = Math.min(this.options.timeoutMs * 2 ** Math.min(entry.failures, 4), DIAL.maxTimeoutMs);
    let ok = false;
    try {
      for (const addr of entry.addrs) {
        try {
          await this.node.dial(addr, { signal: AbortSignal.timeout(timeout), force: true });
          if (this.hasDirect(entry.peer)) {
            ok = true;
            break;
          }
        } catch (error) {
          this.log(`WebRTC dial ${id.slice(-8)} attempt ${entry.failures + 1} failed: ${(error as Error).message}`);
        }
      }
    } finally {
      this.inFlight--;
    }
    if (ok) {
      entry.failures = 0;
      entry.everConnected = true;
      return;
    }
    this.stats.failures++;
    entry.failures++;
    entry.nextAt = Date.now() + backoff(entry.failures);
    if (this.known.get(id) === entry) this.enqueue(id);
  }
}

/** exponential, capped, with jitter so two peers retrying do not collide again in lockstep */
function backoff(failures: number): number {
  return Math.min(DIAL.firstBackoffMs * 2 ** failures, DIAL.maxBackoffMs) * (0.5 + Math.random());
}
