// The dialer's own logic over a stand-in node (the real WebRTC path is covered end to end): first dials,
// re-dials after a dropped link, backoff, and its bounds against a flood of announcements.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { PeerDialer } from '../../../src/swarm/dialer.ts';

const RELAY = '/ip4/127.0.0.1/tcp/9999/ws/p2p/12D3KooWGAEBgKdgKtkRFMPdvmn2wBsPbCo1B4rS2sTfSPkybWV8';

async function peerId(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
}

function fakeNode(self: PeerId, opts: { failFor?: Set<string>; hangMs?: number } = {}) {
  const target = new EventTarget();
  const direct = new Set<string>();
  const dials: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const node = {
    peerId: self,
    status: 'started',
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target),
    async dial(addr: { toString(): string }) {
      const id = addr.toString().split('/p2p/').pop()!;
      dials.push(id);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, opts.hangMs ?? 10));
      inFlight--;
      if (opts.failFor?.has(id)) throw new Error('handshake stalled');
      direct.add(id);
    },
  };
  const announce = (peer: PeerId) =>
    target.dispatchEvent(new CustomEvent('peer:discovery', { detail: { id: peer, multiaddrs: [multiaddr(`${RELAY}/p2p-circuit/webrtc`)] } }));
  const drop = (peer: PeerId) => {
    direct.delete(peer.toString());
    target.dispatchEvent(new CustomEvent('connection:close', { detail: { remotePeer: peer } }));
  };
  return { node: node as unknown as Libp2p, direct, dials, announce, drop, maxInFlight: () => maxInFlight };
}

describe('PeerDialer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('dials an announced peer, and re-dials it with backoff when its direct link drops', async () => {
    const self = await peerId();
    const other = await peerId();
    const f = fakeNode(self);
    const dialer = new PeerDialer(f.node, { timeoutMs: 1_000 }, (p) => f.direct.has(p.toString()));
    dialer.start();
    f.announce(other);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.direct.has(other.toString())).toBe(true);
    const before = f.dials.length;
    f.drop(other);
    // no new announcement: the dialer itself brings the link back
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.direct.has(other.toString())).toBe(true);
    expect(f.dials.length).toBeGreaterThan(before);
    expect(dialer.stats.redials).toBe(1);
    dialer.stop();
  });

  it('backs off a failing peer and forgets one it never reached after the attempts', async () => {
    const self = await peerId();
    const other = await peerId();
    const f = fakeNode(self, { failFor: new Set([other.toString()]) });
    const dialer = new PeerDialer(f.node, { timeoutMs: 100 }, (p) => f.direct.has(p.toString()));
    dialer.start();
    f.announce(other);
    // (the larger id first waits out the smaller one's attempt: up to timeout + 2 s)
    await vi.advanceTimersByTimeAsync(3_000);
    const early = f.dials.length;
    expect(early).toBeGreaterThanOrEqual(1);
    expect(early).toBeLessThanOrEqual(4);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(f.dials.length).toBe(6);
    expect(dialer.known.has(other.toString())).toBe(false);
    dialer.stop();
  });

  it('a flood of announcements from fresh keys stays within the table, the queue and the concurrency cap', async () => {
    const self = await peerId();
    const honest = await peerId();
    const f = fakeNode(self, { hangMs: 2_000 });
    const dialer = new PeerDialer(f.node, { timeoutMs: 100, maxConcurrent: 3, maxKnown: 20, maxQueue: 10 }, (p) => f.direct.has(p.toString()));
    dialer.start();
    f.announce(honest);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.direct.has(honest.toString())).toBe(true);
    const sybils = await Promise.all(Array.from({ length: 60 }, () => peerId()));
    for (const s of sybils) f.announce(s);
    expect(dialer.known.size).toBeLessThanOrEqual(20);
    expect(dialer.known.has(honest.toString())).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(f.maxInFlight()).toBeLessThanOrEqual(3);
    // strangers replace strangers; the peer we have a link with keeps its place
    expect(dialer.known.size).toBeLessThanOrEqual(20);
    expect(dialer.known.has(honest.toString())).toBe(true);
    // the honest peer's dropped link still comes back through the flood
    f.drop(honest);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(f.direct.has(honest.toString())).toBe(true);
    dialer.stop();
  });
});
