// A swarm-model download's refusals name their peers: the worker's "peer k" counts the fetched models only,
// so the page maps k back to the fetched peer's id, and a failed fetch names its peer as well.
import { describe, expect, it } from 'vitest';
import { namedRefusals } from '../../../src/app/lib/session-parts.ts';

describe('namedRefusals', () => {
  const a = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAaaaaaa', b = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBbbbbbb', c = '12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCcccccc';
  it('maps the worker\u2019s numbers to the fetched peers, past a peer whose fetch failed', () => {
    // peers a, b, c asked; a failed to fetch, so the worker saw [b, c] and refused its second (c)
    const got = namedRefusals([b, c], ['peer 2: AverageRefusedError: the mean answers the probe worse'], [{ peer: a, reason: 'WeightsError: timed out' }]);
    expect(got).toEqual(['peer 12D3…aaaaaa: WeightsError: timed out', 'peer 12D3…cccccc: AverageRefusedError: the mean answers the probe worse']);
  });
  it('leaves a number it cannot map as it is, and short ids whole', () => {
    expect(namedRefusals(['me'], ['peer 3: Error: x', 'peer 1: Error: y'], [])).toEqual(['peer 3: Error: x', 'peer me: Error: y']);
  });
});
