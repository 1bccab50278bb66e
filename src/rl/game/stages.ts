// The swarm game's three stages (RL Swarm era 1): prompts, parsers and verifiers as pure functions.
//
//   answer    the round's shared question → `<answer>X</answer>` (scored by the task's own verifier)
//   critique  question + the round's students → `… <identify>Student #i</identify>`
//   resolve   question + students + the critics' picks → `<majority>Student #i</majority><answer>X</answer>`
//
// Critiques and resolutions come from peers, so the text may be anything (no pick, two picks, #0, #99999,
// megabytes, odd unicode): every parser reads at most MAX_SCAN_CHARS characters, is linear in them and never
// throws. The shipped model has a 96-token context, so a prompt shows each student's extracted answer only
// (not its reasoning) and ends with the opening of the tag the stage asks for: the model writes the index
// and the rest, and the verifier reads scaffold + completion as one text.
import { MAX_SCAN_CHARS, normalizeAnswer } from '../answer.ts';
import { hashParts, Rng } from '../rng.ts';
import { roundTaskRefs } from '../round-tasks.ts';
import { scoreCompletion, type Task, type TaskMix } from '../tasks/index.ts';
import type { TaskRef } from '../transport.ts';

export type Stage = 'answer' | 'critique' | 'resolve';
export const STAGES: readonly Stage[] = ['answer', 'critique', 'resolve'];

export const CRITIQUE_OPEN = '<identify>Student #';
export const CRITIQUE_CLOSE = '</identify>';
export const MAJORITY_OPEN = '<majority>Student #';
export const MAJORITY_CLOSE = '</majority>';
/** students shown per question (k): RL Swarm shows a handful; more would not fit the small context */
export const MAX_STUDENTS = 8;
/** a student's answer is shown cut to this many characters */
export const STUDENT_ANSWER_CHARS = 24;

export const PICK_REWARD = 1.0;
export const MAJORITY_REWARD = 0.5;
export const CORRECT_REWARD = 1.0;
export const GAME_FORMAT_REWARD = 0.1;

/**
 * The round's questions: the same for every peer, from (swarm, round) alone. The fixed pseudo peer id keeps
 * them apart from every SAPO peer's own tasks of the same round.
 */
export function gameTaskRefs(swarmId: string, round: number, mix: readonly TaskMix[], count: number): TaskRef[] {
  return roundTaskRefs(swarmId, round, 'tabswarm/game', mix, count);
}

/** one peer's published answer to one question, as a critic sees it (the sender's id never reaches a prompt) */
export interface Student {
  /** 1-based, as in "Student #i" */
  index: number;
  peerId: string;
  /** the extracted, normalised answer, cut to STUDENT_ANSWER_CHARS */
  answer: string;
  correct: boolean;
}

/**
 * The top-k students of a question: every peer whose answer text has an answer block (one per peer), in an
 * order derived from (swarm, round, question, peer): the same for everyone who received the same answers,
 * and not something a sender can buy with content. Correctness is the verifier's, recorded for rewards only.
 */
export function selectStudents(swarmId: string, round: number, task: Task, answers: readonly { peerId: string; text: string }[], k = MAX_STUDENTS): Student[] {
  const seen = new Set<string>();
  const eligible: { peerId: string; answer: string; correct: boolean; key: number }[] = [];
  for (const a of answers) {
    if (typeof a?.peerId !== 'string' || typeof a.text !== 'string' || seen.has(a.peerId)) continue;
    const score = scoreCompletion(task, a.text);
    if (score.answer === null) continue;
    seen.add(a.peerId);
    eligible.push({ peerId: a.peerId, answer: score.answer.slice(0, STUDENT_ANSWER_CHARS), correct: score.correct, key: hashParts('tabswarm/game/student', swarmId, round, task.family, task.seed, a.peerId) });
  }
  eligible.sort((x, y) => x.key - y.key || (x.peerId < y.peerId ? -1 : 1));
  return eligible.slice(0, Math.max(0, Math.min(k, MAX_STUDENTS))).map((e, i) => ({ index: i + 1, peerId: e.peerId, answer: e.answer, correct: e.correct }));
}

function studentLines(students: readonly Student[]): string {
  // newlines inside an answer would forge extra student lines
  return students.map((s) => `#${s.index} ${s.answer.replace(/\s+/g, ' ')}\n`).join('');
}

export function answerPrompt(task: Task): string {
  return task.prompt;
}

/** what the model continues (the runner's encodePrompt adds the newline after the question itself) */
export function critiquePrompt(task: Task, students: readonly Student[]): { prompt: string; scaffold: string } {
  return { prompt: `${task.prompt}\n${studentLines(students)}${CRITIQUE_OPEN}`, scaffold: CRITIQUE_OPEN };
}

export function resolvePrompt(task: Task, students: readonly Student[], picks: readonly number[]): { prompt: string; scaffold: string } {
  const shown = picks.length === 0 ? 'none' : picks.slice(0, 16).map((p) => `#${p}`).join(' ');
  return { prompt: `${task.prompt}\n${studentLines(students)}Picks: ${shown}\n${MAJORITY_OPEN}`, scaffold: MAJORITY_OPEN };
}

export interface ParsedPick {
  /** the named student (1..k), or null when the text names none, several, or one out of range */
  pick: number | null;
  /** exactly one tag, a plain index in range, nothing but whitespace after it (and after `after` if given) */
  wellFormed: boolean;
  /** why pick is null (for drop reasons and tests) */
  reason: string | null;
}

