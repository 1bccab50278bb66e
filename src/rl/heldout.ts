// The content-disjoint evaluation split. A prompt is reserved for evaluation by a hash of its TEXT (not of
// its seed): two seeds that generate the same question land on the same side, so a held-out question is
// never a training question under another seed. Training rounds re-draw reserved content
// (runner.roundTaskRefs), the pretraining corpus skips it (scripts/model/corpus.ts), and only reserved
// prompts are evaluated here, each once.
//
// The generalisation set is reserved content one difficulty level ABOVE the highest level the training
// mix (curriculum included) ever draws, so it measures transfer, not recall.
import { hashParts } from './rng.ts';
import { generateTask, TaskError, type Task, type TaskMix } from './tasks/index.ts';

/** one prompt in RESERVE_MODULUS is reserved for evaluation */
export const RESERVE_MODULUS = 8;
/**
 * A (family, level) with fewer distinct prompts than this is too small to split honestly (a reserved
 * eighth of it is a handful of questions): such levels stay out of the default mix.
 */
export const MIN_DISTINCT_PROMPTS = 64;
export const MAX_DIFFICULTY = 5;

export class HeldOutError extends Error {
  override name = 'HeldOutError';
}

export function isReservedPrompt(prompt: string): boolean {
  return hashParts('tabswarm/heldout-split', prompt) % RESERVE_MODULUS === 0;
}

/** the difficulty levels a mix entry can draw: [difficulty, maxDifficulty] (one level without a curriculum) */
export function mixLevels(entry: TaskMix): number[] {
  const hi = entry.maxDifficulty ?? entry.difficulty;
  if (!Number.isInteger(entry.difficulty) || !Number.isInteger(hi) || entry.difficulty < 1 || hi < entry.difficulty || hi > MAX_DIFFICULTY) {
    throw new HeldOutError(`mix entry ${entry.family}: levels ${entry.difficulty}..${hi} are not within 1..${MAX_DIFFICULTY}`);
  }
  return Array.from({ length: hi - entry.difficulty + 1 }, (_, i) => entry.difficulty + i);
}

/** every (family, level) the mix can train on, one entry each: what pretraining covers */
export function expandLevels(mix: readonly TaskMix[]): TaskMix[] {
  return mix.flatMap((m) => {
    const levels = mixLevels(m);
    return levels.map((difficulty) => ({ family: m.family, difficulty, weight: (m.weight ?? 1) / levels.length }));
  });
}

/** draws per wanted task before giving up on finding more distinct reserved prompts */
const ATTEMPTS_PER_TASK = 400;

function reservedTasks(family: string, levels: readonly number[], count: number, stream: string, seen: Set<string>): Task[] {
  const out: Task[] = [];
  const perLevel = levels.map(() => 0);
  for (let i = 0; i < count; i++) perLevel[i % levels.length]++;
  levels.forEach((difficulty, l) => {
    let found = 0;
    for (let j = 0; found < perLevel[l] && j < perLevel[l] * ATTEMPTS_PER_TASK; j++) {
      const task = generateTask({ family, difficulty, seed: hashParts(stream, family, difficulty, j) });
      const key = `${family}\u0000${task.prompt}`;
      if (!isReservedPrompt(task.prompt) || seen.has(key)) continue;
      seen.add(key);
      out.push(task);
      found++;
    }
  });
  if (out.length === 0 && count > 0) throw new HeldOutError(`${family} at levels ${levels.join(',')} has no reserved prompts to evaluate on`);
  return out;
}

/**
 * The held-out set: up to perEntry distinct reserved prompts per mix entry, spread over the entry's
 * levels. Fewer when the content has fewer distinct reserved prompts (duplicates would weigh one question
 * twice). Deterministic.
 */
export function heldOutTasks(mix: readonly TaskMix[], perEntry: number): Task[] {
  const seen = new Set<string>();
  return mix.flatMap((m) => reservedTasks(m.family, mixLevels(m), perEntry, 'tabswarm/heldout', seen));
}

/**
 * A validation set for choosing settings: reserved prompts (never trained or pretrained on) from another
 * stream, minus every prompt of heldOutTasks(mix, testPerEntry), so settings tuned on it are not tuned on
 * the held-out figures the README reports. Fewer per entry where the reserved content runs out.
 */
export function validationTasks(mix: readonly TaskMix[], perEntry: number, testPerEntry: number): Task[] {
  const seen = new Set(heldOutTasks(mix, testPerEntry).map((t) => `${t.family}\u0000${t.prompt}`));
  return mix.flatMap((m) => reservedTasks(m.family, mixLevels(m), perEntry, 'tabswarm/validation', seen));
}

/** reserved prompts one level above each entry's highest training level (entries already at 5 are skipped) */
export function generalisationTasks(mix: readonly TaskMix[], perEntry: number): Task[] {
  const seen = new Set<string>();
  return mix.flatMap((m) => {
    const above = Math.max(...mixLevels(m)) + 1;
    return above > MAX_DIFFICULTY ? [] : reservedTasks(m.family, [above], perEntry, 'tabswarm/generalisation', seen);
  });
}

/** re-draws on reserved content, bounded so a family whose content is all reserved fails loudly */
export const MAX_REDRAWS = 64;

/** the first non-reserved task among the seeds nextSeed gives, for training rounds and the corpus */
export function trainingTask(family: string, difficulty: number, nextSeed: () => number): { task: Task; seed: number } {
  for (let k = 0; k < MAX_REDRAWS; k++) {
    const seed = nextSeed();
    const task = generateTask({ family, difficulty, seed });
    if (!isReservedPrompt(task.prompt)) return { task, seed };
  }
  throw new TaskError(`${family}/${difficulty}: ${MAX_REDRAWS} draws in a row were reserved for evaluation`);
}
