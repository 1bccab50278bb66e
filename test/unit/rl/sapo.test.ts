import { describe, expect, it } from 'vitest';
import { InMemoryBus, SoloTransport } from '../../../src/rl/bus.ts';
import { Rng } from '../../../src/rl/rng.ts';
import { collectExternalGroups, makeGroup, selectTrainingGroups } from '../../../src/rl/sapo.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch, TaskRef } from '../../../src/rl/transport.ts';

const ref: TaskRef = { family: 'basic_arithmetic', seed: 11, difficulty: 1 };
const task = generateTask(ref);
const right = `<answer>${task.answer}</answer>`;
const wrong = `<answer>${Number(task.answer) + 1}</answer>`;
const expect_ = { swarmId: 's', round: 3, selfPeerId: 'me' };

function batch(peerId: string, rollouts: RolloutBatch['rollouts'], over: Partial<RolloutBatch> = {}): RolloutBatch {
  return { v: 1, swarmId: 's', round: 3, peerId, rollouts, ...over };
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
    const bad: unknown[] = [
      { task: ref, completions: [{ text: right, reward: 1.1 }, { text: right, reward: 1.1 }] }, // zero advantage
      { task: { ...ref, family: 'nope' }, completions: [{ text: right, reward: 1 }, { text: wrong, reward: 0 }] },
      { task: { ...ref, difficulty: 9 }, completions: [] },
      { task: ref, completions: 'x' },
      { task: ref, completions: [{ text: right, reward: 1.1 }, { text: 'x'.repeat(5000), reward: 0 }] }, // one left
      { task: ref, completions: [{ text: 42, reward: 0 }, null, { text: right, reward: 1.1 }, { text: wrong, reward: 0.1 }] },
      null,
    ];
    const { groups, drops } = collectExternalGroups([batch('p1', bad as RolloutBatch['rollouts'])], expect_);
    expect(groups).toHaveLength(1);
    expect(drops).toMatchObject({ zeroAdvantage: 1, malformedGroups: 5, malformedCompletions: 3 });
  });

  it('drops batches from another swarm, another round, itself, or a repeat of one peer', () => {
    const good = [{ task: ref, completions: [{ text: right, reward: 1.1 }, { text: wrong, reward: 0.1 }] }];
    const { groups, drops } = collectExternalGroups([
      batch('p1', good, { swarmId: 'other' }), batch('p1', good, { round: 2 }), batch('me', good), batch('p2', good), batch('p2', good),
    ], expect_);
    expect(groups.map((g) => g.peerId)).toEqual(['p2']);
    expect(drops.batches).toBe(4);
  });
});

describe('selectTrainingGroups', () => {
  it('takes up to I local groups with signal and J external, uniformly and reproducibly', () => {
    const mk = (source: 'local' | 'external', texts: string[], id: string) =>
      makeGroup(source, id, ref, task, texts.map((text) => ({ ...scoreCompletion(task, text), text })));
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