/**
 * Read the single `<open>N` pick of a text: N a plain decimal in 1..k (no sign, no leading zero, at most 3
 * digits) that ends at the close tag, at another tag (`<`) or at the end of the text. Ending anywhere else
 * ("1 and Student #2", "1 or 2") is not a pick. Two opening tags (a hedge) are none. `closed` says whether
 * the close tag itself follows: the format reward needs it, naming a student does not (a small model that
 * writes "#2</answer>" has still named student 2). Bounded and total.
 */
export function parseTag(text: unknown, open: string, close: string, k: number): ParsedPick & { end: number } {
  const none = (reason: string) => ({ pick: null, wellFormed: false, reason, end: -1 });
  if (typeof text !== 'string') return none('not text');
  const scanned = text.length > MAX_SCAN_CHARS ? text.slice(0, MAX_SCAN_CHARS) : text;
  const lower = scanned.toLowerCase();
  const o = open.toLowerCase();
  const first = lower.indexOf(o);
  if (first < 0) return none('names no student');
  if (lower.indexOf(o, first + o.length) >= 0) return none('names more than one student');
  const start = first + o.length;
  // a short window, folded like answers are (full-width digits), so the index is read in O(1)
  const head = normalizeAnswer(scanned.slice(start, start + 16)).toLowerCase();
  const digits = /^[0-9]*/.exec(head)![0];
  if (digits.length === 0 || digits.length > 3 || digits.startsWith('0')) return none('student number is not a plain index');
  const rest = head.slice(digits.length);
  if (rest.length > 0 && !rest.startsWith('<')) return none('student number is not a plain index');
  const n = Number(digits);
  if (n < 1 || n > k) return none('student number out of range');
  const closeAt = lower.indexOf(close.toLowerCase(), start);
  const closed = rest.startsWith(close.toLowerCase()) && closeAt >= 0;
  return { pick: n, wellFormed: closed && text.length <= MAX_SCAN_CHARS, reason: null, end: closed ? closeAt + close.length : -1 };
}

/** A critique names one student; well-formed when the tag ends the text. */
export function parseCritique(text: unknown, k: number): ParsedPick {
  const p = parseTag(text, CRITIQUE_OPEN, CRITIQUE_CLOSE, k);
  const tailOk = p.end >= 0 && (text as string).slice(p.end, MAX_SCAN_CHARS).trim().length === 0;
  return { pick: p.pick, wellFormed: p.wellFormed && tailOk, reason: p.reason };
}

export interface CritiqueScore {
  reward: number;
  pick: number | null;
  /** the named student's answer is correct */
  correct: boolean;
  wellFormed: boolean;
}

/** PICK_REWARD for naming a student whose answer is correct + GAME_FORMAT_REWARD for a well-formed critique */
export function scoreCritique(text: string, students: readonly Student[]): CritiqueScore {
  const p = parseCritique(text, students.length);
  const correct = p.pick !== null && students[p.pick - 1].correct;
  return { reward: (correct ? PICK_REWARD : 0) + (p.wellFormed ? GAME_FORMAT_REWARD : 0), pick: p.pick, correct, wellFormed: p.wellFormed };
}

/**
 * The majority of the critics' picks (one per critic): the most named student, ties to the lower index so
 * that everyone who saw the same critiques agrees. null when nobody named a valid student.
 */
export function majorityPick(picks: readonly number[], k: number): number | null {
  const counts = new Array<number>(k + 1).fill(0);
  for (const p of picks) if (Number.isInteger(p) && p >= 1 && p <= k) counts[p]++;
  let best: number | null = null;
  for (let i = 1; i <= k; i++) if (counts[i] > 0 && (best === null || counts[i] > counts[best])) best = i;
  return best;
}

export interface ResolveScore {
  reward: number;
  majority: number | null;
  matchesMajority: boolean;
  answer: string | null;
  correct: boolean;
  wellFormed: boolean;
}

/**
 * MAJORITY_REWARD for stating the majority pick + CORRECT_REWARD for a correct final answer +
 * GAME_FORMAT_REWARD when the text is exactly the majority tag followed by one answer block.
 */
export function scoreResolve(text: string, task: Task, k: number, majority: number | null): ResolveScore {
  const m = parseTag(text, MAJORITY_OPEN, MAJORITY_CLOSE, k);
  // the final answer is judged like any completion: the task's verifier on the one answer block
  const { answer, correct, wellFormed: answerFormed } = scoreCompletion(task, text);
  const matchesMajority = majority !== null && m.pick === majority;
  // the answer block must come after the majority tag: a resolve states the pick, then decides
  const ordered = m.end >= 0 && answer !== null && (text as string).toLowerCase().indexOf('<answer>', m.end) >= m.end;
  const wellFormed = m.wellFormed && answerFormed && ordered;
  return {
    reward: (matchesMajority ? MAJORITY_REWARD : 0) + (correct ? CORRECT_REWARD : 0) + (wellFormed ? GAME_FORMAT_REWARD : 0),
    majority, matchesMajority, answer, correct, wellFormed,
  };
}

/** a seeded order over peers, for tie-breaks nobody can steer by content */
export function seededOrder(swarmId: string, round: number, peerIds: readonly string[]): string[] {
  const rng = new Rng(hashParts('tabswarm/game/order', swarmId, round));
  return rng.shuffle([...new Set(peerIds)].sort());
}
