// The task mix the shipped default model was pretrained on, and that the CLI, the experiment and the app
// train on by default: the easy levels, where a tiny model has something to learn.
import type { TaskMix } from './tasks/index.ts';

export const DEFAULT_TASK_MIX: TaskMix[] = [
  { family: 'basic_arithmetic', difficulty: 1, weight: 2 },
  { family: 'basic_arithmetic', difficulty: 2 },
  { family: 'chain_sum', difficulty: 1 },
  { family: 'calendar_arithmetic', difficulty: 1 },
  { family: 'propositional_logic', difficulty: 1 },
  { family: 'propositional_logic', difficulty: 2 },
  { family: 'sorting', difficulty: 1 },
  { family: 'letter_counting', difficulty: 1 },
  { family: 'leg_counting', difficulty: 1 },
  { family: 'word_problems', difficulty: 1 },
  { family: 'countdown', difficulty: 1 },
  { family: 'base_conversion', difficulty: 1 },
  { family: 'fraction_simplification', difficulty: 1 },
];

/** the easy single family used for quick demonstrations and the solo-learning test */
export const EASY_TASK_MIX: TaskMix[] = [{ family: 'basic_arithmetic', difficulty: 1 }];
