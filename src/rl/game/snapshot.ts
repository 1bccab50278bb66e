// A game peer's state between stages, as plain JSON for a checkpoint's meta: where the stage machine stands,
// what this peer published and saw in the rounds still open, the peers' messages it kept, and the votes. A
// reload mid-game restores it beside the weights, so the tab resumes the round it was playing (its critique
// still sees the students it answered with, its resolve the critiques) instead of sitting the round out.
//
// The snapshot comes back from storage, which can be truncated or from another build: `parseGameSnapshot`
// is total, bounded by what one peer's honest state holds, and names what is wrong. Peers' messages in it
// are re-judged by the inbox on restore, as if they arrived again.
import { GameError, type StagePosition } from './machine.ts';
import { MAX_STUDENTS, STAGES, STUDENT_ANSWER_CHARS, type Student } from './stages.ts';
import type { StageMessage, VoteMessage } from './transport.ts';

export const GAME_SNAPSHOT_VERSION = 1;
/** the runner keeps the current and the previous round */
export const MAX_SNAPSHOT_ROUNDS = 2;
/** kept peer messages: a big honest room's worth (the inbox bounds them again on restore) */
export const MAX_SNAPSHOT_MESSAGES = 4096;

export class GameSnapshotError extends GameError {
  override name = 'GameSnapshotError';
}

export interface QuestionSnapshot {
  published: string | null;
  students: Student[];
  picks: number[];
  majority: number | null;
  majorityCorrect: boolean | null;
}

export interface RoundSnapshot {
  round: number;
  /** own best text per `${stage}/${question}` */
  own: [string, string][];
  questions: QuestionSnapshot[];
}

export interface GameSnapshot {
  version: typeof GAME_SNAPSHOT_VERSION;
  swarmId: string;
  peerId: string;
  position: StagePosition | null;
  playingRound: number | null;
  rounds: RoundSnapshot[];
  messages: StageMessage[];
  votes: VoteMessage[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isRound = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isText = (x: unknown, max: number): x is string => typeof x === 'string' && x.length <= max;

export interface SnapshotBounds {
  swarmId: string;
  peerId: string;
  questions: number;
  maxTextChars: number;
}

function parseStudent(x: unknown, i: number): Student {
  if (!isObject(x) || x.index !== i + 1 || !isText(x.peerId, 128) || !isText(x.answer, STUDENT_ANSWER_CHARS) || typeof x.correct !== 'boolean') {
    throw new GameSnapshotError(`snapshot student ${i + 1} is malformed`);
  }
  return { index: x.index, peerId: x.peerId, answer: x.answer, correct: x.correct };
}

function parseQuestion(x: unknown, bounds: SnapshotBounds): QuestionSnapshot {
  if (!isObject(x)) throw new GameSnapshotError('snapshot question is not an object');
  if (x.published !== null && !isText(x.published, bounds.maxTextChars)) throw new GameSnapshotError('snapshot published text is malformed');
  if (!Array.isArray(x.students) || x.students.length > MAX_STUDENTS) throw new GameSnapshotError(`snapshot holds more than ${MAX_STUDENTS} students`);
  const students = x.students.map(parseStudent);
  const k = students.length;
  if (!Array.isArray(x.picks) || x.picks.length > 4096 || !x.picks.every((p) => Number.isInteger(p) && p >= 1 && p <= k)) throw new GameSnapshotError('snapshot picks are malformed');
  if (x.majority !== null && !(Number.isInteger(x.majority) && (x.majority as number) >= 1 && (x.majority as number) <= k)) throw new GameSnapshotError('snapshot majority is out of range');
  if (x.majorityCorrect !== null && typeof x.majorityCorrect !== 'boolean') throw new GameSnapshotError('snapshot majorityCorrect is malformed');
  return { published: x.published as string | null, students, picks: [...(x.picks as number[])], majority: x.majority as number | null, majorityCorrect: x.majorityCorrect as boolean | null };
}

function parseRound(x: unknown, bounds: SnapshotBounds): RoundSnapshot {
  if (!isObject(x) || !isRound(x.round)) throw new GameSnapshotError('snapshot round is malformed');
  if (!Array.isArray(x.questions) || x.questions.length !== bounds.questions) throw new GameSnapshotError(`snapshot round ${x.round} does not hold ${bounds.questions} questions`);
  const stageKeys = new Set(STAGES.flatMap((s) => Array.from({ length: bounds.questions }, (_, q) => `${s}/${q}`)));
  if (!Array.isArray(x.own) || x.own.length > stageKeys.size) throw new GameSnapshotError('snapshot own texts are malformed');
  const own = x.own.map((e): [string, string] => {
    if (!Array.isArray(e) || e.length !== 2 || !stageKeys.has(e[0]) || !isText(e[1], bounds.maxTextChars)) throw new GameSnapshotError('snapshot own text is malformed');
    return [e[0], e[1]];
  });
  return { round: x.round, own, questions: x.questions.map((q) => parseQuestion(q, bounds)) };
}

/** the snapshot of this peer in this swarm, or a GameSnapshotError saying why not */
export function parseGameSnapshot(value: unknown, bounds: SnapshotBounds): GameSnapshot {
  if (!isObject(value)) throw new GameSnapshotError('game snapshot is not an object');
  if (value.version !== GAME_SNAPSHOT_VERSION) throw new GameSnapshotError(`game snapshot version ${String(value.version).slice(0, 16)}, this build reads ${GAME_SNAPSHOT_VERSION}`);
  if (value.swarmId !== bounds.swarmId) throw new GameSnapshotError('game snapshot is of another swarm');
  if (value.peerId !== bounds.peerId) throw new GameSnapshotError('game snapshot is of another peer');
  const p = value.position;
  let position: StagePosition | null = null;
  if (p !== null) {
    if (!isObject(p) || !isRound(p.round) || !STAGES.includes(p.stage as never)) throw new GameSnapshotError('game snapshot position is malformed');
    position = { round: p.round, stage: p.stage as StagePosition['stage'] };
  }
  if (value.playingRound !== null && !isRound(value.playingRound)) throw new GameSnapshotError('game snapshot playingRound is malformed');
  // the machine plays only the round it stands in (machine.ts)
  if (value.playingRound !== null && value.playingRound !== position?.round) throw new GameSnapshotError('game snapshot plays a round it is not in');
  if (!Array.isArray(value.rounds) || value.rounds.length > MAX_SNAPSHOT_ROUNDS) throw new GameSnapshotError(`game snapshot holds more than ${MAX_SNAPSHOT_ROUNDS} rounds`);
  if (!Array.isArray(value.messages) || value.messages.length > MAX_SNAPSHOT_MESSAGES) throw new GameSnapshotError(`game snapshot holds more than ${MAX_SNAPSHOT_MESSAGES} messages`);
  if (!Array.isArray(value.votes) || value.votes.length > MAX_SNAPSHOT_MESSAGES) throw new GameSnapshotError(`game snapshot holds more than ${MAX_SNAPSHOT_MESSAGES} votes`);
  return {
    version: GAME_SNAPSHOT_VERSION, swarmId: bounds.swarmId, peerId: bounds.peerId, position, playingRound: value.playingRound as number | null,
    rounds: value.rounds.map((r) => parseRound(r, bounds)),
    // peers' messages are judged again by the runner as they are put back (schema, round, slot, size)
    messages: value.messages as StageMessage[],
    votes: value.votes as VoteMessage[],
  };
}
