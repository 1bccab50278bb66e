// One peer's swarm game. `advance(position)` is called whenever the clock or the coordinator moves; the
// stage machine says what to play, and each stage is: build the prompts from what arrived → sample G
// completions per question → score with the stage's verifier → one GRPO step → publish the best one. When a
// round it played ends, the peer re-scores everyone's resolves and publishes its votes.
//
// What peers send is judged on arrival (the open stage only, one per sender per question, bounded size,
// only the round's questions) and again on use (a critique must name, in this peer's own student list, the
// student it says it is about); every drop is kept with its reason.
import type { AdamWConfig, Engine } from '../../engine/api.ts';
import type { TextTokenizer } from '../format.ts';
import { GRPO_DEFAULTS, type GrpoConfig } from '../grpo.ts';
import { hashParts } from '../rng.ts';
import type { SamplingConfig } from '../runner.ts';
import { generateTask, scoreCompletion, type Task, type TaskMix } from '../tasks/index.ts';
import { INBOX_DEFAULTS, StageInbox, StageMachine, type GameEnvelope, type StagePosition } from './machine.ts';
import {
  critiquePrompt, gameTaskRefs, majorityPick, MAX_STUDENTS, parseCritique, resolvePrompt, scoreCritique, scoreResolve,
  selectStudents, type Stage, type Student,
} from './stages.ts';
import { encodeStagePrompt, grpoStageStep, sampleGroups, type SampledCompletion, type StepResult } from './train.ts';
import type { GameMessage, GameTransport, StageMessage, VoteMessage } from './transport.ts';
import { bestResolve, tallyVotes, taskKey, type Tally } from './winners.ts';
import { GAME_SNAPSHOT_VERSION, GameSnapshotError, parseGameSnapshot, type GameSnapshot } from './snapshot.ts';

export interface GameConfig {
  swarmId: string;
  tasks: TaskMix[];
  /** shared questions per round (B) */
  questions: number;
  /** completions per question and stage (G) */
  completions: number;
  /** students shown per question (k) */
  students: number;
  sampling: SamplingConfig;
  /** completion budgets per stage (the critique and resolve tags are long in a small vocabulary) */
  maxNewTokens: Record<Stage, number>;
  adamw: AdamWConfig;
  grpo: GrpoConfig;
  microBatch: number;
  /** characters of a peer's stage text taken at all (an honest critique or resolve is far shorter) */
  maxTextChars: number;
}

export function defaultGameConfig(overrides: Partial<GameConfig> = {}): GameConfig {
  return {
    swarmId: 'local',
    tasks: [{ family: 'basic_arithmetic', difficulty: 1 }],
    questions: 2,
    completions: 4,
    students: 4,
    sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 24 },
    maxNewTokens: { answer: 16, critique: 16, resolve: 32 },
    adamw: { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    grpo: GRPO_DEFAULTS,
    microBatch: 16,
    maxTextChars: 1024,
    ...overrides,
  };
}

/** what one stage of one round did, for the dashboard and the experiment */
export interface StageReport {
  peerId: string;
  round: number;
  stage: Stage;
  /** mean reward over all G×B completions of the stage */
  meanReward: number;
  /** answer: answers correct; critique: picks naming a correct student; resolve: final answers correct */
  accuracy: number;
  formatRate: number;
  questions: QuestionView[];
  step: StepResult;
}

/** one question as this peer saw it in the round so far */
export interface QuestionView {
  task: Task;
  /** this peer's published text for the stage (best of G), or null when it published none */
  published: string | null;
  students: Student[];
  /** valid picks of the critiques it saw (its own first) */
  picks: number[];
  majority: number | null;
  /** the majority's student answered correctly */
  majorityCorrect: boolean | null;
}

export type GameEvent =
  | { type: 'stage'; report: StageReport }
  | { type: 'missed'; peerId: string; round: number; stage: Stage; reason: string }
  | { type: 'drop'; peerId: string; from: string; round: number; stage: Stage | 'vote'; reason: string }
  | { type: 'votes'; peerId: string; round: number; votes: VoteMessage['votes']; tally: Tally };

