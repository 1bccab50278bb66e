import { describe, expect, it } from 'vitest';
import { InMemoryBus, SoloTransport } from '../../../src/rl/bus.ts';
import { Rng } from '../../../src/rl/rng.ts';
import { collectExternalGroups, EXTERNAL_DEFAULTS, makeGroup, selectTrainingGroups, type RolloutGroup, type RoundExpectation } from '../../../src/rl/sapo.ts';
import { roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { charTokenizer } from './fakes.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch, TaskRef } from '../../../src/rl/transport.ts';

const MIX = [{ family: 'basic_arithmetic', difficulty: 1 }];
const expect_: RoundExpectation = { swarmId: 's', round: 3, selfPeerId: 'me', mix: MIX, questions: 4, completions: 4 };
/** the tasks peer `peerId` was assigned in round 3: the only ones it may send */
const refsOf = (peerId: string) => roundTaskRefs('s', 3, peerId, MIX, 4);
const ref: TaskRef = refsOf('p1')[0];
const task = generateTask(ref);
const rightFor = (t: { answer: string }) => `<answer>${t.answer}</answer>`;
const wrongFor = (t: { answer: string }) => `<answer>${Number(t.answer) + 1}</answer>`;
const right = rightFor(task);
const wrong = wrongFor(task);

function batch(peerId: string, rollouts: RolloutBatch['rollouts'], over: Partial<RolloutBatch> = {}): RolloutBatch {
  return { v: 1, swarmId: 's', round: 3, peerId, rollouts, ...over };
}

/** an honest peer's batch: its own B tasks, G completions each, half right, claims = re-scores */
function honest(peerId: string, groups = 4, completions = 4): RolloutBatch {
  return batch(peerId, refsOf(peerId).slice(0, groups).map((r) => {
    const t = generateTask(r);
    return { task: r, completions: Array.from({ length: completions }, (_, i) => {
      const text = i % 2 ? rightFor(t) : wrongFor(t);
      return { text, reward: scoreCompletion(t, text).reward };
    }) };
  }));
}

describe('collectExternalGroups', () => {
  it('re-derives the task and re-scores, ignoring the claimed rewards', () => {
    const { groups, drops } = collectExternalGroups([batch('p1', [{ task: ref, completions: [{ text: right, reward: 0 }, { text: wrong, reward: 1.1 }] }])], expect_);
    expect(groups).toHaveLength(1);
    expect(groups[0].task).toEqual(task);
    expect(groups[0].completions.map((c) => c.reward)).toEqual([1.1, 0.1]);
    expect(groups[0].advantages[0]).toBeGreaterThan(0);
    expect(drops.claimMismatches).toBe(2);
  });

  it('drops zero-advantage groups and malformed rollouts, counting why', () => {
    const [r0, r1, r2, r3] = refsOf('p1');
    const t = (r: TaskRef) => generateTask(r);
    const bad: unknown[] = [
      { task: r0, completions: [{ text: rightFor(t(r0)), reward: 1.1 }, { text: rightFor(t(r0)), reward: 1.1 }] }, // zero advantage
      { task: { ...r1, family: 'nope' }, completions: [{ text: right, reward: 1 }, { text: wrong, reward: 0 }] },
      { task: r1, completions: 'x' },
      { task: r2, completions: [{ text: rightFor(t(r2)), reward: 1.1 }, { text: 'x'.repeat(5000), reward: 0 }] }, // one left
      { task: r3, completions: [{ text: 42, reward: 0 }, null, { text: rightFor(t(r3)), reward: 1.1 }, { text: wrongFor(t(r3)), reward: 0.1 }] },
    ];
    // five groups: B = 5 here (the first four refs of a count-5 derivation are the count-4 ones)
    const { groups, drops } = collectExternalGroups([batch('p1', bad as RolloutBatch['rollouts'])], { ...expect_, questions: 5 });
    expect(groups.map((g) => g.ref)).toEqual([r3]);
    expect(drops).toMatchObject({ zeroAdvantage: 1, malformedGroups: 3, malformedCompletions: 3 });
  });

  it('drops batches from another swarm, another round, itself, or a repeat of one peer', () => {
    const { groups, drops } = collectExternalGroups([
      honest('p1', 1), { ...honest('p1', 1), swarmId: 'other', peerId: 'p3' }, { ...honest('p4', 1), round: 2 }, honest('me', 1), honest('p2', 1), honest('p2', 1),
    ], expect_);
    expect(groups.map((g) => g.peerId)).toEqual(['p1', 'p2']);
    expect(drops.batches).toBe(4);
  });
});

// Hostile but valid: every one of these passes the wire schema (64 groups x 32 completions is legal there)
describe('collectExternalGroups refuses what an honest peer of this swarm would not send', () => {
  it('an oversize batch (more than B groups) is refused whole, with the reason', () => {
    const big = batch('p1', [...honest('p1').rollouts, ...honest('p1').rollouts.map((r) => ({ ...r, task: { ...r.task, seed: r.task.seed ^ 1 } }))]);
    const { groups, drops, refusals } = collectExternalGroups([big, honest('p2')], expect_);
    expect(groups.every((g) => g.peerId === 'p2')).toBe(true);
    expect(drops.batches).toBe(1);
    expect(refusals).toContainEqual({ peerId: 'p1', reason: expect.stringMatching(/batch of 8 groups; the swarm's B is 4/) });
  });

  it('a group of more than G completions is refused', () => {
    const wide = honest('p1', 1, 32);
    const { groups, drops, refusals } = collectExternalGroups([wide], expect_);
    expect(groups).toEqual([]);
    expect(drops.malformedGroups).toBe(1);
    expect(refusals[0].reason).toMatch(/group of 32 completions; the swarm's G is 4/);
  });

  it('task refs the sender was not assigned (an easy or poisoned pick, or another peer\'s) are refused', () => {
    const picked = { family: 'basic_arithmetic', difficulty: 1, seed: 7 };
    const t = generateTask(picked);
    const stolen = honest('p2', 1).rollouts[0];
    const offSeed = batch('rogue', [
      { task: picked, completions: [{ text: 'ROGUE' + rightFor(t), reward: 1.1 }, { text: wrongFor(t), reward: 0.1 }] },
      stolen,
      { ...stolen, task: { ...stolen.task, difficulty: 2 } },
    ]);
    const { groups, drops, refusals } = collectExternalGroups([offSeed], expect_);
    expect(groups).toEqual([]);
    expect(drops.offSeedGroups).toBe(3);
    expect(refusals.map((r) => r.reason)).toEqual(Array(3).fill(expect.stringMatching(/not one of the sender's tasks for round 3/)));
  });

  it('a curriculum level is the sender\'s only choice: one in-range level per family, questions still from the round seed', () => {
    const ranged = [{ family: 'basic_arithmetic', difficulty: 1, maxDifficulty: 3 }];
    const exp: RoundExpectation = { ...expect_, mix: ranged };
    const groupsAt = (peerId: string, level: number) => roundTaskRefs('s', 3, peerId, ranged, 4, { basic_arithmetic: level }).map((r) => {
      const t = generateTask(r);
      return { task: r, completions: [rightFor(t), wrongFor(t)].map((text) => ({ text, reward: scoreCompletion(t, text).reward })) };
    });
    const atTwo = collectExternalGroups([batch('p1', groupsAt('p1', 2))], exp);
    expect(atTwo.groups).toHaveLength(4);
    expect(atTwo.groups.every((g) => g.ref.difficulty === 2)).toBe(true);
    // two levels for one family: the first claimed wins, the others are not the sender's tasks
    const mixed = [...groupsAt('p2', 2).slice(0, 2), ...groupsAt('p2', 3).slice(2)];
    const twoLevels = collectExternalGroups([batch('p2', mixed)], exp);
    expect(twoLevels.groups).toHaveLength(2);
    expect(twoLevels.drops.offSeedGroups).toBe(2);
    // a level outside the entry's range draws nothing the sender may send
    const outside = groupsAt('p3', 3).map((g) => ({ ...g, task: { ...g.task, difficulty: 4 } }));
    expect(collectExternalGroups([batch('p3', outside)], exp).drops.offSeedGroups).toBe(4);
  });

  it('a task sent twice counts once, whoever sends it', () => {
    const one = honest('p1', 1);
    const twice = batch('p1', [one.rollouts[0], one.rollouts[0]]);
    const { groups, drops } = collectExternalGroups([twice], expect_);
    expect(groups).toHaveLength(1);
    expect(drops.duplicates).toBe(1);
  });

  it('completions over the max new tokens are refused; one exactly at the cap trains without a stop token', () => {
    const [r] = refsOf('p1');
    const t = generateTask(r);
    const cut = `<think>${'x'.repeat(23)}`; // 30 characters = 30 tokens: cut by the sampler
    const limits = { ...EXTERNAL_DEFAULTS, maxNewTokens: 30, tokenizer: charTokenizer };
    const rollout = { task: r, completions: [{ text: `${cut}y`, reward: 0 }, { text: cut, reward: 0 }, { text: rightFor(t), reward: 1.1 }, { text: wrongFor(t), reward: 0.1 }] };
    const { groups, drops } = collectExternalGroups([batch('p1', [rollout])], expect_, limits);
    expect(drops.malformedCompletions).toBe(1);
    const cs = groups.length ? groups[0].completions : [];
    expect(cs.map((c) => c.text)).toEqual([cut, rightFor(t), wrongFor(t)]);
    expect(cs[0].tokens).toEqual(charTokenizer.encode(cut));
    expect(cs[1].tokens).toEqual([...charTokenizer.encode(rightFor(t)), charTokenizer.eosId]);
  });
});

describe('selectTrainingGroups', () => {
  const mk = (source: 'local' | 'external', texts: string[], id: string) =>
    makeGroup(source, id, ref, task, texts.map((text) => ({ ...scoreCompletion(task, text), text })));

  it('takes up to I local groups with signal and J external, uniformly and reproducibly', () => {
    const local = [mk('local', [right, wrong], 'a'), mk('local', [right, right], 'b'), mk('local', [wrong, right], 'c')];
    const external = Array.from({ length: 10 }, (_, i) => mk('external', [right, wrong], `x${i}`));
    const chosen = selectTrainingGroups(new Rng(1), local, external, 4, 3);
    expect(chosen.filter((g) => g.source === 'local').map((g) => g.peerId).sort()).toEqual(['a', 'c']);
    expect(chosen.filter((g) => g.source === 'external')).toHaveLength(3);
    expect(selectTrainingGroups(new Rng(1), local, external, 4, 3)).toEqual(chosen);
    const picks = new Set<string>();
    for (let s = 0; s < 50; s++) for (const g of selectTrainingGroups(new Rng(s), local, external, 0, 3)) picks.add(g.peerId);
    expect(picks.size).toBe(10);
  });

  it('a peer flooding J gets at most its share: J is filled peer by peer', () => {
    const flood = Array.from({ length: 64 }, () => mk('external', [right, wrong], 'rogue'));
    const external = [...flood, mk('external', [right, wrong], 'h1'), mk('external', [wrong, right], 'h2'), mk('external', [right, wrong], 'h3')];
    for (let s = 0; s < 40; s++) {
      const chosen = selectTrainingGroups(new Rng(s), [], external, 0, 4);
      expect(chosen).toHaveLength(4);
      // 4 peers, 4 slots: exactly one each, whatever the seed
      expect(new Set(chosen.map((g) => g.peerId))).toEqual(new Set(['rogue', 'h1', 'h2', 'h3']));
    }
    // alone, a peer may fill J (nobody else's share is taken)
    expect(selectTrainingGroups(new Rng(1), [], flood, 0, 4)).toHaveLength(4);
  });

  it('bound peers fill J first when marked; preference only weighs one peer\'s groups', () => {
    const bound = { ...mk('external', [right, wrong], 'b1'), bound: true };
    const others = Array.from({ length: 6 }, (_, i) => mk('external', [right, wrong], `u${i}`));
    for (let s = 0; s < 20; s++) expect(selectTrainingGroups(new Rng(s), [], [...others, bound], 0, 2).map((g) => g.peerId)).toContain('b1');
    const easy = { ...mk('external', [right, wrong], 'p'), ref: { ...ref, difficulty: 1 } };
    const hard = { ...mk('external', [right, wrong], 'p'), ref: { ...ref, difficulty: 3 } };
    const other = mk('external', [right, wrong], 'q');
    const prefer = (g: RolloutGroup) => (g.ref.difficulty === 3 ? 1 : 0);
    for (let s = 0; s < 20; s++) {
      const chosen = selectTrainingGroups(new Rng(s), [], [easy, hard, other], 0, 2, prefer);
      // p's slot goes to its preferred group; q (weight 0 for its only group) gets nothing
      expect(chosen).toEqual([hard]);
    }
  });
});

describe('selectTrainingGroups with fillUnusedLocal', () => {
  const mk = (source: 'local' | 'external', texts: string[], id: string) =>
    makeGroup(source, id, ref, task, texts.map((text) => ({ ...scoreCompletion(task, text), text })));

  it('local slots whose groups had no signal go to external groups, still peer by peer', () => {
    // 4 local slots, only one local group with signal: 3 slots go to external groups on top of J = 2
    const local = [mk('local', [right, wrong], 'self'), mk('local', [right, right], 'self'), mk('local', [wrong, wrong], 'self'), mk('local', [wrong, wrong], 'self')];
    const external = ['x', 'y', 'z'].flatMap((p) => Array.from({ length: 4 }, () => mk('external', [right, wrong], p)));
    for (let s = 0; s < 30; s++) {
      const filled = selectTrainingGroups(new Rng(s), local, external, 4, 2, undefined, { fillUnusedLocal: true });
      expect(filled.filter((g) => g.source === 'local')).toHaveLength(1);
      const ext = filled.filter((g) => g.source === 'external');
      expect(ext).toHaveLength(5);
      // 5 slots over 3 peers: nobody gets a third before everyone has a second
      const counts = ['x', 'y', 'z'].map((p) => ext.filter((g) => g.peerId === p).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      // without the option J stays 2
      expect(selectTrainingGroups(new Rng(s), local, external, 4, 2).filter((g) => g.source === 'external')).toHaveLength(2);
    }
  });

  it('an isolated tab (J = 0) stays isolated, and full local slots leave J as it is', () => {
    const local = [mk('local', [wrong, wrong], 'self'), mk('local', [right, wrong], 'self')];
    const external = Array.from({ length: 6 }, (_, i) => mk('external', [right, wrong], `p${i}`));
    expect(selectTrainingGroups(new Rng(1), local, external, 2, 0, undefined, { fillUnusedLocal: true }).every((g) => g.source === 'local')).toBe(true);
    const full = [mk('local', [right, wrong], 'self'), mk('local', [wrong, right], 'self')];
    expect(selectTrainingGroups(new Rng(1), full, external, 2, 3, undefined, { fillUnusedLocal: true })).toHaveLength(5);
  });
});

describe('transports', () => {
  it('the bus delivers copies to every other peer, by round, and prunes', async () => {
    const bus = new InMemoryBus();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => bus.connect(id));
    const sent = batch('a', [{ task: ref, completions: [] }], { round: 1 });
    await a.publishRollouts(sent);
    expect(a.receivedRollouts(1)).toEqual([]);
    expect(b.receivedRollouts(1)).toEqual([sent]);
    expect(c.receivedRollouts(1)[0]).not.toBe(sent);
    expect(b.receivedRollouts(2)).toEqual([]);
    b.prune(2);
    expect(b.receivedRollouts(1)).toEqual([]);
    expect(() => bus.connect('a')).toThrow(/already connected/);
    await c.close();
    await a.publishRollouts(batch('a', [], { round: 5 }));
    expect(c.receivedRollouts(5)).toEqual([]);
    const solo = new SoloTransport('s');
    await solo.publishRollouts(sent);
    expect(solo.receivedRollouts(1)).toEqual([]);
  });
});
