// Pretraining transcripts with deliberately imperfect answers. Each transcript answers correctly with
// probability pCorrect, otherwise with the family's typical mistake (a systematic error, the same for a
// given task) or a random nearby wrong answer. A model that learns this distribution starts RL at modest
// accuracy, and RL has the right answer within its reach to reinforce.
import { completionText, promptText } from '../../src/rl/format.ts';
import { hashParts, Rng } from '../../src/rl/rng.ts';
import { trainingTask } from '../../src/rl/heldout.ts';
import { getFamily, type Task, type TaskMix } from '../../src/rl/tasks/index.ts';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function numeric(answer: string, delta: number): string {
  return String(Number(answer) + delta);
}

/** the family's characteristic mistake: deterministic for a task */
export function systematicError(task: Task): string {
  const m = task.metadata;
  switch (task.family) {
    case 'calendar_arithmetic':
      return m.kind === 'weekday' ? DAYS[(Number(m.day) + 6) % 7] : task.answer.replace(/\d+$/, (d) => String(Number(d) - 1 || 1));
    case 'propositional_logic':
      return task.answer === 'true' ? 'false' : 'true';
    case 'sorting':
      return (m.values as number[]).join(' '); // left unsorted
    case 'fraction_simplification':
      return String(m.fraction); // not simplified
    case 'base_conversion':
      return [...task.answer].reverse().join('') === task.answer ? numeric(task.answer, 1) : [...task.answer].reverse().join('');
    case 'countdown':
      return task.answer.replace(/[-+]/, (op) => (op === '+' ? '-' : '+'));
    default:
      return numeric(task.answer, 1); // off by one
  }
}

/** some other plausible wrong answer (the systematic one when the random pick happens to be right) */
export function randomError(task: Task, rng: Rng): string {
  const candidate = randomCandidate(task, rng);
  return getFamily(task.family).verify(task, candidate) ? systematicError(task) : candidate;
}

function randomCandidate(task: Task, rng: Rng): string {
  const m = task.metadata;
  switch (task.family) {
    case 'calendar_arithmetic':
      return m.kind === 'weekday' ? DAYS[(Number(m.day) + rng.int(1, 6)) % 7] : task.answer.replace(/\d+$/, (d) => String(Number(d) + rng.int(1, 3)));
    case 'propositional_logic':
      return rng.pick(['true', 'false']);
    case 'sorting':
      return rng.shuffle(m.values as number[]).join(' ');
    case 'fraction_simplification': {
      const [p, q] = task.answer.split('/').map(Number);
      return `${p + rng.int(1, 2)}/${q}`;
    }
    case 'base_conversion':
      return (Number(m.value) + rng.pick([-2, -1, 1, 2]) + 8).toString(Number(m.base));
    case 'countdown': {
      const numbers = m.numbers as number[];
      return rng.shuffle(numbers).join(rng.pick(['+', '-']));
    }
    default:
      return numeric(task.answer, rng.pick([-3, -2, -1, 2, 3]));
  }
}

export interface TranscriptOptions {
  pCorrect: number;
  pSystematic: number;
}

/** one transcript: the prompt, and a completion whose answer is right with probability pCorrect */
export function transcript(mix: readonly TaskMix[], index: number, options: TranscriptOptions, salt = 'pretrain'): { prompt: string; completion: string; correct: boolean } {
  const rng = new Rng(hashParts('tabswarm', salt, index));
  const total = mix.reduce((s, e) => s + (e.weight ?? 1), 0);
  let x = rng.next() * total;
  const entry = mix.find((e) => (x -= e.weight ?? 1) < 0) ?? mix[mix.length - 1];
  // content reserved for evaluation never reaches pretraining
  const { task } = trainingTask(entry.family, entry.difficulty, () => rng.nextU32());
  const u = rng.next();
  const answer = u < options.pCorrect ? task.answer : u < options.pCorrect + options.pSystematic ? systematicError(task) : randomError(task, rng);
  return { prompt: promptText(task), completion: completionText(answer), correct: answer === task.answer };
}
