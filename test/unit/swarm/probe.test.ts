import { describe, expect, it } from 'vitest';
import { percentile, summarizeLoad } from '../../../src/swarm/probe.ts';

describe('load summary', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('expects each message at every other peer and reports loss and rates', () => {
    const summary = summarizeLoad(
      [
        { sent: 10, received: 18, rolloutsReceived: 72, latenciesMs: [1, 2, 3] },
        { sent: 10, received: 20, rolloutsReceived: 80, latenciesMs: [4, 5] },
        { sent: 10, received: 19, rolloutsReceived: 76, latenciesMs: [6] },
      ],
      2,
    );
    expect(summary).toMatchObject({ peers: 3, sent: 30, expected: 60, received: 57, lossPct: 5, latencyP50Ms: 3, latencyMaxMs: 6, rolloutsPerS: 114, messagesPerS: 28.5 });
  });
});