interface Envelope extends GameEnvelope {
  message: StageMessage;
}

interface RoundState {
  tasks: Task[];
  questions: QuestionView[];
  /** own best text per question and stage */
  own: Map<string, string>;
}

export class GameRunner {
  readonly machine = new StageMachine();
  private readonly inbox: StageInbox<Envelope>;
  private readonly rounds = new Map<number, RoundState>();
  private readonly votes = new Map<number, Map<string, VoteMessage>>();
  private readonly listeners = new Set<(e: GameEvent) => void>();

  constructor(
    readonly engine: Engine,
    readonly tokenizer: TextTokenizer,
    readonly transport: GameTransport,
    readonly config: GameConfig,
  ) {
    if (config.questions < 1 || config.completions < 2 || config.students < 1 || config.students > MAX_STUDENTS) {
      throw new Error(`game config needs questions >= 1, completions >= 2 and 1..${MAX_STUDENTS} students`);
    }
    this.inbox = new StageInbox<Envelope>({ ...INBOX_DEFAULTS, maxChars: config.maxTextChars });
    transport.onMessage((m) => this.receive(m));
  }

  get peerId(): string {
    return this.transport.peerId;
  }

  on(listener: (e: GameEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: GameEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a display bug must not stop the game
      }
    }
  }

  private drop(from: string, round: number, stage: Stage | 'vote', reason: string): void {
    this.emit({ type: 'drop', peerId: this.peerId, from: String(from).slice(0, 64), round, stage, reason });
  }

  /** move to a position; plays what the stage machine asks for, in order */
  async advance(position: StagePosition): Promise<StageReport[]> {
    const reports: StageReport[] = [];
    for (const action of this.machine.advance(position)) {
      if (action.type === 'missed') this.emit({ type: 'missed', peerId: this.peerId, round: action.round, stage: action.stage, reason: action.reason });
      else if (action.type === 'vote') await this.castVotes(action.round);
      else reports.push(await this.play(action.round, action.stage));
    }
    this.inbox.prune(position.round - 1);
    for (const r of this.rounds.keys()) if (r < position.round - 1) this.rounds.delete(r);
    for (const r of this.votes.keys()) if (r < position.round - 2) this.votes.delete(r);
    return reports;
  }

  /** this peer's game between stages (JSON), for a checkpoint beside the weights */
  snapshot(): GameSnapshot {
    const { position, playingRound } = this.machine.snapshot();
    return {
      version: GAME_SNAPSHOT_VERSION, swarmId: this.config.swarmId, peerId: this.peerId, position, playingRound,
      rounds: [...this.rounds].map(([round, s]) => ({
        round, own: [...s.own], questions: s.questions.map((v) => ({ published: v.published, students: v.students.map((x) => ({ ...x })), picks: [...v.picks], majority: v.majority, majorityCorrect: v.majorityCorrect })),
      })),
      messages: this.inbox.entries().map((e) => e.message),
      votes: [...this.votes.values()].flatMap((list) => [...list.values()]),
    };
  }

  /**
   * Resume from a snapshot, before the first `advance`: the stage machine stands where it stood (what was
   * played is not played again), the open rounds hold what this peer published and saw, and peers' kept
   * messages are judged again on the way in. A snapshot of another swarm or peer, or a broken one, is a
   * GameSnapshotError and changes nothing.
   */
  restore(value: unknown): { messages: number; dropped: number } {
    if (this.machine.current !== null) throw new GameSnapshotError('restore a game before it advances');
    const snap = this.readSnapshot(value);
    this.machine.restore(snap);
    for (const r of snap.rounds) {
      const s = this.state(r.round);
      for (const [key, text] of r.own) s.own.set(key, text);
      r.questions.forEach((q, i) => Object.assign(s.questions[i], q));
    }
    let dropped = 0;
    for (const m of snap.messages) {
      const ok = typeof m === 'object' && m !== null && m.swarmId === this.config.swarmId && typeof m.text === 'string' && typeof m.task === 'object' && m.task !== null && typeof m.peerId === 'string' && m.peerId !== this.peerId;
      const round = ok ? m.round : -1;
      const refs = ok && Number.isSafeInteger(round) && round >= 0 ? gameTaskRefs(this.config.swarmId, round, this.config.tasks, this.config.questions) : [];
      const slot = ok ? taskKey(m.task) : '';
      const verdict = ok && refs.some((r) => taskKey(r) === slot) ? this.inbox.restore({ round, stage: m.kind, peerId: m.peerId, slot, chars: m.text.length, message: m }) : { ok: false };
      if (!verdict.ok) dropped++;
    }
    for (const v of snap.votes) {
      if (typeof v !== 'object' || v === null || v.kind !== 'vote' || typeof v.peerId !== 'string' || !Number.isSafeInteger(v.round)) dropped++;
      else if (v.peerId === this.peerId) this.keepVote(v);
      else this.receiveVote(v);
    }
    return { messages: snap.messages.length + snap.votes.length - dropped, dropped };
  }

  /** a snapshot checked against this runner's swarm, peer and bounds (GameSnapshotError otherwise); changes nothing */
  readSnapshot(value: unknown): GameSnapshot {
    return parseGameSnapshot(value, { swarmId: this.config.swarmId, peerId: this.peerId, questions: this.config.questions, maxTextChars: this.config.maxTextChars });
  }

  private keepVote(m: VoteMessage): void {
    const list = this.votes.get(m.round) ?? new Map<string, VoteMessage>();
    list.set(m.peerId, m);
    this.votes.set(m.round, list);
  }

  private receive(m: GameMessage): void {
    const from = typeof m?.peerId === 'string' ? m.peerId : '?';
    const round = typeof m?.round === 'number' ? m.round : -1;
    if (typeof m !== 'object' || m === null || m.swarmId !== this.config.swarmId) return this.drop(from, round, 'vote', 'not a message of this swarm');
    if (from === this.peerId) return this.drop(from, round, m.kind, 'a message in this peer\'s own name');
    if (m.kind === 'vote') return this.receiveVote(m);
    if (typeof m.text !== 'string' || typeof m.task !== 'object' || m.task === null) return this.drop(from, round, m.kind, 'malformed game message');
    const refs = Number.isSafeInteger(round) && round >= 0 ? gameTaskRefs(this.config.swarmId, round, this.config.tasks, this.config.questions) : [];
    const slot = taskKey(m.task);
    if (!refs.some((r) => taskKey(r) === slot)) return this.drop(from, round, m.kind, 'not a question of this round');
    const verdict = this.inbox.offer({ round, stage: m.kind, peerId: from, slot, chars: m.text.length, message: m }, this.machine.current);
    if (!verdict.ok) this.drop(from, round, m.kind, verdict.reason);
  }

  private receiveVote(m: VoteMessage): void {
    const now = this.machine.current;
    // votes for round r are cast as r's resolve closes: take them from then until r + 1 ends
    const open = now !== null && (m.round === now.round - 1 || (m.round === now.round && now.stage === 'resolve'));
    if (!open) return this.drop(m.peerId, m.round, 'vote', 'vote outside its window');
    if (!Array.isArray(m.votes) || m.votes.length > this.config.questions) return this.drop(m.peerId, m.round, 'vote', 'malformed vote message');
    const list = this.votes.get(m.round) ?? new Map<string, VoteMessage>();
    if (list.has(m.peerId)) return this.drop(m.peerId, m.round, 'vote', 'a second vote message from this voter');
    if (list.size >= INBOX_DEFAULTS.maxSenders) return this.drop(m.peerId, m.round, 'vote', 'too many voters');
    list.set(m.peerId, m);
    this.votes.set(m.round, list);
  }

  private state(round: number): RoundState {
    let s = this.rounds.get(round);
    if (!s) {
      const tasks = gameTaskRefs(this.config.swarmId, round, this.config.tasks, this.config.questions).map(generateTask);
      s = { tasks, questions: tasks.map((task) => ({ task, published: null, students: [], picks: [], majority: null, majorityCorrect: null })), own: new Map() };
      this.rounds.set(round, s);
    }
    return s;
  }

  private received(round: number, stage: Stage, task: Task): StageMessage[] {
    return this.inbox.get(round, stage, taskKey(task)).map((e) => e.message);
  }

  private async play(round: number, stage: Stage): Promise<StageReport> {
    const s = this.state(round);
    const { config, tokenizer } = this;
    const ctx = this.engine.config.max_position_embeddings;
    // per question: the prompt text and the scorer of one completion
    const plans: { q: number; prompt: number[]; scaffold: string; score: (text: string) => { reward: number; hit: boolean; wellFormed: boolean } }[] = [];
    s.tasks.forEach((task, q) => {
      const view = s.questions[q];
      if (stage === 'answer') {
        plans.push({ q, prompt: encodeStagePrompt(tokenizer, stage, task.prompt), scaffold: '', score: (t) => { const r = scoreCompletion(task, t); return { reward: r.reward, hit: r.correct, wellFormed: r.wellFormed }; } });
        return;
      }
      if (stage === 'critique') {
        const answers = [{ peerId: this.peerId, text: s.own.get(`answer/${q}`) ?? '' }, ...this.received(round, 'answer', task).map((m) => ({ peerId: m.peerId, text: m.text }))];
        let students = selectStudents(config.swarmId, round, task, answers, config.students);
        // fewer students rather than a prompt that leaves the model no room to answer
        let prompt = critiquePrompt(task, students);
        while (students.length > 1 && encodeStagePrompt(tokenizer, stage, prompt.prompt).length + config.maxNewTokens.critique > ctx) {
          students = students.slice(0, -1);
          prompt = critiquePrompt(task, students);
        }
        view.students = students;
        if (students.length === 0) return;
        plans.push({ q, prompt: encodeStagePrompt(tokenizer, stage, prompt.prompt), scaffold: prompt.scaffold, score: (t) => { const r = scoreCritique(t, students); return { reward: r.reward, hit: r.correct, wellFormed: r.wellFormed }; } });
        return;
      }
      const students = view.students;
      if (students.length === 0) return;
      view.picks = this.validPicks(round, q, task, students);
      view.majority = majorityPick(view.picks, students.length);
      view.majorityCorrect = view.majority === null ? null : students[view.majority - 1].correct;
      const prompt = resolvePrompt(task, students, view.picks);
      const majority = view.majority;
      plans.push({ q, prompt: encodeStagePrompt(tokenizer, stage, prompt.prompt), scaffold: prompt.scaffold, score: (t) => { const r = scoreResolve(t, task, students.length, majority); return { reward: r.reward, hit: r.correct, wellFormed: r.wellFormed }; } });
    });

    const seed = hashParts('tabswarm/game/sample', config.swarmId, round, stage, this.peerId);
    const usable = plans.filter((p) => p.prompt.length < ctx);
    const sampled = await sampleGroups(this.engine, tokenizer, usable.map((p) => p.prompt), config.completions, { ...config.sampling, maxNewTokens: config.maxNewTokens[stage] }, seed);
    let rewardSum = 0;
    let hits = 0;
    let formed = 0;
    let n = 0;
    const groups = usable.map((plan, i) => {
      const texts = sampled[i].map((c: SampledCompletion) => plan.scaffold + c.text);
      const scores = texts.map(plan.score);
      for (const sc of scores) {
        rewardSum += sc.reward;
        hits += sc.hit ? 1 : 0;
        formed += sc.wellFormed ? 1 : 0;
        n++;
      }
      // the best of G is what the peer stands by (the first on a tie: deterministic)
      let best = 0;
      scores.forEach((sc, j) => { if (sc.reward > scores[best].reward) best = j; });
      s.own.set(`${stage}/${plan.q}`, texts[best]);
      s.questions[plan.q].published = texts[best];
      return { prompt: plan.prompt, completions: sampled[i], rewards: scores.map((sc) => sc.reward) };
    });
    const step = await grpoStageStep(this.engine, groups, config.adamw, config.grpo, config.microBatch);
    await this.publishStage(round, stage, s);
    const report: StageReport = {
      peerId: this.peerId, round, stage, meanReward: n > 0 ? rewardSum / n : 0, accuracy: n > 0 ? hits / n : 0, formatRate: n > 0 ? formed / n : 0,
      questions: s.questions.map((v) => ({ ...v, students: [...v.students], picks: [...v.picks] })), step,
    };
    this.emit({ type: 'stage', report });
    return report;
  }

  /** own critique's pick first, then every received critique whose pick names the student it claims */
  private validPicks(round: number, q: number, task: Task, students: readonly Student[]): number[] {
    const picks: number[] = [];
    const own = parseCritique(this.rounds.get(round)?.own.get(`critique/${q}`), students.length).pick;
    if (own !== null) picks.push(own);
    for (const m of this.received(round, 'critique', task)) {
      const p = parseCritique(m.text, students.length);
      if (p.pick === null) this.drop(m.peerId, round, 'critique', `critique ${p.reason ?? 'names no student'}`);
      else if (students[p.pick - 1].peerId !== m.about) this.drop(m.peerId, round, 'critique', 'the named student is not the one it is about (another student list)');
      else picks.push(p.pick);
    }
    return picks;
  }

  private async publishStage(round: number, stage: Stage, s: RoundState): Promise<void> {
    const messages: StageMessage[] = [];
    for (let q = 0; q < s.tasks.length; q++) {
      const text = s.own.get(`${stage}/${q}`);
      if (text === undefined) continue;
      const view = s.questions[q];
      const message: StageMessage = { kind: stage, swarmId: this.config.swarmId, round, peerId: this.peerId, task: { family: s.tasks[q].family, seed: s.tasks[q].seed, difficulty: s.tasks[q].difficulty }, text };
      if (stage === 'critique') {
        // a critique that names nobody counts for nobody: it is not sent
        const pick = parseCritique(text, view.students.length).pick;
        if (pick === null) continue;
        message.about = view.students[pick - 1].peerId;
      }
      messages.push(message);
    }
    if (messages.length === 0) return;
    try {
      await this.transport.publishAll(messages);
    } catch {
      // the network is not the game's to fail on: the stage counts locally, others simply miss it
    }
  }

  private async castVotes(round: number): Promise<void> {
    const s = this.rounds.get(round);
    if (!s) return;
    const votes: VoteMessage['votes'] = [];
    s.tasks.forEach((task, q) => {
      const view = s.questions[q];
      if (view.students.length === 0) return;
      const own = s.own.get(`resolve/${q}`);
      const seen = [...(own === undefined ? [] : [{ peerId: this.peerId, text: own }]), ...this.received(round, 'resolve', task).map((m) => ({ peerId: m.peerId, text: m.text }))];
      const best = bestResolve(this.config.swarmId, round, task, view.students.length, view.majority, seen);
      if (best) votes.push({ task: { family: task.family, seed: task.seed, difficulty: task.difficulty }, peerId: best.peerId });
    });
    if (votes.length === 0) return;
    const message: VoteMessage = { kind: 'vote', swarmId: this.config.swarmId, round, peerId: this.peerId, votes };
    this.keepVote(message);
    try {
      await this.transport.publish(message);
    } catch {
      // as above
    }
    this.emit({ type: 'votes', peerId: this.peerId, round, votes, tally: this.tally(round) });
  }

  /** the round's standings from the votes this peer holds (its own included) */
  tally(round: number): Tally {
    return tallyVotes(this.config.swarmId, round, gameTaskRefs(this.config.swarmId, round, this.config.tasks, this.config.questions), [...(this.votes.get(round)?.values() ?? [])]);
  }
}
