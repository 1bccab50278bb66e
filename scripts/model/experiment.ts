// The SAPO experiment's arms, one (arm, seed) job, and the paired summary. A seed is a swarm id: it fixes
// every peer's tasks and sampling, so two arms run on the same seed see the same questions (an I=4 arm's
// tasks are the first 4 of an I=8 arm's) and their difference is paired by seed.
import { DEFAULT_TASK_MIX } from '../../src/rl/defaults.ts';
import { pairedDifference, type PairedDifference } from '../../src/rl/paired.ts';
import { peerTemperature, type PeerEmphasis } from '../../src/rl/peers.ts';
import { defaultRunnerConfig, type RunnerConfig } from '../../src/rl/runner.ts';
import type { LoadedFolder } from './load.ts';
import { simulate, type EvalSummary, type RoundSummary, type SimulationOptions } from './simulate.ts';

export interface ArmSpec {
  name: string;
  /** what the arm changes, for the report */
  label: string;
  /** local groups per step (I) = questions sampled (B) */
  local: number;
  external: number;
  preferenceBoost?: number;
  curriculum?: boolean;
  /** peers differ: temperature 1 ± 0.3 and 2 families weighted 3× (from the peer id) */
  heterogeneous?: boolean;
  /** peers specialise: SPECIALIST_EMPHASIS on the mix (temperature unchanged); evaluation on the full mix */
  specialist?: boolean;
  averageEvery?: number;
  /** with averageEvery: 'self' averages with the peer's own earlier weights (simulate.ts averageWith) */
  averageWith?: SimulationOptions['averageWith'];
  policyEpochs?: number;
  /** local slots without signal go to external groups (the step keeps I + J groups with signal) */
  fillUnusedLocal?: boolean;
}

export const ARMS: readonly ArmSpec[] = [
  { name: 'swarm', label: 'swarm I=4 J=4 (SAPO, uniform)', local: 4, external: 4 },
  { name: 'isolated-train', label: 'isolated I=8 J=0 (equal training)', local: 8, external: 0 },
  { name: 'isolated-sample', label: 'isolated I=4 J=0 (equal sampling)', local: 4, external: 0 },
  { name: 'swarm-fill', label: 'swarm I=4 J=4, local slots without signal filled from peers (≤ 8 groups)', local: 4, external: 4, fillUnusedLocal: true },
  { name: 'swarm-prefer', label: 'swarm I=4 J=4, prefer zero-signal families ×4', local: 4, external: 4, preferenceBoost: 4 },
  { name: 'swarm-curriculum', label: 'swarm I=4 J=4 + per-family curriculum', local: 4, external: 4, curriculum: true },
  { name: 'isolated-curriculum', label: 'isolated I=8 J=0 + per-family curriculum', local: 8, external: 0, curriculum: true },
  { name: 'swarm-hetero', label: 'swarm I=4 J=4, peers differ (temperature, emphasis)', local: 4, external: 4, heterogeneous: true },
  { name: 'isolated-hetero', label: 'isolated I=8 J=0, peers differ', local: 8, external: 0, heterogeneous: true },
  { name: 'swarm-specialist', label: 'swarm I=4 J=4, peers specialise (3 families ×10 from the peer id)', local: 4, external: 4, specialist: true },
  { name: 'isolated-specialist', label: 'isolated I=8 J=0, peers specialise (3 families ×10)', local: 8, external: 0, specialist: true },
  { name: 'swarm-average', label: 'swarm I=4 J=4 + average with a random peer every 10 rounds', local: 4, external: 4, averageEvery: 10 },
  { name: 'isolated-average', label: 'isolated I=8 J=0 + average with a random peer every 10 rounds (weights shared, rollouts not)', local: 8, external: 0, averageEvery: 10 },
  { name: 'isolated-lookahead', label: 'isolated I=8 J=0 + average with its own weights of 10 rounds before (nothing shared)', local: 8, external: 0, averageEvery: 10, averageWith: 'self' },
  { name: 'swarm-mu2', label: 'swarm I=4 J=4, μ=2 optimizer steps per batch (clip active)', local: 4, external: 4, policyEpochs: 2 },
];

/**
 * the default full run (the other arms: --arms all): 25 jobs of 200 rounds × 4 peers, 9 evaluations each.
 * Measured on this 2-core machine alone with the WebAssembly matmuls: 27 minutes on the rebuilt default model
 * (README, "The SAPO experiment, as measured"); on a 16-core machine (--threads 16), two waves of jobs. The
 * averaging controls (isolated-average, isolated-lookahead) run with --arms.
 */
export const FULL_ARMS = ['swarm', 'isolated-train', 'isolated-sample', 'swarm-fill', 'swarm-average'] as const;

/** which arm each arm is compared with (paired by seed), besides isolated-train and isolated-sample */
export const COMPARISONS: readonly [string, string][] = [
  ['swarm', 'isolated-train'],
  ['swarm', 'isolated-sample'],
  ['swarm-fill', 'isolated-train'],
  ['swarm-fill', 'swarm'],
  ['swarm-prefer', 'swarm'],
  ['swarm-prefer', 'isolated-train'],
  ['swarm-curriculum', 'isolated-curriculum'],
  ['swarm-hetero', 'isolated-hetero'],
  ['swarm-specialist', 'isolated-specialist'],
  ['swarm-hetero', 'swarm'],
  ['swarm-curriculum', 'swarm'],
  ['swarm-specialist', 'swarm'],
  ['isolated-hetero', 'isolated-train'],
  ['isolated-curriculum', 'isolated-train'],
  ['isolated-specialist', 'isolated-train'],
  ['swarm-average', 'swarm'],
  ['swarm-average', 'isolated-train'],
  ['swarm-average', 'isolated-lookahead'],
  ['swarm-average', 'isolated-average'],
  ['isolated-average', 'isolated-train'],
  ['isolated-lookahead', 'isolated-train'],
  ['isolated-average', 'isolated-lookahead'],
  ['swarm-mu2', 'swarm'],
];

