// What a tab's session is made of, apart from the Session class itself (session.svelte.ts): the snapshot
// components read, the reward reporter the identity panel provides, the options, and the small browser helpers
// the session uses when it starts (the swarm config, the memory budget, whether this tab was contributing).
import type { PrivateKey } from '@libp2p/interface';
import type { RolloutBatch } from '../../rl/transport.ts';
import { decodeSwarmConfigParam, parseSwarmConfig, type SwarmConfig } from '../../swarm/config.ts';
import type { PeerLink } from '../../swarm/swarm.ts';
import type { EvalPoint, GpuProbe, Phase, Progress, RoundStats, TabswarmWorkerApi } from '../../worker/protocol.ts';
import type { RoundShape } from '../../worker/rescore.ts';
import type { GameView } from './game-view.ts';
import type { GameWatchView } from './game-watch.ts';
import type { PaceStatus } from './game-pace.ts';
import type { PeerTotals, TallySnapshot } from './tally.ts';
import type { VerificationSnapshot } from './verification.ts';

/** What the session needs of the identity panel's state: reward reports for the coordinator. */
export interface RewardReporter {
  /** `swarmRound`: the round the reward was earned in (a verified coordinator maps it onto its own rounds) */
  reportReward(reward: number, swarmRound?: number): Promise<boolean>;
  /** the swarm game's round winners, voted on chain (submitWinners) */
  submitWinners?(winners: readonly string[]): Promise<boolean>;
  /** k-of-n attestations of what this tab re-scored of its peers' batches for a round (src/app/identity/attester.ts) */
  attestRound?(round: number, batches: readonly RolloutBatch[], shape: RoundShape): Promise<number>;
}

export type JoinStep = 'landing' | 'loading' | 'contributing' | 'failed';

export interface OwnRound {
  round: number;
  reward: number;
  accuracy: number;
  swarmReward: number | null;
  swarmAccuracy: number | null;
}

export interface SessionSnapshot {
  phase: 'starting' | 'ready' | 'error';
  gpu: GpuProbe | null;
  peerId: string | null;
  relayConnected: boolean;
  swarm: SwarmConfig | null;
  /** the libp2p key the node runs with (persisted per tab slot, so a reload keeps the peer id and its binding) */
  peerKey: PrivateKey | null;
  error: string | null;
  join: JoinStep;
  joinError: string | null;
  progress: Progress | null;
  worker: Phase;
  workerDetail: string | null;
  backend: 'webgpu' | 'cpu' | null;
  modelUrl: string | null;
  parameterCount: number | null;
  resumedRound: number | null;
  savedRound: number | null;
  /** fingerprint of the weights last loaded or saved */
  weightsDigest: string | null;
  lastStats: RoundStats | null;
  /** the round in flight and where it is */
  stage: { round: number; stage: string } | null;
  own: OwnRound[];
  /** this tab's held-out evaluations, the first one (its start line) included */
  evals: EvalPoint[];
  /** optimizer steps this tab took since the page opened */
  optimizerSteps: number;
  tally: TallySnapshot;
  top: PeerTotals[];
  links: PeerLink[];
  topicPeers: string[];
  warnings: string[];
  /** the last periodic average (swarm config averageEveryRounds) */
  averaged: { round: number | null; models: number } | null;
  /** what the last "Download the swarm model" did, in words */
  swarmModelStatus: string | null;
  /** peers' messages this tab's validator accepted and refused, with the latest refusals' reasons (read once a second) */
  trust: { accepted: number; refused: number; recent: { from: string; reason: string }[]; scores: Record<string, number> };
  /** the swarm model's memory needs against this tab's budget, known once its config.json is read */
  capability: { neededBytes: number; budgetBytes: number; fits: boolean } | null;
  /** "Choose another model": what its config.json says it needs, or why it cannot be had (offline) */
  modelChoice: { modelId: string; text: string; fits: boolean } | null;
  /** the base model's fingerprint and the adapter (null: full fine-tuning) of what is loaded */
  base: { fingerprint: string; lora: { rank: number; targets: string[] } | null; completionBudget: number } | null;
  /** a game swarm's play (mode "game"), null otherwise */
  game: GameView | null;
  /** a game swarm as the watch-only screen hears it */
  gameWatch: GameWatchView | null;
  /** what paces the game's stages (the coordinator's counter or the swarm clock, and why); null off a game */
  gamePace: PaceStatus | null;
  /** spot checks of peers' batches and their outcomes (src/app/lib/verification.ts) */
  verification: VerificationSnapshot;
  /** the sum of what peers report they verified (heartbeats): the conference screen's count */
  reportedVerified: { verifiedRollouts: number; failed: number };
}


/**
 * The swarm to join: a `?swarm=` value (base64url JSON), or a URL of a swarm.json. Without either, the page's
 * own `?swarm=` parameter, else the swarm.json served beside the app.
 */
export async function loadSwarmConfig(spec: string | null, appBase: string): Promise<SwarmConfig> {
  const value = spec ?? new URLSearchParams(location.search).get('swarm');
  if (value && !/^(https?:|\.{0,2}\/)/.test(value)) return decodeSwarmConfigParam(value);
  const url = new URL(value ?? './swarm.json', appBase);
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`no swarm config: ${url} answered ${res.status} (start the app with npm start)`);
  return parseSwarmConfig(await res.json());
}

/** Bytes the tab may spend on the model: a quarter of what the browser reports (Chromium caps it at 8 GiB). */
export function memoryBudget(): number {
  const gib = (navigator as Navigator & { deviceMemory?: number }).deviceMemory ?? 4;
  return Math.floor((gib * 2 ** 30) / 4);
}

const contributingKey = (swarmId: string) => `tabswarm.contributing.${swarmId}`;

export function rememberContributing(swarmId: string, on: boolean): void {
  try {
    if (on) sessionStorage.setItem(contributingKey(swarmId), '1');
    else sessionStorage.removeItem(contributingKey(swarmId));
  } catch {
    // storage blocked: a reload then lands on the Contribute button again
  }
}

export function wasContributing(swarmId: string): boolean {
  try {
    return sessionStorage.getItem(contributingKey(swarmId)) === '1';
  } catch {
    return false;
  }
}

export interface SessionOptions {
  /** the page only watches the swarm (conference screen): no worker, no model */
  watchOnly?: boolean;
  /** replaces the real worker (tests) */
  worker?: TabswarmWorkerApi;
  /** a `?swarm=` value or swarm.json URL (the widget's `swarm` attribute) */
  swarmSpec?: string | null;
  /** where the app's files (models, swarm.json) are: the page for the app, the script's origin for the widget */
  appBase?: string;
}

/**
 * The reasons a swarm-model download left peers out, each naming its peer: the worker numbers the models it
 * was given ("peer 2: …"), which are the fetched ones (`fetched`, in order); a failed fetch names its peer too.
 */
export function namedRefusals(fetched: readonly string[], refused: readonly string[], unfetched: readonly { peer: string; reason: string }[]): string[] {
  const short = (peer: string) => (peer.length > 12 ? `${peer.slice(0, 4)}…${peer.slice(-6)}` : peer);
  const renamed = refused.map((r) => r.replace(/^peer (\d+):/, (whole, k: string) => {
    const peer = fetched[Number(k) - 1];
    return peer === undefined ? whole : `peer ${short(peer)}:`;
  }));
  return [...unfetched.map((u) => `peer ${short(u.peer)}: ${u.reason}`), ...renamed];
}
