// The sampling seed of a peer's round and the exact uniform the engine's sampler drew at each (row,
// position). The seed is derived from (swarm, round, peer), as the runner does, so a sender cannot choose it
// (cherry-picking the best of several seeds, or replaying another round, lands on the wrong uniforms).
//
// The engine (src/engine/engine.ts + sampling.ts) draws, for batch row b, from createRng(streamSeed(seed, b)),
// exactly one uniform per generated token when temperature > 0 (none when greedy), and stops drawing once the
// row has stopped. createRng is a counter-based SplitMix32: its k-th output (0-based) is a pure function of
// (state0 + (k+1) * golden), so the uniform at any position is computable in O(1) without replaying the
// stream. The tests pin uniformAt against createRng and against tokens the CPU engine samples.

import { hashParts, roundSeed } from '../rng.ts';
import { streamSeed } from '../../engine/sampling.ts';

/** The seed the runner passes to engine.sample for this (swarm, round, peer). */
export function samplingSeed(swarmId: string, round: number, peerId: string): number {
  return hashParts('tabswarm/sample', roundSeed(swarmId, round, peerId));
}

/** The uniform in [0, 1) the sampler used for generated token `position` (0-based) of batch row `row`. */
export function uniformAt(seed: number, row: number, position: number): number {
  const s0 = streamSeed(seed, row);
  let z = (s0 + Math.imul(position + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
}
