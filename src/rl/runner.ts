// One peer's RL loop. A round: tasks from seed(swarmId, round, peerId) → sample G completions per
// question → score → publish → take the external rollouts that arrived for this round → one GRPO step →
// stats event. Split into sampleRound / trainRound so an in-process swarm can let every peer publish
// before anyone trains; runRound does both for a peer on its own or on the network.
// Each takes an optional AbortSignal (a tab's pause or stop), checked between decode steps, before
// publishing, between micro-batches and before the optimizer step: an aborted round rejects with an
// AbortError, publishes nothing if it had not published yet, and never reaches the optimizer step, so the
// weights and Adam's moments stay as they were (the gradients are zeroed by the next step anyway).
import type { AdamWConfig, Engine, TrainSequence } from '../engine/api.ts';
import { yieldToEventLoop } from '../engine/engine.ts';
import { decodeCompletion, encodeCompletion, encodePrompt, stopTokens, type TextTokenizer } from './format.ts';
import { GRPO_DEFAULTS, grpoLoss, trainingAdvantages, type GrpoConfig, type GrpoSequence } from './grpo.ts';
import { Curriculum } from './curriculum.ts';
import { peerMix, type PeerEmphasis } from './peers.ts';
import { zeroSignalPreference } from './selection.ts';
import { hashParts, roundSeed, Rng } from './rng.ts';
import { roundTaskRefs } from './round-tasks.ts';
import { collectExternalGroups, EXTERNAL_DEFAULTS, makeGroup, selectTrainingGroups, type ExternalDrops, type RolloutGroup } from './sapo.ts';
import type { EvalStats, RlEvent, RoundStats, SampleShown } from './stats.ts';
import { generateTask, scoreCompletion, type Task, type TaskMix } from './tasks/index.ts';
import type { RolloutBatch, TaskRef, Transport } from './transport.ts';
import { CommitmentKeeper } from './verify/keeper.ts';
import { packWeights } from '../engine/layout.ts';

export interface SamplingConfig {
  temperature: number;
  topP: number;
  topK: number;
  maxNewTokens: number;
}

export interface RunnerConfig {
  swarmId: string;
  tasks: TaskMix[];
  /** questions sampled per round (B) */
  questions: number;
  /** completions per question (G) */
  completions: number;
  /** local groups per training step (I) */
  localGroups: number;
  /** external groups per training step (J); 0 = isolated */
  externalGroups: number;
  sampling: SamplingConfig;
  adamw: AdamWConfig;
  grpo: GrpoConfig;
  /** sequences per forward/backward call */
  microBatch: number;
  /** how many sample completions a round event carries for display */
  showSamples: number;
  /**
   * On a live network, how long trainRound may wait for peers' rollouts of this round to reach J groups
   * before it trains on what has arrived (0 = never wait). Never blocks beyond this.
   */
  externalWaitMs: number;
  /** per-family difficulty curriculum (curriculum.ts) within each mix entry's level range; off by default */
  curriculum?: boolean;
  /**
   * peers differ in what they draw: each peer's mix is `tasks` with families emphasised from its id
   * (peers.ts peerMix), and a receiver checks each sender's refs against that sender's mix; absent = every
   * peer draws from `tasks`. Evaluation is not affected.
   */
  peerEmphasis?: PeerEmphasis;
  /**
   * weight of an external group on a family where this peer's own groups had no signal this round,
   * relative to 1 for the rest (selection.ts); 0 or absent = SAPO's uniform draw
   */
  preferenceBoost?: number;
  /**
   * Optimizer steps over which the learning rate ramps linearly up to adamw.lr (0 or absent = none). Adam's
   * first steps move every parameter by about lr whatever its gradient's size (m / sqrt(v) is ±1 at step 1),
   * so a fresh optimizer on a pretrained model takes its largest steps on its noisiest estimates.
   */
  lrWarmupSteps?: number;
  /**
   * local slots whose groups had no signal go to external groups (sapo.ts selectTrainingGroups
   * fillUnusedLocal): the step keeps its I + J budget of groups that carry signal; off = SAPO's fixed J
   */
  fillUnusedLocal?: boolean;
  /**
   * μ: optimizer steps on each batch. Step 1 has ratio 1 (the weights that sampled); later steps see the
   * ratio to the sampler's logprobs (local) or to the step-1 logprobs (external, re-encoded), and the
   * 0.2 / 0.28 clip bounds how far they move. Default 1: then the clip never binds.
   */
  policyEpochs?: number;
  /**
   * Committed sampling (src/rl/verify): each published batch names the exact weights, settings and derived
   * seed, with a Merkle root over its tokens and quantised logprobs, so a receiver can challenge it. On by
   * default; `false` publishes bare rollouts (in-process simulations that nobody checks).
   */
  commitSampling?: boolean;
}

