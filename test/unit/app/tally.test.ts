import { describe, expect, it } from 'vitest';
import { FEED_SIZE, FEED_TEXT_CHARS, MAX_CONTRIBUTORS, MAX_SEEN_ONLY, SwarmTally } from '../../../src/app/lib/tally.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import type { PublishedRollout, TaskRef } from '../../../src/rl/transport.ts';

const ref = (seed: number): TaskRef => ({ family: 'basic_arithmetic', seed, difficulty: 1 });
const answer = (seed: number) => generateTask(ref(seed)).answer;
const right = (seed: number) => `<answer>${answer(seed)}</answer>`;
const wrong = (seed: number) => `<answer>${Number(answer(seed)) + 1}</answer>`;
const score = (seed: number, text: string) => scoreCompletion(generateTask(ref(seed)), text).reward;

/** a group on task `seed` whose completions claim `claims` (the texts alternate right / wrong) */
const rollout = (seed: number, claims: number[], texts?: string[]): PublishedRollout => ({
  task: ref(seed),
  completions: claims.map((reward, i) => ({ text: texts?.[i] ?? (i % 2 ? wrong(seed) : right(seed)), reward })),
});

describe('SwarmTally', () => {
  it('averages OUR re-scores per round, with the claims beside, and counts peers', () => {
    const t = new SwarmTally('me');
    t.addRollouts('a', 3, [rollout(1, [0, 0]), rollout(2, [1e6, 5])], 0);
    t.addRollouts('b', 3, [rollout(3, [0])], 0);
    t.addRollouts('a', 4, [rollout(4, [1])], 0);
    const s = t.snapshot();
    const r3 = (score(1, right(1)) + score(1, wrong(1)) + score(2, right(2)) + score(2, wrong(2)) + score(3, right(3))) / 5;
    expect(s.rounds).toEqual([
      { round: 3, reward: expect.closeTo(r3, 9), claimed: expect.closeTo((0 + 0 + 1.1 + 1.1 + 0) / 5, 9), completions: 5, peers: 2 },
      { round: 4, reward: score(4, right(4)), claimed: 1, completions: 1, peers: 1 },
    ]);
    expect(s.totalRollouts).toBe(4);
    expect(s.totalCompletions).toBe(6);
  });

  it('a claimed 1e6 on a wrong answer shows as the wrong answer\'s reward, the claim only beside it', () => {
    const t = new SwarmTally();
    t.addRollouts('liar', 0, [rollout(5, [1e6, Number.NaN], [wrong(5), wrong(5)])], 0);
    const s = t.snapshot();
    expect(s.rounds[0].reward).toBe(score(5, wrong(5)));
    expect(s.rounds[0].reward).toBeLessThan(1);
    expect(s.rounds[0].claimed).toBeLessThanOrEqual(1.1);
    expect(s.feed[0]).toMatchObject({ reward: score(5, wrong(5)), claimed: 1e6 });
  });

  it('a part re-sent 40 times counts once', () => {
    const t = new SwarmTally();
    for (let i = 0; i < 40; i++) t.addRollouts('p', 0, [rollout(1, [1.1, 0.1]), rollout(2, [1.1, 0.1])], i);
    expect(t.snapshot().totalRollouts).toBe(2);
    expect(t.topContributors(1)[0].rollouts).toBe(2);
    // the same task in the next round is another task instance: counted again
    t.addRollouts('p', 1, [rollout(1, [1.1, 0.1])], 50);
    expect(t.snapshot().totalRollouts).toBe(3);
  });

  it('ranks contributors by rollouts and keeps bound accounts', () => {
    const t = new SwarmTally();
    t.addRollouts('a', 0, [rollout(1, [1])], 0);
    t.addRollouts('b', 0, [rollout(2, [0]), rollout(3, [0])], 0);
    t.setAccount('a', '0xabc', 1);
    t.seen('c', 2);
    expect(t.topContributors(5).map((p) => p.peerId)).toEqual(['b', 'a']);
    expect(t.snapshot().peers.find((p) => p.peerId === 'a')?.account).toBe('0xabc');
    expect(t.snapshot().peers).toHaveLength(3);
  });

  it('sybils cannot evict honest peers: heartbeat-only keys churn in their own pool; contributors go least valuable first', () => {
    const t = new SwarmTally();
    t.addRollouts('honest', 0, [rollout(1, [1.1, 0.1])], 0);
    t.setAccount('bound', '0xb0b', 0);
    for (let i = 0; i < 2_000; i++) t.seen(`sybil${i}`, i);
    let ids = t.snapshot().peers.map((p) => p.peerId);
    expect(ids).toEqual(expect.arrayContaining(['honest', 'bound']));
    expect(ids.length).toBeLessThanOrEqual(MAX_CONTRIBUTORS + MAX_SEEN_ONLY);
    // sybils that also send one rollout each fill the contributors' pool; the honest peer with more
    // rollouts and the bound one stay
    t.addRollouts('honest', 1, [rollout(2, [1.1, 0.1]), rollout(3, [1.1, 0.1])], 5);
    for (let i = 0; i < 3 * MAX_CONTRIBUTORS; i++) t.addRollouts(`s${i}`, 1, [rollout(100 + (i % 50), [1.1, 0.1])], 10 + i);
    ids = t.snapshot().peers.map((p) => p.peerId);
    expect(ids).toEqual(expect.arrayContaining(['honest', 'bound']));
    expect(t.snapshot().peers.length).toBeLessThanOrEqual(MAX_CONTRIBUTORS + MAX_SEEN_ONLY);
  });

  it('feeds only peers\' completions, newest first, bounded in count and length', () => {
    const t = new SwarmTally('me');
    t.addRollouts('me', 0, [rollout(1, [1])], 0);
    expect(t.snapshot().feed).toHaveLength(0);
    for (let i = 0; i < FEED_SIZE + 5; i++) t.addRollouts('p', i, [rollout(i + 10, [0.1, 1.1])], 0);
    t.addRollouts('q', 99, [rollout(7, [0], ['y'.repeat(5000)])], 0);
    const feed = t.snapshot().feed;
    expect(feed).toHaveLength(FEED_SIZE);
    expect(feed[0].text.length).toBe(FEED_TEXT_CHARS + 1);
    expect(feed[1].text).toBe(right(FEED_SIZE + 14)); // the best (re-scored) completion of the batch
    expect(new Set(feed.map((f) => f.id)).size).toBe(FEED_SIZE);
  });
});