export interface JobSpec {
  arm: ArmSpec;
  seed: string;
  peers: number;
  rounds: number;
  completions: number;
  lr: number;
  evalEvery: number;
  evalPerEntry: number;
}

export interface JobResult {
  arm: string;
  seed: string;
  rounds: RoundSummary[];
  evals: EvalSummary[];
  seconds: number;
}

/** the heterogeneous arms' emphasis: two families from the peer id weighted 3× */
export const HETERO_EMPHASIS: PeerEmphasis = { factor: 3, count: 2 };
/**
 * the specialist arms' emphasis, a stronger variant of the heterogeneous one: three families from the peer
 * id weighted 10×, so on the default mix (total weight 11) about 80% of a peer's draws fall on its three
 * families and peers' rollouts are mostly of questions the receiver would rarely draw itself
 */
export const SPECIALIST_EMPHASIS: PeerEmphasis = { factor: 10, count: 3 };

export function armConfig(spec: JobSpec, peerId?: string): RunnerConfig {
  const { arm } = spec;
  const base = defaultRunnerConfig({
    swarmId: spec.seed, tasks: DEFAULT_TASK_MIX, questions: arm.local, completions: spec.completions,
    localGroups: arm.local, externalGroups: arm.external, preferenceBoost: arm.preferenceBoost ?? 0,
    curriculum: arm.curriculum ?? false, policyEpochs: arm.policyEpochs ?? 1, fillUnusedLocal: arm.fillUnusedLocal ?? false,
  });
  base.adamw = { ...base.adamw, lr: spec.lr };
  if (arm.specialist) return { ...base, peerEmphasis: SPECIALIST_EMPHASIS };
  if (!arm.heterogeneous || peerId === undefined) return base;
  // the emphasis is a swarm rule (each receiver re-derives a sender's mix from its id); the temperature is
  // the peer's own, nobody checks it
  return { ...base, peerEmphasis: HETERO_EMPHASIS, sampling: { ...base.sampling, temperature: peerTemperature(peerId, 1, 0.3) } };
}

export async function runJob(folder: LoadedFolder, spec: JobSpec, log?: (line: string) => void): Promise<JobResult> {
  const started = performance.now();
  const result = await simulate(folder, {
    peers: spec.peers, rounds: spec.rounds, runner: armConfig(spec), backend: 'cpu',
    peerConfig: spec.arm.heterogeneous ? (peerId) => armConfig(spec, peerId) : undefined,
    evalEvery: spec.evalEvery, evalMix: DEFAULT_TASK_MIX, evalPerEntry: spec.evalPerEntry,
    averageEvery: spec.arm.averageEvery ?? 0, averageWith: spec.arm.averageWith, seed: spec.seed, log,
  });
  return { arm: spec.arm.name, seed: spec.seed, rounds: result.rounds, evals: result.evals, seconds: (performance.now() - started) / 1000 };
}

/** the per-seed figures the comparisons are made on */
export interface SeedFigures {
  /** sum over rounds of the round's mean verifier-correct share (the headline, SAPO's cumulative measure on accuracy) */
  cumulativeAccuracy: number;
  cumulativeReward: number;
  heldOutStart: number;
  heldOutFinal: number;
  /** mean held-out accuracy over the evaluations after round 0 (less noisy than the last one alone) */
  heldOutMean: number;
  generalisationFinal: number;
  signalShare: number;
}

export function seedFigures(job: JobResult): SeedFigures {
  const last = job.rounds[job.rounds.length - 1];
  const later = job.evals.filter((e) => e.afterRounds > 0);
  const final = job.evals[job.evals.length - 1];
  return {
    cumulativeAccuracy: last.cumulativeAccuracy,
    cumulativeReward: last.cumulativeReward,
    heldOutStart: job.evals[0]?.passAt1 ?? NaN,
    heldOutFinal: final?.passAt1 ?? NaN,
    heldOutMean: later.length ? later.reduce((s, e) => s + e.passAt1, 0) / later.length : NaN,
    generalisationFinal: final?.generalisation ?? NaN,
    signalShare: job.rounds.reduce((s, r) => s + r.signalShare, 0) / job.rounds.length,
  };
}

export type Metric = keyof SeedFigures;
export const COMPARED: readonly Metric[] = ['cumulativeAccuracy', 'heldOutFinal', 'heldOutMean', 'generalisationFinal'];

export interface Comparison {
  a: string;
  b: string;
  seeds: number;
  metrics: Partial<Record<Metric, PairedDifference>>;
}

/** paired differences a − b on the seeds both arms ran (needs ≥ 2 seeds for an interval) */
export function compare(jobs: readonly JobResult[], a: string, b: string): Comparison | null {
  const byArm = (arm: string) => new Map(jobs.filter((j) => j.arm === arm).map((j) => [j.seed, seedFigures(j)]));
  const A = byArm(a);
  const B = byArm(b);
  const seeds = [...A.keys()].filter((s) => B.has(s)).sort();
  if (seeds.length < 2) return null;
  const metrics: Partial<Record<Metric, PairedDifference>> = {};
  for (const m of COMPARED) metrics[m] = pairedDifference(seeds.map((s) => A.get(s)![m]), seeds.map((s) => B.get(s)![m]));
  return { a, b, seeds: seeds.length, metrics };
}
