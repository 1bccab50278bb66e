// Whom a tab asks for weights when the swarm prefers bound peers: bound ids first in the capped download, and
// only bound ids in the periodic average's draw while there are any; without preferBound, every server as given.
import { describe, expect, it } from 'vitest';
import { averagingCandidates, boundFirst } from '../../../src/swarm/weights.ts';

const bound = new Set(['b1', 'b2']);
const isBound = (p: string) => bound.has(p);
const servers = ['s1', 'b1', 's2', 's3', 'b2'];

describe('bound peers first', () => {
  it('orders bound servers first, keeping each part in order, only with preferBound', () => {
    expect(boundFirst(servers, true, isBound)).toEqual(['b1', 'b2', 's1', 's2', 's3']);
    expect(boundFirst(servers, false, isBound)).toEqual(servers);
    // 2 bound peers survive a cap of 2 that five fresh ids would otherwise fill
    expect(boundFirst(['x1', 'x2', 'x3', 'x4', 'x5', 'b1', 'b2'], true, isBound).slice(0, 2)).toEqual(['b1', 'b2']);
  });

  it('draws the periodic average among bound servers while any is there, else among all', () => {
    expect(averagingCandidates(servers, true, isBound)).toEqual(['b1', 'b2']);
    expect(averagingCandidates(['s1', 's2'], true, isBound)).toEqual(['s1', 's2']);
    expect(averagingCandidates(servers, false, isBound)).toEqual(servers);
    expect(averagingCandidates([], true, isBound)).toEqual([]);
  });
});
