// What the dashboard and the conference screen show of the swarm game, folded from the GameRunner's events:
// a pure reducer (like tally.ts), bounded: the last few rounds, the last few drops, one reward point per
// (round, stage). Peers' texts are kept as plain strings, cut short; the components render them as text.
import type { GameEvent, QuestionView } from '../../rl/game/runner.ts';
import { parseCritique, type Stage } from '../../rl/game/stages.ts';
import { taskKey, type Tally } from '../../rl/game/winners.ts';

export const GAME_VIEW_LIMITS = { rounds: 6, drops: 20, points: 200, textChars: 160 } as const;

export interface StudentRow {
  index: number;
  answer: string;
  correct: boolean;
  /** this tab's own answer */
  own: boolean;
}

export interface QuestionRow {
  /** family/difficulty/seed: what votes name */
  key: string;
  prompt: string;
  /** this tab's published answer, critique and resolve (best of G), cut short */
  answer: string | null;
  critique: string | null;
  /** the student this tab's critique named */
  pick: number | null;
  resolve: string | null;
  students: StudentRow[];
  /** valid picks of the critiques this tab saw, its own first */
  picks: number[];
  majority: number | null;
  majorityCorrect: boolean | null;
}

export interface RoundRow {
  round: number;
  questions: QuestionRow[];
  /** this tab's votes (per question index, the peer whose resolve it re-scored best) */
  votes: { question: number; peerId: string }[];
  standings: { peerId: string; votes: number }[];
  winners: string[];
}

export interface RewardPoint {
  round: number;
  reward: number;
  accuracy: number;
}

export interface GameView {
  peerId: string;
  /** the stage this tab last played, or null before its first */
  position: { round: number; stage: Stage } | null;
  rounds: RoundRow[];
  rewards: Record<Stage, RewardPoint[]>;
  drops: { from: string; round: number; stage: string; reason: string }[];
  missed: { round: number; stage: Stage; reason: string }[];
}

export function emptyGameView(peerId: string): GameView {
  return { peerId, position: null, rounds: [], rewards: { answer: [], critique: [], resolve: [] }, drops: [], missed: [] };
}

const cut = (text: string | null): string | null => (text === null ? null : text.slice(0, GAME_VIEW_LIMITS.textChars));

function keep<T>(list: T[], item: T, max: number): T[] {
  const out = [...list, item];
  return out.length > max ? out.slice(out.length - max) : out;
}

function roundRow(view: GameView, round: number): { rows: RoundRow[]; row: RoundRow } {
  const found = view.rounds.find((r) => r.round === round);
  if (found) return { rows: view.rounds, row: found };
  const row: RoundRow = { round, questions: [], votes: [], standings: [], winners: [] };
  const rows = [...view.rounds, row].sort((a, b) => a.round - b.round).slice(-GAME_VIEW_LIMITS.rounds);
  return { rows, row };
}

function questionRow(q: QuestionView, prev: QuestionRow | undefined, stage: Stage, own: string): QuestionRow {
  const row: QuestionRow = prev
    ? { ...prev }
    : { key: taskKey(q.task), prompt: q.task.prompt.slice(0, GAME_VIEW_LIMITS.textChars), answer: null, critique: null, pick: null, resolve: null, students: [], picks: [], majority: null, majorityCorrect: null };
  const text = cut(q.published);
  if (stage === 'answer') row.answer = text;
  const students = () => q.students.map((s) => ({ index: s.index, answer: s.answer, correct: s.correct, own: s.peerId === own }));
  if (stage === 'critique') {
    row.critique = text;
    row.pick = q.published === null ? null : parseCritique(q.published, q.students.length).pick;
    row.students = students();
  }
  if (stage === 'resolve') {
    // a tab reloaded after its critique starts its view at the resolve: the students come from the report
    // (the same list its critique saw, restored from the game's snapshot)
    if (row.students.length === 0) row.students = students();
    row.resolve = text;
    row.picks = [...q.picks];
    row.majority = q.majority;
    row.majorityCorrect = q.majorityCorrect;
  }
  return row;
}

/** the view after one event; never mutates the old one */
export function reduceGame(view: GameView, event: GameEvent): GameView {
  switch (event.type) {
    case 'stage': {
      const r = event.report;
      const { rows, row } = roundRow(view, r.round);
      const next: RoundRow = { ...row, questions: r.questions.map((q, i) => questionRow(q, row.questions[i], r.stage, view.peerId)) };
      const point: RewardPoint = { round: r.round, reward: r.meanReward, accuracy: r.accuracy };
      return {
        ...view,
        position: { round: r.round, stage: r.stage },
        rounds: rows.map((x) => (x.round === r.round ? next : x)),
        rewards: { ...view.rewards, [r.stage]: keep(view.rewards[r.stage], point, GAME_VIEW_LIMITS.points) },
      };
    }
    case 'votes': {
      const { rows, row } = roundRow(view, event.round);
      const next: RoundRow = { ...withTally(row, event.tally), votes: event.votes.map((v) => ({ question: row.questions.findIndex((q) => q.key === taskKey(v.task)), peerId: v.peerId })) };
      return { ...view, rounds: rows.map((x) => (x.round === event.round ? next : x)) };
    }
    case 'drop':
      return { ...view, drops: keep(view.drops, { from: event.from, round: event.round, stage: event.stage, reason: event.reason }, GAME_VIEW_LIMITS.drops) };
    case 'missed':
      return { ...view, missed: keep(view.missed, { round: event.round, stage: event.stage, reason: event.reason }, GAME_VIEW_LIMITS.drops) };
    default:
      return event satisfies never;
  }
}

function withTally(row: RoundRow, tally: Tally): RoundRow {
  return { ...row, standings: tally.standings.slice(0, 16), winners: tally.winners.slice(0, 16) };
}

/** votes keep arriving after this tab cast its own: the page re-reads the runner's tally and folds it in */
export function withStandings(view: GameView, tallies: readonly Tally[]): GameView {
  const byRound = new Map(tallies.map((t) => [t.round, t]));
  return { ...view, rounds: view.rounds.map((r) => (byRound.has(r.round) ? withTally(r, byRound.get(r.round)!) : r)) };
}
