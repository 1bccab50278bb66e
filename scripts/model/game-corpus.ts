// Synthetic transcripts of the swarm game's critique and resolve stages, for the game model's supervised
// stage (scripts/build-game-model.ts). Prompts are built by the game's own functions (selectStudents,
// critiquePrompt, resolvePrompt), so the model sees exactly the text it will continue in play, and the
// completions are in the exact formats scoreCritique / scoreResolve reward. Their content is deliberately
// imperfect (a critic names a correct student only part of the time; a resolver sometimes misstates the
// majority or copies a wrong answer), so the model starts playing, badly, and RL has room.
//
// Questions come from trainingTask (never a prompt reserved for evaluation, heldout.ts), and the caller can
// exclude more prompts (the experiment's own game questions) so that what is measured was not taught.
import { trainingTask } from '../../src/rl/heldout.ts';
import { hashParts, Rng } from '../../src/rl/rng.ts';
import {
  CRITIQUE_CLOSE, critiquePrompt, majorityPick, MAJORITY_CLOSE, MAX_STUDENTS, resolvePrompt, selectStudents, type Student,
} from '../../src/rl/game/stages.ts';
import { completionText } from '../../src/rl/format.ts';
import type { Task, TaskMix } from '../../src/rl/tasks/index.ts';
import { randomError, systematicError } from './corpus.ts';

export interface GameTranscriptOptions {
  /** a synthetic student answers correctly with this probability (about what the default model does) */
  pStudentCorrect: number;
  /** a critique names a correct student (when one exists) with this probability, else any student */
  pCritiqueCorrect: number;
  /** a resolve states the true majority with this probability, else another student */
  pStateMajority: number;
  /** a resolve's final answer copies the stated student's answer with this probability, else the key or an error */
  pCopyStated: number;
  /** students shown: 2..maxStudents */
  maxStudents: number;
}

export const GAME_TRANSCRIPTS: GameTranscriptOptions = { pStudentCorrect: 0.4, pCritiqueCorrect: 0.75, pStateMajority: 0.85, pCopyStated: 0.8, maxStudents: 4 };

export type GameTranscriptStage = 'critique' | 'resolve';

export interface GameTranscript {
  stage: GameTranscriptStage;
  task: Task;
  /** what the runner encodes as the prompt (ends inside the tag the stage asks for) */
  prompt: string;
  /** what the model is taught to write after it (before the end-of-sequence token) */
  completion: string;
  students: Student[];
  /** resolve: the majority of the shown picks */
  majority: number | null;
}

function pickEntry(mix: readonly TaskMix[], rng: Rng): TaskMix {
  const total = mix.reduce((s, e) => s + (e.weight ?? 1), 0);
  let x = rng.next() * total;
  return mix.find((e) => (x -= e.weight ?? 1) < 0) ?? mix[mix.length - 1];
}

function studentAnswer(task: Task, rng: Rng, pCorrect: number): string {
  const u = rng.next();
  return u < pCorrect ? task.answer : u < pCorrect + (1 - pCorrect) / 2 ? systematicError(task) : randomError(task, rng);
}

/** a critic's pick: a correct student with probability p when there is one, else uniform */
function critiquePick(students: readonly Student[], rng: Rng, p: number): number {
  const correct = students.filter((s) => s.correct);
  if (correct.length > 0 && rng.next() < p) return rng.pick(correct).index;
  return rng.int(1, students.length);
}

/**
 * One transcript of a game stage. Deterministic in (mix, index, options, salt). `excluded(prompt)` skips
 * questions (redrawn with the same rng), so an evaluation's questions never appear.
 */
export function gameTranscript(
  mix: readonly TaskMix[], index: number, stage: GameTranscriptStage, options: GameTranscriptOptions = GAME_TRANSCRIPTS,
  excluded: (prompt: string) => boolean = () => false, salt = 'game',
): GameTranscript {
  const rng = new Rng(hashParts('tabswarm/game-corpus', salt, stage, index));
  let task: Task | null = null;
  for (let tries = 0; tries < 64 && task === null; tries++) {
    const entry = pickEntry(mix, rng);
    const drawn = trainingTask(entry.family, entry.difficulty, () => rng.nextU32()).task;
    if (!excluded(drawn.prompt)) task = drawn;
  }
  if (task === null) throw new Error('game corpus: 64 questions in a row were excluded');
  const k = rng.int(2, Math.max(2, Math.min(options.maxStudents, MAX_STUDENTS)));
  // students as the runner selects them: published answer texts in, seeded order out
  const answers = Array.from({ length: k }, (_, i) => ({ peerId: `corpus-${i}`, text: completionText(studentAnswer(task, rng, options.pStudentCorrect)) }));
  const students = selectStudents(`corpus-${salt}`, index, task, answers, k);
  if (stage === 'critique') {
    const pick = critiquePick(students, rng, options.pCritiqueCorrect);
    return { stage, task, prompt: critiquePrompt(task, students).prompt, completion: `${pick}${CRITIQUE_CLOSE}`, students, majority: null };
  }
  // the critics' picks as a resolver sees them (some rounds have none)
  const critics = rng.int(0, k);
  const picks = Array.from({ length: critics }, () => critiquePick(students, rng, options.pCritiqueCorrect));
  const majority = majorityPick(picks, students.length);
  const truth = majority ?? rng.int(1, students.length);
  let stated = truth;
  if (rng.next() >= options.pStateMajority && students.length > 1) {
    stated = rng.int(1, students.length - 1);
    if (stated >= truth) stated++;
  }
  const u = rng.next();
  const final = u < options.pCopyStated ? students[stated - 1].answer : u < options.pCopyStated + (1 - options.pCopyStated) / 2 ? task.answer : randomError(task, rng);
  return { stage, task, prompt: resolvePrompt(task, students, picks).prompt, completion: `${stated}${MAJORITY_CLOSE}${completionText(final)}`, students, majority };
}
