// The task registry and rewards. Rewards are pure functions of (task, completion text).
import { extractAnswer } from '../answer.ts';
import type { TaskRef } from '../transport.ts';
import { baseConversion, basicArithmetic, chainSum, decimalArithmetic, fractionSimplification } from './arithmetic.ts';
import { countdown, wordProblems } from './puzzles.ts';
import { calendarArithmetic, legCounting, letterCounting, propositionalLogic, sorting } from './reasoning.ts';
import { TaskError, type Task, type TaskFamily } from './types.ts';

export { TaskError, type Task, type TaskFamily } from './types.ts';

export const FAMILIES: readonly TaskFamily[] = [
  basicArithmetic, chainSum, decimalArithmetic, fractionSimplification, baseConversion, calendarArithmetic,
  propositionalLogic, sorting, letterCounting, legCounting, countdown, wordProblems,
];

const BY_NAME = new Map(FAMILIES.map((f) => [f.name, f]));

export function getFamily(name: string): TaskFamily {
  const family = BY_NAME.get(name);
  if (!family) throw new TaskError(`unknown task family "${String(name).slice(0, 64)}"`);
  return family;
}

/** null when the ref is well-formed, else the reason (refs arrive from peers) */
export function checkTaskRef(ref: unknown): string | null {
  if (typeof ref !== 'object' || ref === null) return 'task ref is not an object';
  const { family, seed, difficulty } = ref as Record<string, unknown>;
  if (typeof family !== 'string' || !BY_NAME.has(family)) return 'unknown task family';
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return 'seed is not a uint32';
  if (typeof difficulty !== 'number' || !Number.isInteger(difficulty) || difficulty < 1 || difficulty > 5) return 'difficulty is not 1..5';
  return null;
}

export function generateTask(ref: TaskRef): Task {
  const problem = checkTaskRef(ref);
  if (problem) throw new TaskError(`invalid task ref: ${problem}`);
  return getFamily(ref.family).generate(ref.seed >>> 0, ref.difficulty);
}

export const ACCURACY_REWARD = 1.0;
export const FORMAT_REWARD = 0.1;

export interface Score {
  reward: number;
  correct: boolean;
  wellFormed: boolean;
  answer: string | null;
}

/** accuracy 1.0 when the verifier accepts the answer + format 0.1 for a well-formed answer block */
export function scoreCompletion(task: Task, completion: string): Score {
  const { answer, wellFormed } = extractAnswer(completion);
  let correct = false;
  if (answer !== null) {
    try {
      correct = getFamily(task.family).verify(task, answer);
    } catch {
      // a verifier bug must not take the round down; the answer simply does not count
      correct = false;
    }
  }
  return { reward: (correct ? ACCURACY_REWARD : 0) + (wellFormed ? FORMAT_REWARD : 0), correct, wellFormed, answer };
}

export interface TaskMix {
  family: string;
  difficulty: number;
  /**
   * highest level a curriculum may raise this entry to (default: difficulty, i.e. fixed). The TaskRef
   * carries the level drawn, so receivers re-derive the task and check the level lies in range.
   */
  maxDifficulty?: number;
  /** relative weight when drawing tasks (default 1) */
  weight?: number;
}
