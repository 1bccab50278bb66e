import { describe, expect, it } from 'vitest';
import { GameError, positionAt, positionFromCounter, StageInbox, StageMachine, type GameEnvelope } from '../../../../src/rl/game/machine.ts';
import { taskKey, tallyVotes, bestResolve } from '../../../../src/rl/game/winners.ts';
import { gameTaskRefs } from '../../../../src/rl/game/stages.ts';
import { generateTask } from '../../../../src/rl/tasks/index.ts';
import type { VoteMessage } from '../../../../src/rl/game/transport.ts';

describe('game clock and counters', () => {
  it('maps time and the coordinator counter to (round, stage)', () => {
    expect(positionAt(999, 1000, 100)).toBeNull();
    expect(positionAt(1000, 1000, 100)).toEqual({ round: 0, stage: 'answer' });
    expect(positionAt(1199, 1000, 100)).toEqual({ round: 0, stage: 'critique' });
    expect(positionAt(1250, 1000, 100)).toEqual({ round: 0, stage: 'resolve' });
    expect(positionAt(1300, 1000, 100)).toEqual({ round: 1, stage: 'answer' });
    expect(positionFromCounter(7, 2)).toEqual({ round: 7, stage: 'resolve' });
    expect(() => positionFromCounter(7, 3)).toThrow(GameError);
    expect(() => positionFromCounter(-1, 0)).toThrow(GameError);
    expect(() => positionAt(1, 0, 0)).toThrow(GameError);
  });
});

describe('StageMachine', () => {
  it('plays every stage of a round it saw open, then votes when it ends', () => {
    const m = new StageMachine();
    expect(m.advance({ round: 0, stage: 'answer' })).toEqual([{ type: 'play', round: 0, stage: 'answer' }]);
    expect(m.advance({ round: 0, stage: 'critique' })).toEqual([{ type: 'play', round: 0, stage: 'critique' }]);
    expect(m.advance({ round: 0, stage: 'resolve' })).toEqual([{ type: 'play', round: 0, stage: 'resolve' }]);
    expect(m.advance({ round: 1, stage: 'answer' })).toEqual([{ type: 'vote', round: 0 }, { type: 'play', round: 1, stage: 'answer' }]);
    // stale or repeated positions do nothing
    expect(m.advance({ round: 1, stage: 'answer' })).toEqual([]);
    expect(m.advance({ round: 0, stage: 'resolve' })).toEqual([]);
  });

  it('a peer that joins mid-round sits it out and plays the next', () => {
    const m = new StageMachine();
    expect(m.advance({ round: 4, stage: 'critique' })).toEqual([{ type: 'missed', round: 4, stage: 'critique', reason: expect.stringContaining('next round') }]);
    expect(m.playing).toBe(false);
    expect(m.advance({ round: 4, stage: 'resolve' })[0]).toMatchObject({ type: 'missed', stage: 'resolve' });
    // no vote for a round it did not play
    expect(m.advance({ round: 5, stage: 'answer' })).toEqual([{ type: 'play', round: 5, stage: 'answer' }]);
    expect(m.playing).toBe(true);
  });

  it('a frozen tab that wakes in a later round misses the rest and casts no vote for a resolve it never saw', () => {
    const m = new StageMachine();
    m.advance({ round: 0, stage: 'answer' });
    expect(m.advance({ round: 0, stage: 'resolve' })).toEqual([
      { type: 'missed', round: 0, stage: 'critique', reason: 'the clock skipped this stage' },
      { type: 'play', round: 0, stage: 'resolve' },
    ]);
    const n = new StageMachine();
    n.advance({ round: 0, stage: 'answer' });
    expect(n.advance({ round: 2, stage: 'critique' })).toEqual([{ type: 'missed', round: 2, stage: 'critique', reason: expect.any(String) }]);
  });
});

