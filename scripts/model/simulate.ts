// Several RL peers in one process on the in-memory bus (or one peer alone). Each round every peer samples
// and publishes first, then every peer trains, so everyone sees this round's rollouts of everyone else,
// as on a live swarm with a round clock.
import type { ModelEngine } from '../../src/engine/engine.ts';
import { createCpuEngine } from '../../src/engine/index.ts';
import { InMemoryBus, SoloTransport } from '../../src/rl/bus.ts';
import { generalisationTasks, heldOutTasks, validationTasks } from '../../src/rl/heldout.ts';
import { averageParameters } from '../../src/rl/meta.ts';
import { hashParts, Rng } from '../../src/rl/rng.ts';
import { RoundRunner, type RunnerConfig } from '../../src/rl/runner.ts';
import type { EvalStats, RoundStats } from '../../src/rl/stats.ts';
import type { Task, TaskMix } from '../../src/rl/tasks/index.ts';
import { makeEngine, type Backend, type LoadedFolder } from './load.ts';

export interface SimulationOptions {
  peers: number;
  rounds: number;
  runner: RunnerConfig;
  /** a peer's own config (temperature, task emphasis); default: everyone runs `runner` */
  peerConfig?: (peerId: string, index: number) => RunnerConfig;
  backend: Backend;
  /** held-out evaluation every this many rounds (and before the first, after the last); 0 = never */
  evalEvery: number;
  /** the full mix: held-out (reserved content) and generalisation (one level up) sets come from it */
  evalMix: TaskMix[];
  evalPerEntry: number;
  /**
   * 'validation' evaluates on reserved prompts disjoint from the held-out set (heldout.ts validationTasks):
   * for choosing settings without looking at the figures that are reported
   */
  evalSet?: 'heldout' | 'validation';
  /** also evaluate on the generalisation set (default true) */
  generalisation?: boolean;
  /**
   * meta-model averaging: every this many rounds each peer is paired with one random peer and both
   * continue from the mean of their weights (NoLoCo-style gossip averaging); 0 = never
   */
  averageEvery?: number;
  /**
   * whom a peer averages with: 'peer' (default) one random peer, as above; 'self' its own weights at
   * the last average (initially its starting weights), a Lookahead-style control (slow weights, α = 0.5, k = averageEvery)
   * that tells what averaging does without sharing anything
   */
  averageWith?: 'peer' | 'self';
  /** seeds the averaging pairs */
  seed?: string;
  log?: (line: string) => void;
}

