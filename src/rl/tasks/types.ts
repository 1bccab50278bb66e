// What a task family is: a deterministic generator and a verifier. Same (seed, difficulty) gives the
// same task on any machine, so peers re-derive each other's tasks instead of trusting answer keys.

export type Metadata = Record<string, string | number | boolean | number[] | string[]>;

export interface Task {
  family: string;
  /** uint32 */
  seed: number;
  /** 1..5 */
  difficulty: number;
  /** the question text shown to the model (short and templated: small models must learn the format) */
  prompt: string;
  /** canonical answer, as the model should write it inside <answer>…</answer> */
  answer: string;
  metadata: Metadata;
}

export interface TaskFamily {
  readonly name: string;
  /** may throw only on invalid (seed, difficulty); callers validate those first */
  generate(seed: number, difficulty: number): Task;
  /** is this (already normalised, short) answer correct for the task? never throws */
  verify(task: Task, answer: string): boolean;
}

export class TaskError extends Error {
  override name = 'TaskError';
}