export function defaultRunnerConfig(overrides: Partial<RunnerConfig> = {}): RunnerConfig {
  return {
    swarmId: 'local',
    tasks: [{ family: 'basic_arithmetic', difficulty: 1 }],
    questions: 4,
    completions: 8,
    localGroups: 4,
    externalGroups: 0,
    sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 24 },
    // lr 2e-4, not 1e-3: on the default model at 1e-3 a lone tab's greedy accuracy on reserved validation
    // prompts fell 4.1 points in 60 rounds (4 tabs), at 5e-4 and 2e-4 it held (-0.9, -0.0) while its sampled
    // training accuracy rose about 4 points (scripts/tune-solo.ts; README "Choosing the learning rate")
    adamw: { lr: 2e-4, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    grpo: GRPO_DEFAULTS,
    microBatch: 16,
    showSamples: 3,
    externalWaitMs: 0,
    ...overrides,
  };
}

// where the round's task refs come from; re-exported so callers of the runner keep one import
export { checkRoundTaskRefs, roundTaskRefs, TaskMixError } from './round-tasks.ts';

export class RunnerError extends Error {
  override name = 'RunnerError';
}

/**
 * A CPU forward/backward never waits on anything, so a worker's pause or stop message could not arrive
 * during training: with a signal, yield to the event loop first, then check it.
 */
async function abortPoint(signal: AbortSignal | undefined, where: string): Promise<void> {
  if (!signal) return;
  await yieldToEventLoop();
  throwIfAborted(signal, where);
}

/** the same error as fetch and the engine: a caller tells a pause or stop from a failure by its name */
function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new DOMException(`round aborted ${where}`, 'AbortError');
}

/** what a peer sampled in one round, kept until its training step */
export interface LocalRound {
  round: number;
  groups: RolloutGroup[];
  sampledTokens: number;
  sampleSeconds: number;
}

export { generalisationTasks, heldOutTasks } from './heldout.ts';

const now = (): number => performance.now() / 1000;

export class RoundRunner {
  private readonly listeners = new Set<(event: RlEvent) => void>();

  constructor(
    private currentEngine: Engine,
    readonly tokenizer: TextTokenizer,
    readonly transport: Transport,
    readonly config: RunnerConfig,
  ) {
    if (config.questions < 1 || config.completions < 2) throw new RunnerError('need at least 1 question and 2 completions per question');
    if (config.microBatch < 1) throw new RunnerError('microBatch must be >= 1');
    const mu = config.policyEpochs ?? 1;
    if (!Number.isInteger(mu) || mu < 1) throw new RunnerError(`policyEpochs must be an integer >= 1, got ${mu}`);
    const warmup = config.lrWarmupSteps ?? 0;
    if (!Number.isInteger(warmup) || warmup < 0) throw new RunnerError(`lrWarmupSteps must be an integer >= 0, got ${warmup}`);
    this.curriculum = config.curriculum ? new Curriculum(config.tasks) : null;
  }

  /** null unless config.curriculum; its levels shape this peer's task refs */
  readonly curriculum: Curriculum | null;

  /**
   * this peer's committed batches and the weights they name, to answer challenges (see verify/keeper.ts);
   * an owner that outlives runners (the worker's contributor) hands its own in
   */
  keeper = new CommitmentKeeper();

  get peerId(): string {
    return this.transport.peerId;
  }

  get engine(): Engine {
    return this.currentEngine;
  }

  /**
   * Between rounds only: train on from other weights (the meta-model's averaging). Returns the previous
   * engine, which the caller disposes; this runner's curriculum and listeners carry on.
   */
  replaceEngine(engine: Engine): Engine {
    const previous = this.currentEngine;
    this.currentEngine = engine;
    return previous;
  }

