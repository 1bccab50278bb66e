// What the conference screen shows of a game swarm, from the gossip alone (the screen plays no model): the
// round's students per question (every answer heard, in the seeded order every player computes; ids hidden),
// the votes as they arrive, and the winners of the last round whose votes are in. Bounded: a few rounds of
// answers and votes, the per-round caps of the GossipGameTransport before anything is kept.
import { gameTaskRefs, MAX_STUDENTS, selectStudents } from '../../rl/game/stages.ts';
import type { StageMessage, VoteMessage } from '../../rl/game/transport.ts';
import { taskKey, tallyVotes, type Tally } from '../../rl/game/winners.ts';
import { generateTask, type Task } from '../../rl/tasks/index.ts';
import { gameTransportOver, type GossipGameTransport } from '../../swarm/game-transport.ts';
import type { Swarm } from '../../swarm/swarm.ts';
import { gameConfigFor } from '../../worker/game-rules.ts';

export interface WatchQuestion {
  prompt: string;
  students: { index: number; answer: string; correct: boolean }[];
}

export interface GameWatchView {
  /** the newest round heard from */
  round: number | null;
  questions: WatchQuestion[];
  /** the round being voted on now and its votes so far, newest last (voter ids cut short by the component) */
  voting: { round: number; votes: { voter: string; for: string[] }[] } | null;
  /** the last round with votes that has closed */
  decided: Tally | null;
}

const KEEP_ROUNDS = 4;
const SHOWN_VOTES = 32;

export class GameWatch {
  private readonly transport: GossipGameTransport;
  private readonly config;
  /** round → question key → sender → answer text */
  private readonly answers = new Map<number, Map<string, Map<string, string>>>();
  private readonly votes = new Map<number, VoteMessage[]>();
  view: GameWatchView = { round: null, questions: [], voting: null, decided: null };

  constructor(
    private readonly swarm: Swarm,
    private readonly onView: (view: GameWatchView) => void,
  ) {
    this.config = gameConfigFor(swarm.config);
    this.transport = gameTransportOver(swarm, { questions: this.config.questions });
    this.transport.onMessage((m) => {
      if (m.kind === 'answer') this.answer(m);
      else if (m.kind === 'vote') this.vote(m);
    });
  }

  private tasks(round: number): Task[] {
    return gameTaskRefs(this.config.swarmId, round, this.config.tasks, this.config.questions).map(generateTask);
  }

  private prune(): void {
    const newest = Math.max(...this.answers.keys(), ...this.votes.keys());
    for (const r of this.answers.keys()) if (r <= newest - KEEP_ROUNDS) this.answers.delete(r);
    for (const r of this.votes.keys()) if (r <= newest - KEEP_ROUNDS) this.votes.delete(r);
  }

  private answer(m: StageMessage): void {
    const key = taskKey(m.task);
    if (!this.tasks(m.round).some((t) => taskKey(t) === key)) return;
    const byQuestion = this.answers.get(m.round) ?? new Map<string, Map<string, string>>();
    const bySender = byQuestion.get(key) ?? new Map<string, string>();
    if (!bySender.has(m.peerId)) bySender.set(m.peerId, m.text);
    byQuestion.set(key, bySender);
    this.answers.set(m.round, byQuestion);
    this.prune();
    this.render();
  }

  private vote(m: VoteMessage): void {
    const list = this.votes.get(m.round) ?? [];
    if (list.some((v) => v.peerId === m.peerId)) return;
    list.push(m);
    this.votes.set(m.round, list);
    this.prune();
    this.render();
  }

  private render(): void {
    const round = this.answers.size > 0 ? Math.max(...this.answers.keys()) : null;
    const questions = round === null ? [] : this.tasks(round).map((task) => {
      const heard = [...(this.answers.get(round)?.get(taskKey(task)) ?? new Map<string, string>())].map(([peerId, text]) => ({ peerId, text }));
      const students = selectStudents(this.config.swarmId, round, task, heard, MAX_STUDENTS);
      return { prompt: task.prompt, students: students.map((s) => ({ index: s.index, answer: s.answer, correct: s.correct })) };
    });
    const rounds = [...this.votes.keys()].sort((a, b) => a - b);
    const votingRound = rounds.at(-1) ?? null;
    const voting = votingRound === null ? null : {
      round: votingRound,
      votes: (this.votes.get(votingRound) ?? []).slice(-SHOWN_VOTES).map((v) => ({ voter: v.peerId, for: v.votes.map((x) => x.peerId) })),
    };
    const decidedRound = [...rounds].reverse().find((r) => round !== null && r < round - 1) ?? null;
    const decided = decidedRound === null ? null : tallyVotes(this.config.swarmId, decidedRound, gameTaskRefs(this.config.swarmId, decidedRound, this.config.tasks, this.config.questions), this.votes.get(decidedRound) ?? []);
    this.view = { round, questions, voting, decided };
    this.onView(this.view);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