export interface RoundSummary {
  round: number;
  /** mean over peers of each peer's mean local reward this round */
  meanReward: number;
  /** mean over peers of the verifier-correct share of its local completions: the headline metric */
  accuracy: number;
  /** running sum of meanReward */
  cumulativeReward: number;
  /** running sum of accuracy */
  cumulativeAccuracy: number;
  /** share of local groups with advantage (not all right, not all wrong) */
  signalShare: number;
  externalGroups: number;
  /** mean over peers of the external groups that survived re-scoring (with signal), before J were drawn */
  externalAvailable?: number;
  /** mean over peers of the external groups refused as not the sender's tasks (0 from honest peers) */
  offSeedGroups?: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface EvalSummary {
  /** evaluated after this many rounds */
  afterRounds: number;
  /** held-out (content-disjoint) greedy pass@1, mean over peers */
  passAt1: number;
  perPeer: number[];
  /** held-out answers per `family/level`, summed over peers (absent in runs recorded before it was kept) */
  perFamily?: Record<string, { correct: number; total: number }>;
  /** generalisation set (one level above the mix), mean over peers; null when not evaluated */
  generalisation: number | null;
}

export interface SimulationResult {
  rounds: RoundSummary[];
  evals: EvalSummary[];
  perPeerRounds: RoundStats[][];
}

/** the validation set leaves out every held-out prompt up to this many per entry (the reports use ≤ 16) */
export const VALIDATION_EXCLUDES_PER_ENTRY = 16;

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

type FamilyCounts = Record<string, { correct: number; total: number }>;

function sumPerFamily(stats: readonly EvalStats[]): FamilyCounts {
  const sum: FamilyCounts = {};
  for (const s of stats) {
    for (const [key, { correct, total }] of Object.entries(s.perFamily)) {
      const entry = (sum[key] ??= { correct: 0, total: 0 });
      entry.correct += correct;
      entry.total += total;
    }
  }
  return sum;
}

export async function simulate(folder: LoadedFolder, options: SimulationOptions): Promise<SimulationResult> {
  const log = options.log ?? (() => {});
  const averageEvery = options.averageEvery ?? 0;
  if (averageEvery > 0 && options.backend !== 'cpu') throw new Error('the averaging arm runs on the CPU engine only');
  const bus = new InMemoryBus();
  const runners: RoundRunner[] = [];
  for (let p = 0; p < options.peers; p++) {
    const peerId = `peer-${p}`;
    const transport = options.peers > 1 ? bus.connect(peerId) : new SoloTransport(peerId);
    const config = options.peerConfig?.(peerId, p) ?? options.runner;
    runners.push(new RoundRunner(await makeEngine(folder, options.backend), folder.tokenizer, transport, config));
  }
  const held = options.evalSet === 'validation' ? validationTasks(options.evalMix, options.evalPerEntry, VALIDATION_EXCLUDES_PER_ENTRY) : heldOutTasks(options.evalMix, options.evalPerEntry);
  const general: Task[] = options.generalisation === false ? [] : generalisationTasks(options.evalMix, options.evalPerEntry);
  const result: SimulationResult = { rounds: [], evals: [], perPeerRounds: runners.map(() => []) };
  const evaluate = async (afterRounds: number) => {
    const stats: EvalStats[] = [];
    const gen: EvalStats[] = [];
    for (const r of runners) {
      stats.push(await r.evaluate(held, afterRounds));
      if (general.length > 0) gen.push(await r.evaluate(general, afterRounds));
    }
    const summary: EvalSummary = {
      afterRounds, passAt1: mean(stats.map((s) => s.passAt1)), perPeer: stats.map((s) => s.passAt1), perFamily: sumPerFamily(stats),
      generalisation: gen.length > 0 ? mean(gen.map((s) => s.passAt1)) : null,
    };
    result.evals.push(summary);
    log(`  after ${afterRounds} rounds: held-out pass@1 ${(100 * summary.passAt1).toFixed(1)}%` + (summary.generalisation === null ? '' : `, generalisation ${(100 * summary.generalisation).toFixed(1)}%`));
  };
  if (options.evalEvery > 0) await evaluate(0);
  let cumulative = 0;
  let cumulativeAccuracy = 0;
  const pairRng = new Rng(hashParts('tabswarm/average-pairs', options.seed ?? options.runner.swarmId));
  const lookahead = options.averageWith === 'self';
  const anchors = lookahead && averageEvery > 0 ? await Promise.all(runners.map((r) => (r.engine as ModelEngine).readParams())) : [];
  for (let round = 0; round < options.rounds; round++) {
    const start = performance.now();
    const locals = [];
    for (const r of runners) locals.push(await r.sampleRound(round));
    const stats: RoundStats[] = [];
    for (let p = 0; p < runners.length; p++) stats.push(await runners[p].trainRound(locals[p]));
    stats.forEach((s, p) => result.perPeerRounds[p].push(s));
    if (averageEvery > 0 && (round + 1) % averageEvery === 0) {
      if (lookahead) await averageWithAnchors(runners, folder, anchors);
      else if (runners.length > 1) await averagePairs(runners, folder, pairRng);
    }
    const meanReward = mean(stats.map((s) => s.meanReward));
    const accuracy = mean(stats.map((s) => s.accuracy));
    cumulative += meanReward;
    cumulativeAccuracy += accuracy;
    const summary: RoundSummary = {
      round,
      meanReward,
      accuracy,
      cumulativeReward: cumulative,
      cumulativeAccuracy,
      signalShare: mean(stats.map((s) => (s.localGroupsSampled ? (s.localGroupsWithSignal ?? 0) / s.localGroupsSampled : 0))),
      externalGroups: mean(stats.map((s) => s.externalGroups)),
      externalAvailable: mean(stats.map((s) => s.externalAvailable)),
      offSeedGroups: mean(stats.map((s) => s.externalDrops?.offSeedGroups ?? 0)),
      seconds: (performance.now() - start) / 1000,
      tokensPerSecond: mean(stats.map((s) => s.tokensPerSecond)),
    };
    result.rounds.push(summary);
    log(`round ${round}: accuracy ${(100 * accuracy).toFixed(1)}% reward ${meanReward.toFixed(3)} signal ${(100 * summary.signalShare).toFixed(0)}% external ${summary.externalGroups.toFixed(1)} ${summary.seconds.toFixed(1)} s`);
    if (options.evalEvery > 0 && ((round + 1) % options.evalEvery === 0 || round === options.rounds - 1)) await evaluate(round + 1);
  }
  for (const r of runners) r.engine.dispose();
  return result;
}

/** random disjoint pairs (one peer sits out when the count is odd); both continue from the pair's mean */
export async function averagePairs(runners: RoundRunner[], folder: LoadedFolder, rng: Rng): Promise<void> {
  const order = rng.shuffle(runners.map((_, i) => i));
  for (let k = 0; k + 1 < order.length; k += 2) {
    const pair = [runners[order[k]], runners[order[k + 1]]];
    const params = await Promise.all(pair.map((r) => (r.engine as ModelEngine).readParams()));
    const mean = averageParameters(params);
    // each keeps its own Adam moments: only the weights are shared
    for (const r of pair) await continueFrom(r, folder, mean);
  }
}

/** the self-averaging control: each peer continues from the mean of its weights and its anchor, which becomes the new anchor */
export async function averageWithAnchors(runners: RoundRunner[], folder: LoadedFolder, anchors: Float32Array[]): Promise<void> {
  if (anchors.length !== runners.length) throw new Error(`${anchors.length} anchors for ${runners.length} peers`);
  for (let p = 0; p < runners.length; p++) {
    anchors[p] = averageParameters([await (runners[p].engine as ModelEngine).readParams(), anchors[p]]);
    await continueFrom(runners[p], folder, anchors[p]);
  }
}

/** swaps the runner's engine for one on `params`, keeping its optimizer state (moments, step count) */
export async function continueFrom(r: RoundRunner, folder: LoadedFolder, params: Float32Array): Promise<void> {
  const state = await r.engine.exportOptimizerState();
  const next = createCpuEngine(folder.config, params);
  await next.importOptimizerState(state);
  r.replaceEngine(next).dispose();
}
