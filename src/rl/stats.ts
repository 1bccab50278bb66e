// The typed event stream the runner emits; the app's dashboard (issue 7) renders these as they come.
import type { ExternalDrops } from './sapo.ts';

export interface SampleShown {
  prompt: string;
  completion: string;
  reward: number;
  correct: boolean;
}

export interface RoundStats {
  peerId: string;
  round: number;
  /** over all local completions sampled this round */
  meanReward: number;
  accuracy: number;
  formatRate: number;
  /** groups in the training step, by source */
  localGroups: number;
  externalGroups: number;
  /** external groups in the step by sending peer (at most J entries): what shows that nobody took more than its share */
  externalByPeer?: Record<string, number>;
  /** local groups sampled this round, and how many of them had advantage (not all right or all wrong) */
  localGroupsSampled?: number;
  localGroupsWithSignal?: number;
  /** external groups that survived re-scoring, before sampling J of them */
  externalAvailable: number;
  /** null when the peer takes no external rollouts (J = 0) */
  externalDrops: ExternalDrops | null;
  trainedSequences: number;
  trainedTokens: number;
  loss: number;
  gradNorm: number;
  clipFraction: number;
  sampledTokens: number;
  sampleSeconds: number;
  trainSeconds: number;
  /** sampling throughput */
  tokensPerSecond: number;
  samples: SampleShown[];
}

export interface EvalStats {
  peerId: string;
  /** the round after which it ran; -1 before training */
  round: number;
  tasks: number;
  /** greedy pass@1 */
  passAt1: number;
  formatRate: number;
  /** "family/difficulty" → counts */
  perFamily: Record<string, { correct: number; total: number }>;
}

export type RlEvent =
  | { type: 'phase'; peerId: string; round: number; phase: 'sampling' | 'publishing' | 'training' }
  | { type: 'round'; stats: RoundStats }
  | { type: 'eval'; stats: EvalStats }
  /** something went wrong that did not stop the round (e.g. publishing failed: the round went on solo) */
  | { type: 'warning'; peerId: string; round: number; message: string };
