// Several RL peers in one process on the in-memory bus (or one peer alone). Each round every peer samples
// and publishes first, then every peer trains, so everyone sees this round's rollouts of everyone else,
// as on a live swarm with a round clock.
import { InMemoryBus, SoloTransport } from '../../src/rl/bus.ts';
import { heldOutTasks, RoundRunner, type RunnerConfig } from '../../src/rl/runner.ts';
import type { EvalStats, RoundStats } from '../../src/rl/stats.ts';
import type { TaskMix } from '../../src/rl/tasks/index.ts';
import { makeEngine, type Backend, type LoadedFolder } from './load.ts';

export interface SimulationOptions {
  peers: number;
  rounds: number;
  runner: RunnerConfig;
  backend: Backend;
  /** held-out evaluation every this many rounds (and before the first, after the last); 0 = never */
  evalEvery: number;
  evalMix: TaskMix[];
  evalPerEntry: number;
  log?: (line: string) => void;
}

export interface RoundSummary {
  round: number;
  /** mean over peers of each peer's mean local reward this round */
  meanReward: number;
  accuracy: number;
  /** running sum of meanReward */
  cumulativeReward: number;
  externalGroups: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface EvalSummary {
  /** evaluated after this many rounds */
  afterRounds: number;
  passAt1: number;
  perPeer: number[];
}

export interface SimulationResult {
  rounds: RoundSummary[];
  evals: EvalSummary[];
  perPeerRounds: RoundStats[][];
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

export async function simulate(folder: LoadedFolder, options: SimulationOptions): Promise<SimulationResult> {
  const log = options.log ?? (() => {});
  const bus = new InMemoryBus();
  const runners: RoundRunner[] = [];
  for (let p = 0; p < options.peers; p++) {
    const peerId = `peer-${p}`;
    const transport = options.peers > 1 ? bus.connect(peerId) : new SoloTransport(peerId);
    runners.push(new RoundRunner(await makeEngine(folder, options.backend), folder.tokenizer, transport, options.runner));
  }
  const held = heldOutTasks(options.evalMix, options.evalPerEntry);
  const result: SimulationResult = { rounds: [], evals: [], perPeerRounds: runners.map(() => []) };
  const evaluate = async (afterRounds: number) => {
    const stats: EvalStats[] = [];
    for (const r of runners) stats.push(await r.evaluate(held, afterRounds));
    const summary = { afterRounds, passAt1: mean(stats.map((s) => s.passAt1)), perPeer: stats.map((s) => s.passAt1) };
    result.evals.push(summary);
    log(`  held-out greedy pass@1 after ${afterRounds} rounds: ${(100 * summary.passAt1).toFixed(1)}%`);
  };
  if (options.evalEvery > 0) await evaluate(0);
  let cumulative = 0;
  for (let round = 0; round < options.rounds; round++) {
    const start = performance.now();
    const locals = [];
    for (const r of runners) locals.push(await r.sampleRound(round));
    const stats: RoundStats[] = [];
    for (let p = 0; p < runners.length; p++) stats.push(await runners[p].trainRound(locals[p]));
    stats.forEach((s, p) => result.perPeerRounds[p].push(s));
    const meanReward = mean(stats.map((s) => s.meanReward));
    cumulative += meanReward;
    const summary: RoundSummary = {
      round,
      meanReward,
      accuracy: mean(stats.map((s) => s.accuracy)),
      cumulativeReward: cumulative,
      externalGroups: mean(stats.map((s) => s.externalGroups)),
      seconds: (performance.now() - start) / 1000,
      tokensPerSecond: mean(stats.map((s) => s.tokensPerSecond)),
    };
    result.rounds.push(summary);
    log(`round ${round}: reward ${meanReward.toFixed(3)} accuracy ${(100 * summary.accuracy).toFixed(1)}% external ${summary.externalGroups.toFixed(1)} ${summary.seconds.toFixed(1)} s`);
    if (options.evalEvery > 0 && ((round + 1) % options.evalEvery === 0 || round === options.rounds - 1)) await evaluate(round + 1);
  }
  for (const r of runners) r.engine.dispose();
  return result;
}
