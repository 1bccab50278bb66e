import { describe, expect, it } from 'vitest';
import { FEED_SIZE, FEED_TEXT_CHARS, SwarmTally } from '../../../src/app/lib/tally.ts';
import type { PublishedRollout } from '../../../src/rl/transport.ts';

const rollout = (rewards: number[], text = 'x'): PublishedRollout => ({
  task: { family: 'arith', seed: 1, difficulty: 1 },
  completions: rewards.map((reward, i) => ({ text: `${text}${i}`, reward })),
});

describe('SwarmTally', () => {
  it('averages claimed rewards per round over all completions and counts peers', () => {
    const t = new SwarmTally('me');
    t.addRollouts('a', 3, [rollout([1, 0]), rollout([1.1, 0.1])], 0);
    t.addRollouts('b', 3, [rollout([0, 0])], 0);
    t.addRollouts('a', 4, [rollout([1])], 0);
    const s = t.snapshot();
    expect(s.rounds).toEqual([
      { round: 3, reward: expect.closeTo(2.2 / 6, 9), completions: 6, peers: 2 },
      { round: 4, reward: 1, completions: 1, peers: 1 },
    ]);
    expect(s.totalRollouts).toBe(4);
    expect(s.totalCompletions).toBe(7);
  });

  it('clamps absurd claimed rewards so one peer cannot wreck the curve', () => {
    const t = new SwarmTally();
    t.addRollouts('liar', 0, [rollout([1e6, Number.NaN])], 0);
    expect(t.snapshot().rounds[0].reward).toBe(1);
  });

  it('ranks contributors by rollouts and keeps bound accounts', () => {
    const t = new SwarmTally();
    t.addRollouts('a', 0, [rollout([1])], 0);
    t.addRollouts('b', 0, [rollout([0]), rollout([0])], 0);
    t.setAccount('a', '0xabc', 1);
    t.seen('c', 2);
    expect(t.topContributors(5).map((p) => p.peerId)).toEqual(['b', 'a']);
    expect(t.snapshot().peers.find((p) => p.peerId === 'a')?.account).toBe('0xabc');
    expect(t.snapshot().peers).toHaveLength(3);
  });

  it('feeds only peers\' completions, newest first, bounded in count and length', () => {
    const t = new SwarmTally('me');
    t.addRollouts('me', 0, [rollout([1], 'mine')], 0);
    expect(t.snapshot().feed).toHaveLength(0);
    for (let i = 0; i < FEED_SIZE + 5; i++) t.addRollouts('p', i, [rollout([0, 1], `r${i}-`)], 0);
    t.addRollouts('q', 99, [rollout([1], 'y'.repeat(5000))], 0);
    const feed = t.snapshot().feed;
    expect(feed).toHaveLength(FEED_SIZE);
    expect(feed[0].text.length).toBe(FEED_TEXT_CHARS + 1);
    expect(feed[1].text).toBe(`r${FEED_SIZE + 4}-1`); // the best completion of the batch
    expect(new Set(feed.map((f) => f.id)).size).toBe(FEED_SIZE);
  });
});
