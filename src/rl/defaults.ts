// The task mix the shipped default model was pretrained on (every level of every entry, reserved
// evaluation content excluded), and that the CLI, the experiment and the app train on by default.
//
// Each level here has at least MIN_DISTINCT_PROMPTS distinct prompts, so an eighth of them can be held out
// by content: the first levels of calendar, propositional logic, letter and leg counting (2 to 54 prompts)
// are left out for the first level that has enough; fraction simplification and base conversion have no
// small level with enough content that a 120k-parameter model gets right, and leave the mix.
// Ranges [difficulty, maxDifficulty] are what a curriculum may move through (curriculum.ts); without one,
// an entry draws its base difficulty.
import type { TaskMix } from './tasks/index.ts';

export const DEFAULT_TASK_MIX: TaskMix[] = [
  { family: 'basic_arithmetic', difficulty: 1, maxDifficulty: 3, weight: 2 },
  { family: 'chain_sum', difficulty: 1, maxDifficulty: 2 },
  { family: 'decimal_arithmetic', difficulty: 1, maxDifficulty: 2 },
  { family: 'sorting', difficulty: 1, maxDifficulty: 2 },
  { family: 'word_problems', difficulty: 1, maxDifficulty: 2 },
  { family: 'countdown', difficulty: 1, maxDifficulty: 2 },
  { family: 'calendar_arithmetic', difficulty: 3 },
  { family: 'propositional_logic', difficulty: 3 },
  { family: 'letter_counting', difficulty: 3 },
  { family: 'leg_counting', difficulty: 3 },
];

/** the easy single family used for quick demonstrations and the solo-learning test */
export const EASY_TASK_MIX: TaskMix[] = [{ family: 'basic_arithmetic', difficulty: 1 }];
