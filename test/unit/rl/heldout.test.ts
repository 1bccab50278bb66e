// The evaluation split is by content: no held-out or generalisation prompt is ever a training round's
// question (over many swarms, rounds and peers) or a pretraining transcript, and the sets hold no repeats.
import { describe, expect, it } from 'vitest';
import { transcript } from '../../../scripts/model/corpus.ts';
import { DEFAULT_TASK_MIX } from '../../../src/rl/defaults.ts';
import { expandLevels, generalisationTasks, HeldOutError, heldOutTasks, isReservedPrompt, MIN_DISTINCT_PROMPTS, mixLevels, RESERVE_MODULUS, validationTasks } from '../../../src/rl/heldout.ts';
import { checkRoundTaskRefs, roundTaskRefs, heldOutTasks as fromRunner } from '../../../src/rl/runner.ts';
import { generateTask } from '../../../src/rl/tasks/index.ts';

const key = (t: { family: string; prompt: string }) => `${t.family}|${t.prompt}`;
const held = heldOutTasks(DEFAULT_TASK_MIX, 32);
const general = generalisationTasks(DEFAULT_TASK_MIX, 32);
const reserved = new Set([...held, ...general].map(key));

describe('content-disjoint held-out split', () => {
  it('holds distinct reserved prompts for every mix entry, deterministically, and the runner re-exports it', () => {
    expect(held.length).toBeGreaterThan(200);
    expect(new Set(held.map(key)).size).toBe(held.length);
    expect(new Set(general.map(key)).size).toBe(general.length);
    for (const t of [...held, ...general]) expect(isReservedPrompt(t.prompt)).toBe(true);
    for (const m of DEFAULT_TASK_MIX) {
      expect(held.filter((t) => t.family === m.family && mixLevels(m).includes(t.difficulty)).length).toBeGreaterThanOrEqual(8);
      expect(general.filter((t) => t.family === m.family).every((t) => t.difficulty === Math.max(...mixLevels(m)) + 1)).toBe(true);
    }
    expect(fromRunner(DEFAULT_TASK_MIX, 32)).toEqual(held);
  });

  it('the validation split is reserved content with no prompt of the held-out set it excludes', () => {
    const validation = validationTasks(DEFAULT_TASK_MIX, 12, 16);
    const test16 = new Set(heldOutTasks(DEFAULT_TASK_MIX, 16).map(key));
    expect(validation.length).toBeGreaterThan(100);
    expect(new Set(validation.map(key)).size).toBe(validation.length);
    for (const t of validation) {
      expect(isReservedPrompt(t.prompt)).toBe(true);
      expect(test16.has(key(t))).toBe(false);
    }
    // every entry keeps some validation content, even the smallest reserved pools
    for (const m of DEFAULT_TASK_MIX) expect(validation.some((t) => t.family === m.family)).toBe(true);
  });

  it('reserves about one prompt in RESERVE_MODULUS', () => {
    const prompts = new Set<string>();
    for (let s = 0; s < 4000; s++) prompts.add(generateTask({ family: 'sorting', difficulty: 2, seed: s * 7919 }).prompt);
    const share = [...prompts].filter(isReservedPrompt).length / prompts.size;
    expect(share).toBeGreaterThan(0.7 / RESERVE_MODULUS);
    expect(share).toBeLessThan(1.3 / RESERVE_MODULUS);
  });

  it('never hands a reserved prompt to a training round (many swarms, rounds and peers, curriculum levels too)', () => {
    let drawn = 0;
    for (let swarm = 0; swarm < 6; swarm++) {
      for (let round = 0; round < 60; round++) {
        for (const peer of ['p0', 'p1', 'p2']) {
          const levels = Object.fromEntries(DEFAULT_TASK_MIX.map((m) => [m.family, mixLevels(m)[round % mixLevels(m).length]]));
          for (const ref of roundTaskRefs(`s${swarm}`, round, peer, DEFAULT_TASK_MIX, 8, round % 2 ? levels : undefined)) {
            const task = generateTask(ref);
            expect(isReservedPrompt(task.prompt)).toBe(false);
            expect(reserved.has(key(task))).toBe(false);
            drawn++;
          }
        }
      }
    }
    expect(drawn).toBe(6 * 60 * 3 * 8);
  });

  it('never puts a reserved prompt in the pretraining corpus', () => {
    const mix = expandLevels(DEFAULT_TASK_MIX);
    for (const salt of ['pretrain', 'tokenizer']) {
      for (let i = 0; i < 20000; i++) {
        const t = transcript(mix, i, { pCorrect: 0.4, pSystematic: 0.35 }, salt);
        const prompt = t.prompt.slice(0, -1);
        expect(isReservedPrompt(prompt)).toBe(false);
      }
    }
  });

  it('every default level has enough distinct content to split', () => {
    for (const m of expandLevels(DEFAULT_TASK_MIX)) {
      const prompts = new Set<string>();
      for (let s = 0; s < 3000 && prompts.size < MIN_DISTINCT_PROMPTS; s++) prompts.add(generateTask({ family: m.family, difficulty: m.difficulty, seed: s * 2654435761 >>> 0 }).prompt);
      expect(prompts.size, `${m.family}/${m.difficulty}`).toBeGreaterThanOrEqual(MIN_DISTINCT_PROMPTS);
    }
  });

  it('refuses a mix entry with impossible levels, by name', () => {
    expect(() => heldOutTasks([{ family: 'sorting', difficulty: 3, maxDifficulty: 2 }], 4)).toThrow(HeldOutError);
    expect(() => heldOutTasks([{ family: 'sorting', difficulty: 1, maxDifficulty: 6 }], 4)).toThrow(HeldOutError);
  });
});

describe('checkRoundTaskRefs (what a receiver accepts)', () => {
  const mix = DEFAULT_TASK_MIX;
  it('accepts the round seed draw at any in-range curriculum level, and nothing else', () => {
    const levels = { basic_arithmetic: 3, chain_sum: 2, sorting: 2 };
    const refs = roundTaskRefs('s', 3, 'peer', mix, 8, levels);
    expect(checkRoundTaskRefs(refs, 's', 3, 'peer', mix, 8)).toBeNull();
    expect(checkRoundTaskRefs(roundTaskRefs('s', 3, 'peer', mix, 8), 's', 3, 'peer', mix, 8)).toBeNull();
    expect(checkRoundTaskRefs(refs, 's', 3, 'other', mix, 8)).toMatch(/round seed/);
    expect(checkRoundTaskRefs(refs.slice(1), 's', 3, 'peer', mix, 8)).toMatch(/expected 8/);
    const swapped = refs.map((r, i) => (i === 0 ? { ...r, seed: (r.seed + 1) >>> 0 } : r));
    expect(checkRoundTaskRefs(swapped, 's', 3, 'peer', mix, 8)).toMatch(/round seed/);
    const fixedFamily = refs.findIndex((r) => r.family === 'propositional_logic' || r.family === 'leg_counting' || r.family === 'calendar_arithmetic' || r.family === 'letter_counting');
    if (fixedFamily >= 0) {
      const off = refs.map((r, i) => (i === fixedFamily ? { ...r, difficulty: r.difficulty - 1 } : r));
      expect(checkRoundTaskRefs(off, 's', 3, 'peer', mix, 8)).toMatch(/outside/);
    }
    const outOfRange = refs.map((r) => (r.family === 'chain_sum' ? { ...r, difficulty: 4 } : r));
    if (refs.some((r) => r.family === 'chain_sum')) expect(checkRoundTaskRefs(outOfRange, 's', 3, 'peer', mix, 8)).toMatch(/outside/);
  });
});
