// The handler list every game transport shares (GameMessageHandlers), and the in-memory bus built on it: each
// handler sees every message in order, a throwing handler does not stop the ones after it, a closed transport
// stops receiving, and each receiver gets its own copy.
import { describe, expect, it } from 'vitest';
import { GameMessageHandlers, InMemoryGameBus, type GameMessage } from '../../../../src/rl/game/transport.ts';

const message = (peerId: string, round: number): GameMessage => ({
  kind: 'vote', swarmId: 's', round, peerId, votes: [{ task: { family: 'sorting', difficulty: 1, seed: 3 }, peerId: 'p' }],
});

describe('GameMessageHandlers', () => {
  it('calls every handler in turn; one that throws does not stop the others; clear removes them', () => {
    const handlers = new GameMessageHandlers();
    const seen: string[] = [];
    handlers.add((m) => seen.push(`a${m.round}`));
    handlers.add(() => {
      throw new Error('a buggy handler');
    });
    handlers.add((m) => seen.push(`c${m.round}`));
    handlers.dispatch(message('x', 1));
    handlers.dispatch(message('x', 2));
    expect(seen).toEqual(['a1', 'c1', 'a2', 'c2']);
    handlers.clear();
    handlers.dispatch(message('x', 3));
    expect(seen).toHaveLength(4);
  });
});

describe('InMemoryGameBus', () => {
  it('delivers a copy to every other peer, not to the sender, and not after a receiver closes', async () => {
    const bus = new InMemoryGameBus();
    const [a, b, c] = ['a', 'b', 'c'].map((p) => bus.connect(p));
    const got: Record<string, GameMessage[]> = { a: [], b: [], c: [] };
    for (const t of [a, b, c]) {
      t.onMessage(() => {
        throw new Error('first handler fails');
      });
      t.onMessage((m) => got[t.peerId].push(m));
    }
    const sent = message('a', 4);
    await a.publish(sent);
    expect(got.a).toEqual([]);
    expect(got.b).toEqual([sent]);
    expect(got.c).toEqual([sent]);
    expect(got.b[0]).not.toBe(got.c[0]);
    await c.close();
    await b.publish(message('b', 5));
    expect(got.a.map((m) => m.round)).toEqual([5]);
    expect(got.c).toHaveLength(1);
    expect(() => bus.connect('a')).toThrow(/already connected/);
  });
});
