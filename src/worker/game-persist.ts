// The game's checkpoint: after every stage it played, the weights and Adam's moments (as the SAPO loop saves
// them, contributor.saveState) plus the runner's snapshot in the checkpoint's meta, under the same key as the
// training checkpoint. A reload then resumes the weights and the round in play (worker/host.ts load → startGame).
import type { GameSnapshot } from '../rl/game/snapshot.ts';
import type { GamePersistence } from './game-host.ts';
import type { Contributor } from './loop.ts';
import type { CheckpointStore } from './persist.ts';
import type { WorkerEvent } from './protocol.ts';

export function gamePersistence(
  loaded: { contributor: Contributor; store: CheckpointStore | null },
  resume: unknown,
  emit: (event: WorkerEvent) => void,
): GamePersistence | null {
  const { contributor, store } = loaded;
  if (!store) return resume === undefined ? null : { resume, save: async () => undefined };
  return {
    ...(resume === undefined ? {} : { resume }),
    async save(snapshot: GameSnapshot) {
      const state = await contributor.saveState();
      // the checkpoint's round is the game round in play: what the landing card shows as "resumes at"
      const round = snapshot.position?.round ?? 0;
      const bytes = await store.save({ ...state, meta: { ...state.meta, game: snapshot }, round });
      emit({ kind: 'saved', round, bytes, store: store.kind, weightsDigest: await contributor.weightsDigest() });
    },
  };
}
