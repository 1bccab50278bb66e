// The game model's supervised transcripts (scripts/model/game-corpus.ts): every one is in the exact format
// the game's verifiers reward, their content is imperfect by the stated rates (RL keeps room), they never
// hold a prompt reserved for evaluation, and an excluded question (the experiment's) never appears.
import { describe, expect, it } from 'vitest';
import { GAME_TRANSCRIPTS, gameTranscript } from '../../../../scripts/model/game-corpus.ts';
import { DEFAULT_TASK_MIX } from '../../../../src/rl/defaults.ts';
import { CRITIQUE_OPEN, gameTaskRefs, MAJORITY_OPEN, scoreCritique, scoreResolve } from '../../../../src/rl/game/stages.ts';
import { expandLevels, isReservedPrompt } from '../../../../src/rl/heldout.ts';
import { generateTask } from '../../../../src/rl/tasks/index.ts';

const mix = expandLevels(DEFAULT_TASK_MIX);
const N = 400;

describe('game transcripts', () => {
  it('critiques are well-formed and name a correct student more often than chance, not always', () => {
    let correct = 0;
    let chance = 0;
    for (let i = 0; i < N; i++) {
      const t = gameTranscript(mix, i, 'critique');
      expect(t.prompt.endsWith(CRITIQUE_OPEN)).toBe(true);
      expect(t.students.length).toBeGreaterThanOrEqual(2);
      const s = scoreCritique(CRITIQUE_OPEN + t.completion, t.students);
      expect(s.wellFormed, t.completion).toBe(true);
      correct += s.correct ? 1 : 0;
      chance += t.students.filter((x) => x.correct).length / t.students.length;
      expect(isReservedPrompt(t.task.prompt)).toBe(false);
    }
    expect(correct / N).toBeGreaterThan(chance / N + 0.1);
    expect(correct / N).toBeLessThan(0.95);
  });

  it('resolves are well-formed, mostly state the majority, and their answers are sometimes wrong', () => {
    let matches = 0;
    let right = 0;
    for (let i = 0; i < N; i++) {
      const t = gameTranscript(mix, i, 'resolve');
      expect(t.prompt.endsWith(MAJORITY_OPEN)).toBe(true);
      const s = scoreResolve(MAJORITY_OPEN + t.completion, t.task, t.students.length, t.majority);
      expect(s.wellFormed, t.completion).toBe(true);
      if (t.majority !== null) matches += s.matchesMajority ? 1 : 0;
      right += s.correct ? 1 : 0;
    }
    const withMajority = Array.from({ length: N }, (_, i) => gameTranscript(mix, i, 'resolve')).filter((t) => t.majority !== null).length;
    expect(matches / withMajority).toBeGreaterThan(GAME_TRANSCRIPTS.pStateMajority - 0.1);
    expect(matches / withMajority).toBeLessThan(1);
    expect(right / N).toBeGreaterThan(0.2);
    expect(right / N).toBeLessThan(0.9);
  });

  it('is deterministic and never holds an excluded question (the experiment\'s)', () => {
    expect(gameTranscript(mix, 7, 'resolve')).toEqual(gameTranscript(mix, 7, 'resolve'));
    expect(gameTranscript(mix, 7, 'resolve', GAME_TRANSCRIPTS, () => false, 'a')).not.toEqual(gameTranscript(mix, 7, 'resolve', GAME_TRANSCRIPTS, () => false, 'b'));
    // the build excludes the first 4 questions of each round: the experiment's B (1 or 2) are a prefix of them
    const four = gameTaskRefs('game-experiment-0', 5, DEFAULT_TASK_MIX, 4);
    expect(gameTaskRefs('game-experiment-0', 5, DEFAULT_TASK_MIX, 2)).toEqual(four.slice(0, 2));
    const excluded = new Set<string>();
    for (let r = 0; r < 100; r++) for (const ref of gameTaskRefs('game-experiment-0', r, DEFAULT_TASK_MIX, 2)) excluded.add(generateTask(ref).prompt);
    let hitWithout = 0;
    for (let i = 0; i < 300; i++) {
      expect(excluded.has(gameTranscript(mix, i, 'critique', GAME_TRANSCRIPTS, (p) => excluded.has(p)).task.prompt)).toBe(false);
      hitWithout += excluded.has(gameTranscript(mix, i, 'critique').task.prompt) ? 1 : 0;
    }
    // without the exclusion some of these questions would have been taught: the exclusion is doing work
    expect(hitWithout).toBeGreaterThan(0);
  });
});
