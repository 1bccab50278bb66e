// The coordinator's seat in the swarm: a Node peer that joins gossip through the relay (like `npm run peer`),
// publishes nothing, and keeps what peers publish each round, through the same validator and per-(peer, round) caps
// as any tab (so a batch with a forged claim or someone else's tasks is refused at the door). It is the
// RolloutSource that verified mode re-scores from. Needs a global WebSocket (`--experimental-websocket` on Node 20).
import { assertWebSocket } from '../../src/node-polyfills.ts';
import type { SwarmConfig } from '../../src/swarm/config.ts';
import { Swarm } from '../../src/swarm/swarm.ts';
import { transportLimitsFor, transportOver } from '../../src/swarm/transport.ts';
import { runnerConfigFor } from '../../src/worker/plan.ts';
import { rolloutRules, type RoundShape } from '../../src/worker/rescore.ts';
import type { RolloutSource } from './verified.ts';

export class FollowError extends Error {
  override name = 'FollowError';
}

/** What the swarm's tabs publish each round (the worker's runner config for this swarm config). */
export function appRoundShape(config: SwarmConfig): RoundShape {
  if (config.mode === 'game') throw new FollowError('a game swarm publishes answers, critiques and votes, not SAPO rollouts: verified rewards follow sapo swarms only');
  const runner = runnerConfigFor({
    modelUrl: '', swarmId: config.swarmId, peerId: '', backend: 'cpu', resume: false, taskMix: config.taskMix,
    ...(config.completionBudget !== undefined ? { completionBudget: config.completionBudget } : {}),
  });
  return { swarmId: config.swarmId, tasks: runner.tasks, questions: runner.questions, completions: runner.completions, maxNewTokens: runner.sampling.maxNewTokens };
}

export interface SwarmFollower {
  source: RolloutSource;
  shape: RoundShape;
  peerId: string;
  stop(): Promise<void>;
}

export async function followSwarm(config: SwarmConfig, options: { shape?: RoundShape; log?: (line: string) => void } = {}): Promise<SwarmFollower> {
  assertWebSocket();
  const shape = options.shape ?? appRoundShape(config);
  const rules = rolloutRules(shape);
  const swarm = await Swarm.join(config, { ...rules, log: options.log ?? ((line) => console.error(`coordinator gossip: ${line}`)) });
  const transport = transportOver(swarm, transportLimitsFor(rules.rolloutShape));
  return {
    source: { currentRound: () => swarm.clock.currentRound(), receivedRollouts: (round) => transport.receivedRollouts(round) },
    shape,
    peerId: swarm.peerId,
    async stop() {
      await transport.close();
      await swarm.stop();
    },
  };
}
