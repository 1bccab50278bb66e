// Which tasks a peer answers in a round: B refs drawn from the swarm's mix with seed(swarmId, round, peerId).
// A module of its own (not in runner.ts) because the sampler, the receivers' SAPO check and the scripted
// lab traffic all derive the same refs, and sapo.ts must import it without importing the runner.
import { roundSeed, Rng } from './rng.ts';
import type { TaskMix } from './tasks/index.ts';
import type { TaskRef } from './transport.ts';

export class TaskMixError extends Error {
  override name = 'TaskMixError';
}

/** B task refs drawn from the mix with the round's seed: identical for anyone who re-derives them */
export function roundTaskRefs(swarmId: string, round: number, peerId: string, mix: readonly TaskMix[], count: number): TaskRef[] {
  if (mix.length === 0) throw new TaskMixError('task mix is empty');
  const rng = new Rng(roundSeed(swarmId, round, peerId));
  const total = mix.reduce((s, m) => s + (m.weight ?? 1), 0);
  const refs: TaskRef[] = [];
  for (let i = 0; i < count; i++) {
    let x = rng.next() * total;
    const m = mix.find((entry) => (x -= entry.weight ?? 1) < 0) ?? mix[mix.length - 1];
    refs.push({ family: m.family, difficulty: m.difficulty, seed: rng.nextU32() });
  }
  return refs;
}

/** one string per ref, for set membership and de-duplication */
export function taskRefKey(ref: TaskRef): string {
  return `${ref.family}/${ref.difficulty}/${ref.seed}`;
}