describe('StageInbox', () => {
  const env = (peerId: string, round: number, stage: GameEnvelope['stage'], chars = 10, slot = 'q'): GameEnvelope => ({ peerId, round, stage, slot, chars });

  it('takes the open stage only, one per sender and question, and says why it drops the rest', () => {
    const inbox = new StageInbox<GameEnvelope>({ maxSenders: 2, maxChars: 100 });
    const now = { round: 3, stage: 'critique' as const };
    expect(inbox.offer(env('a', 3, 'critique'), now)).toEqual({ ok: true });
    expect(inbox.offer(env('a', 3, 'critique', 10, 'other'), now)).toEqual({ ok: true });
    expect(inbox.offer(env('a', 3, 'critique'), now)).toMatchObject({ ok: false, reason: expect.stringContaining('second message') });
    expect(inbox.offer(env('b', 3, 'answer'), now)).toMatchObject({ ok: false, reason: expect.stringMatching(/^late/) });
    expect(inbox.offer(env('b', 2, 'resolve'), now)).toMatchObject({ ok: false, reason: expect.stringMatching(/^late/) });
    expect(inbox.offer(env('b', 4, 'answer'), now)).toMatchObject({ ok: false, reason: expect.stringMatching(/^early/) });
    // one stage ahead is a clock running a little fast: kept for when that stage opens
    expect(inbox.offer(env('e', 3, 'resolve'), now)).toEqual({ ok: true });
    expect(inbox.get(3, 'resolve', 'q').map((e) => e.peerId)).toEqual(['e']);
    expect(inbox.offer(env('b', 3, 'critique', 101), now)).toMatchObject({ ok: false, reason: 'more than 100 characters' });
    expect(inbox.offer(env('b', 3, 'critique'), now)).toEqual({ ok: true });
    expect(inbox.offer(env('c', 3, 'critique'), now)).toMatchObject({ ok: false, reason: 'too many senders for this stage' });
    expect(inbox.offer({ peerId: 5, round: 'x', stage: 'nope', slot: 'q', chars: 1 } as unknown as GameEnvelope, now)).toMatchObject({ ok: false, reason: 'malformed game message' });
    expect(inbox.offer(env('d', 3, 'critique'), null)).toMatchObject({ ok: false, reason: 'the game has not started' });
    expect(inbox.get(3, 'critique', 'q').map((e) => e.peerId)).toEqual(['a', 'b']);
    expect(inbox.drops.map((d) => d.reason)).toHaveLength(8);
    inbox.prune(4);
    expect(inbox.get(3, 'critique', 'q')).toEqual([]);
  });
});

describe('winners', () => {
  const refs = gameTaskRefs('s', 1, [{ family: 'basic_arithmetic', difficulty: 1 }], 2);
  const task = generateTask(refs[0]);
  const vote = (peerId: string, votes: VoteMessage['votes'], round = 1): VoteMessage => ({ kind: 'vote', swarmId: 's', round, peerId, votes });

  it('re-scores resolves (never a claim) and picks the best, ties by a seeded order', () => {
    const good = `<majority>Student #1</majority><answer>${task.answer}</answer>`;
    const bad = `<majority>Student #2</majority><answer>x</answer>`;
    expect(bestResolve('s', 1, task, 3, 1, [{ peerId: 'a', text: bad }, { peerId: 'b', text: good }, { peerId: 'b', text: bad }])).toEqual({ peerId: 'b', reward: 1.6 });
    const tie = bestResolve('s', 1, task, 3, 1, [{ peerId: 'a', text: good }, { peerId: 'b', text: good }]);
    expect(bestResolve('s', 1, task, 3, 1, [{ peerId: 'b', text: good }, { peerId: 'a', text: good }])).toEqual(tie);
    expect(bestResolve('s', 1, task, 3, 1, [])).toBeNull();
  });

  it('counts one vote message per voter per round and one vote per question of the round', () => {
    const t = tallyVotes('s', 1, refs, [
      vote('v1', [{ task: refs[0], peerId: 'a' }, { task: refs[1], peerId: 'a' }]),
      vote('v2', [{ task: refs[0], peerId: 'b' }, { task: refs[0], peerId: 'b' }]),
      vote('v1', [{ task: refs[0], peerId: 'b' }]),
      vote('v3', [{ task: { family: 'basic_arithmetic', difficulty: 1, seed: 12345 }, peerId: 'b' }]),
      vote('v4', [{ task: refs[0], peerId: 'b' }], 2),
      { kind: 'vote', swarmId: 's', round: 1, peerId: 'v5', votes: 'lots' } as unknown as VoteMessage,
    ]);
    expect(t.standings).toEqual([{ peerId: 'a', votes: 2 }, { peerId: 'b', votes: 1 }]);
    expect(t.winners).toEqual(['a']);
    expect(t.dropped.map((d) => d.reason).sort()).toEqual([
      'a second vote message from this voter', 'malformed vote message', 'two votes on one question', 'vote for a question not in this round', 'vote for another swarm or round',
    ].sort());
    expect(taskKey(refs[0])).toContain('basic_arithmetic');
    expect(tallyVotes('s', 1, refs, []).winners).toEqual([]);
  });

  it('a flood of voters is capped', () => {
    const many = Array.from({ length: 50 }, (_, i) => vote(`v${i}`, [{ task: refs[0], peerId: 'x' }]));
    expect(tallyVotes('s', 1, refs, many, 10).standings).toEqual([{ peerId: 'x', votes: 10 }]);
  });
});