  /** subscribe to stats events; returns the unsubscribe function */
  on(listener: (event: RlEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: RlEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a display bug must not stop training
      }
    }
  }

  async runRound(round: number, signal?: AbortSignal): Promise<RoundStats> {
    return this.trainRound(await this.sampleRound(round, signal), signal);
  }

  /** tasks → sample → score → publish */
  async sampleRound(round: number, signal?: AbortSignal): Promise<LocalRound> {
    const { config, tokenizer } = this;
    throwIfAborted(signal, 'before sampling');
    this.emit({ type: 'phase', peerId: this.peerId, round, phase: 'sampling' });
    const refs = roundTaskRefs(config.swarmId, round, this.peerId, peerMix(config.tasks, this.peerId, config.peerEmphasis), config.questions, this.curriculum?.levels());
    const tasks = refs.map(generateTask);
    const prompts = tasks.flatMap((task) => Array.from({ length: config.completions }, () => encodePrompt(tokenizer, task)));
    // the weights as sampled with: hashed before sampling, since nothing trains while this round samples
    const weightsHash = config.commitSampling === false ? null : await this.hashWeights(round);
    const start = now();
    const settings = { ...config.sampling, maxNewTokens: this.completionBudget(prompts), stopTokens: stopTokens(tokenizer) };
    const result = await this.engine.sample(prompts, {
      ...settings,
      seed: hashParts('tabswarm/sample', roundSeed(config.swarmId, round, this.peerId)),
      ...(signal ? { signal } : {}),
    });
    throwIfAborted(signal, 'before publishing');
    const sampleSeconds = now() - start;
    const committed = weightsHash === null ? null : await this.keeper.commit({
      swarmId: config.swarmId, round, peerId: this.peerId, weightsHash, tokens: result.tokens, logprobs: result.logprobs,
      settings: { temperature: settings.temperature, topP: settings.topP, topK: settings.topK, maxNewTokens: settings.maxNewTokens, stopTokens: settings.stopTokens },
    });
    let sampledTokens = 0;
    const groups = tasks.map((task, q) => {
      const completions = Array.from({ length: config.completions }, (_, j) => {
        const row = q * config.completions + j;
        const tokens = result.tokens[row];
        sampledTokens += tokens.length;
        const text = decodeCompletion(tokenizer, tokens);
        return { ...scoreCompletion(task, text), text, tokens, oldLogprobs: result.logprobs[row] };
      });
      return makeGroup('local', this.peerId, refs[q], task, completions);
    });
    this.emit({ type: 'phase', peerId: this.peerId, round, phase: 'publishing' });
    const batch: RolloutBatch = {
      v: 1,
      swarmId: config.swarmId,
      round,
      peerId: this.peerId,
      rollouts: groups.map((g) => ({ task: g.ref, completions: g.completions.map((c) => ({ text: c.text, reward: c.reward })) })),
      ...(committed ? { sampling: committed.commitment } : {}),
    };
    try {
      await this.transport.publishRollouts(batch);
    } catch (e) {
      // never fail because of the network: the round goes on solo, and the dashboard says why
      this.emit({ type: 'warning', peerId: this.peerId, round, message: `publishing rollouts failed: ${e instanceof Error ? e.message : String(e)}` });
    }
    return { round, groups, sampledTokens, sampleSeconds };
  }

  /** take external rollouts for the round, one GRPO step on I local + J external groups */
  async trainRound(local: LocalRound, signal?: AbortSignal): Promise<RoundStats> {
    const { config } = this;
    const { round } = local;
    throwIfAborted(signal, 'before training');
    this.emit({ type: 'phase', peerId: this.peerId, round, phase: 'training' });
    let external: RolloutGroup[] = [];
    let drops: ExternalDrops | null = null;
    if (config.externalGroups > 0) {
      await this.waitForExternal(round, signal);
      throwIfAborted(signal, 'while waiting for peers');
      const received = this.transport.receivedRollouts(round);
      const limits = { ...EXTERNAL_DEFAULTS, maxCompletionChars: Math.max(64, config.sampling.maxNewTokens * 16), maxNewTokens: config.sampling.maxNewTokens, tokenizer: this.tokenizer };
      const emphasis = config.peerEmphasis;
      const mixFor = emphasis ? (peerId: string) => peerMix(config.tasks, peerId, emphasis) : undefined;
      const expectation = { swarmId: config.swarmId, round, selfPeerId: this.peerId, mix: config.tasks, mixFor, questions: config.questions, completions: config.completions };
      ({ groups: external, drops } = collectExternalGroups(received, expectation, limits));
      this.transport.prune(round);
    }
    const rng = new Rng(hashParts('tabswarm/mix', roundSeed(config.swarmId, round, this.peerId)));
    const preference = config.preferenceBoost ? zeroSignalPreference(local.groups, config.preferenceBoost) : undefined;
    const chosen = selectTrainingGroups(rng, local.groups, external, config.localGroups, config.externalGroups, preference, { fillUnusedLocal: config.fillUnusedLocal ?? false });
    // the next round's levels follow this round's success; updated after the draw so it cannot change this step
    this.curriculum?.update(local.groups);

    const start = now();
    const step = await this.grpoStep(chosen, signal);
    const trainSeconds = now() - start;

    const all = local.groups.flatMap((g) => g.completions);
    const shown: SampleShown[] = local.groups.slice(0, config.showSamples).map((g) => ({
      prompt: g.task.prompt,
      completion: g.completions[0].text,
      reward: g.completions[0].reward,
      correct: g.completions[0].correct,
    }));
    const stats: RoundStats = {
      peerId: this.peerId,
      round,
      meanReward: all.reduce((s, c) => s + c.reward, 0) / all.length,
      accuracy: all.filter((c) => c.correct).length / all.length,
      formatRate: all.filter((c) => c.wellFormed).length / all.length,
      localGroups: chosen.filter((g) => g.source === 'local').length,
      localGroupsWithSignal: local.groups.filter((g) => g.advantages.some((a) => a !== 0)).length,
      localGroupsSampled: local.groups.length,
      externalGroups: chosen.filter((g) => g.source === 'external').length,
      externalByPeer: countByPeer(chosen.filter((g) => g.source === 'external')),
      externalAvailable: external.length,
      externalDrops: drops,
      trainedSequences: step.sequences,
      trainedTokens: step.tokens,
      loss: step.loss,
      gradNorm: step.gradNorm,
      clipFraction: step.tokens > 0 ? step.clippedTokens / step.tokens : 0,
      sampledTokens: local.sampledTokens,
      sampleSeconds: local.sampleSeconds,
      trainSeconds,
      tokensPerSecond: local.sampleSeconds > 0 ? local.sampledTokens / local.sampleSeconds : 0,
      samples: shown,
    };
    this.emit({ type: 'round', stats });
    return stats;
  }

  /** the content hash of the weights held now (kept for challenges), or null when the engine cannot export them */
  private async hashWeights(round: number): Promise<string | null> {
    try {
      return await this.keeper.remember(packWeights(this.engine.config, await this.engine.exportWeights()));
    } catch (e) {
      this.emit({ type: 'warning', peerId: this.peerId, round, message: `publishing without a sampling commitment: ${e instanceof Error ? e.message : String(e)}` });
      return null;
    }
  }

  /** optimizer steps this runner has taken (the warmup's clock) */
  private optimizerSteps = 0;

  private adamwForNextStep(): AdamWConfig {
    const warmup = this.config.lrWarmupSteps ?? 0;
    if (!(warmup > 0) || this.optimizerSteps >= warmup) return this.config.adamw;
    return { ...this.config.adamw, lr: (this.config.adamw.lr * (this.optimizerSteps + 1)) / warmup };
  }

  /** maxNewTokens, shortened so the longest prompt plus its completion fits the model's context */
  private completionBudget(prompts: readonly number[][]): number {
    const longest = prompts.reduce((m, p) => Math.max(m, p.length), 0);
    const room = this.engine.config.max_position_embeddings - longest;
    if (room < 1) throw new RunnerError(`a prompt of ${longest} tokens leaves no room in a ${this.engine.config.max_position_embeddings}-token context`);
    return Math.min(this.config.sampling.maxNewTokens, room);
  }

  private async waitForExternal(round: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = performance.now() + this.config.externalWaitMs;
    const groupsIn = () => this.transport.receivedRollouts(round).reduce((s, b) => s + (Array.isArray(b.rollouts) ? b.rollouts.length : 0), 0);
    while (performance.now() < deadline && groupsIn() < this.config.externalGroups && !signal?.aborted) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(1, deadline - performance.now()))));
    }
  }

  /** one optimizer step on the chosen groups; skipped (no update) when nothing carries signal */
  private async grpoStep(groups: readonly RolloutGroup[], signal: AbortSignal | undefined): Promise<{ loss: number; gradNorm: number; sequences: number; tokens: number; clippedTokens: number }> {
    const { engine, tokenizer, config } = this;
    const maxLen = engine.config.max_position_embeddings;
    const items: { seq: TrainSequence; oldLogprobs: number[] | null; advantage: number }[] = [];
    for (const g of groups) {
      const prompt = encodePrompt(tokenizer, g.task);
      const advantages = trainingAdvantages(g.completions.map((c) => c.reward), config.grpo);
      g.completions.forEach((c, i) => {
        const completion = c.tokens ?? encodeCompletion(tokenizer, c.text);
        // zero advantage carries no gradient; over-long re-encodings would not fit the context
        if (advantages[i] === 0 || completion.length === 0 || prompt.length + completion.length > maxLen) return;
        if (!c.tokens && completion.length > config.sampling.maxNewTokens + 1) return;
        items.push({ seq: { tokens: [...prompt, ...completion], completionStart: prompt.length }, oldLogprobs: c.oldLogprobs ?? null, advantage: advantages[i] });
      });
    }
    const totalTokens = items.reduce((s, it) => s + it.seq.tokens.length - it.seq.completionStart, 0);
    if (items.length === 0 || totalTokens === 0) return { loss: 0, gradNorm: 0, sequences: 0, tokens: 0, clippedTokens: 0 };
    let loss = 0;
    let clippedTokens = 0;
    let gradNorm = 0;
    const epochs = config.policyEpochs ?? 1;
    // external text has no sampler logprobs: the weights at this step's start are its old policy
    const stepStart: (number[] | null)[] = items.map(() => null);
    for (let epoch = 0; epoch < epochs; epoch++) {
      engine.zeroGrads();
      loss = 0;
      clippedTokens = 0;
      for (let i = 0; i < items.length; i += config.microBatch) {
        await abortPoint(signal, 'mid training step');
        const mb = items.slice(i, i + config.microBatch);
        const logprobs = await engine.forwardLogprobs(mb.map((it) => it.seq));
        const seqs: GrpoSequence[] = mb.map((it, k) => {
          const current = logprobs[k];
          if (it.oldLogprobs && it.oldLogprobs.length !== current.length) {
            // a silent fallback to ratio 1 would hide a tokenizer or sampler bug behind a plausible loss
            throw new RunnerError(`sampler logprobs (${it.oldLogprobs.length}) and completion tokens (${current.length}) differ in length`);
          }
          stepStart[i + k] ??= current.slice();
          return { logprobs: current, oldLogprobs: it.oldLogprobs ?? stepStart[i + k]!, advantage: it.advantage };
        });
        const result = grpoLoss(seqs, totalTokens, config.grpo);
        loss += result.loss;
        clippedTokens += result.clippedTokens;
        await engine.backwardLogprobs(result.dLogprobs);
      }
      // the last check: past it the step is taken whole (the optimizer step itself is one dispatch)
      await abortPoint(signal, 'before the optimizer step');
      ({ gradNorm } = await engine.optimizerStep(this.adamwForNextStep()));
      this.optimizerSteps++;
    }
    return { loss, gradNorm, sequences: items.length, tokens: totalTokens, clippedTokens };
  }

  /** greedy pass@1 on the given tasks */
  async evaluate(tasks: readonly Task[], round = -1): Promise<EvalStats> {
    const { engine, tokenizer, config } = this;
    const perFamily: Record<string, { correct: number; total: number }> = {};
    let correct = 0;
    let formatted = 0;
    for (let i = 0; i < tasks.length; i += config.microBatch * 4) {
      const chunk = tasks.slice(i, i + config.microBatch * 4);
      const prompts = chunk.map((t) => encodePrompt(tokenizer, t));
      const result = await engine.sample(prompts, {
        maxNewTokens: this.completionBudget(prompts),
        temperature: 0,
        seed: 0,
        stopTokens: stopTokens(tokenizer),
      });
      chunk.forEach((task, k) => {
        const score = scoreCompletion(task, decodeCompletion(tokenizer, result.tokens[k]));
        const entry = (perFamily[`${task.family}/${task.difficulty}`] ??= { correct: 0, total: 0 });
        entry.total++;
        if (score.correct) entry.correct++, correct++;
        if (score.wellFormed) formatted++;
      });
    }
    const stats: EvalStats = { peerId: this.peerId, round, tasks: tasks.length, passAt1: tasks.length ? correct / tasks.length : 0, formatRate: tasks.length ? formatted / tasks.length : 0, perFamily };
    this.emit({ type: 'eval', stats });
    return stats;
  }
}

function countByPeer(groups: RolloutGroup[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const g of groups) counts[g.peerId] = (counts[g.peerId] ?? 0) + 1;
  return counts;
}
