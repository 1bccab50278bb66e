import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EchoQueue } from '../../../src/swarm/echo.ts';
import { PEER_A, PEER_B } from './fixtures.ts';

describe('echo queue', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  it('echoes a lone ping at once and pings inside the gap together at its end', () => {
    const sent: { at: number; nonces: number[] }[] = [];
    const queue = new EchoQueue((echoes) => sent.push({ at: Date.now(), nonces: echoes.map((e) => e.nonce) }), () => Date.now(), 500, 64);
    queue.add({ peerId: PEER_A, nonce: 1 });
    expect(sent).toEqual([{ at: 1_000_000, nonces: [1] }]);
    vi.advanceTimersByTime(100);
    queue.add({ peerId: PEER_B, nonce: 2 });
    vi.advanceTimersByTime(100);
    queue.add({ peerId: PEER_A, nonce: 3 });
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(300);
    expect(sent).toEqual([
      { at: 1_000_000, nonces: [1] },
      { at: 1_000_500, nonces: [2, 3] },
    ]);
    // a ping long after the last echo is answered at once again
    vi.advanceTimersByTime(2_000);
    queue.add({ peerId: PEER_B, nonce: 4 });
    expect(sent.at(-1)).toEqual({ at: 1_002_500, nonces: [4] });
  });

  it('sends at most one echo message per gap under a flood, and drops pings beyond its capacity', () => {
    let messages = 0;
    let answered = 0;
    const queue = new EchoQueue((echoes) => {
      messages++;
      answered += echoes.length;
      expect(echoes.length).toBeLessThanOrEqual(8);
    }, () => Date.now(), 500, 8);
    for (let t = 0; t < 5_000; t += 10) {
      queue.add({ peerId: PEER_A, nonce: t });
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(1_000);
    expect(messages).toBeLessThanOrEqual(11);
    expect(answered + queue.dropped).toBe(500);
    expect(queue.dropped).toBeGreaterThan(0);
  });

  it('sends nothing after close, even what was queued', () => {
    const send = vi.fn();
    const queue = new EchoQueue(send, () => Date.now(), 500, 64);
    queue.add({ peerId: PEER_A, nonce: 1 });
    queue.add({ peerId: PEER_A, nonce: 2 });
    queue.close();
    queue.add({ peerId: PEER_A, nonce: 3 });
    vi.advanceTimersByTime(1_000);
    expect(send).toHaveBeenCalledTimes(1);
  });
});
