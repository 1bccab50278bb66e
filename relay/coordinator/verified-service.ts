// The coordinator service in verified mode: it follows the swarm's gossip (a RolloutSource), drives the chain's
// stage counter from the swarm clock, and puts on chain only the rewards and winners it re-scored itself
// (relay/coordinator/verified.ts). Peers' own reports are checked against the same score and refused, with the
// reason, when they disagree; GET /health shows the round mapping, GET /refusals the latest refusals.
import { startCoordinatorService, type CoordinatorService, type CoordinatorServiceOptions } from './service.ts';
import { VerifiedRewards, type RolloutSource } from './verified.ts';
import type { RoundShape } from '../../src/worker/rescore.ts';

export interface VerifiedServiceOptions extends Omit<CoordinatorServiceOptions, 'rescored' | 'submitsOwnRewards' | 'stageMs' | 'describe' | 'onRefusal'> {
  source: RolloutSource;
  /** what honest peers of the swarm publish each round */
  shape: RoundShape;
  roundsPerStage?: number;
  graceRounds?: number;
  /** milliseconds between loop steps (default 1 s; a quarter of the swarm round is plenty) */
  tickMs?: number;
}

export interface VerifiedCoordinatorService extends CoordinatorService {
  verified: VerifiedRewards;
  /** One loop step now (tests; the timer runs it too). */
  tick(): Promise<void>;
}

export async function startVerifiedCoordinatorService(options: VerifiedServiceOptions): Promise<VerifiedCoordinatorService> {
  const { source, shape, roundsPerStage, graceRounds, tickMs, ...serviceOptions } = options;
  const log = options.log ?? ((line: string) => console.error(`coordinator: ${line}`));
  // the loop needs the contract's bounds, which the service reads at start: built first, started after
  let verified: VerifiedRewards | null = null;
  const service = await startCoordinatorService({
    ...serviceOptions,
    log,
    stageMs: 0, // the swarm clock drives the stages now
    submitsOwnRewards: true,
    rescored: (report) => verified?.expected(report) ?? { reason: 'the coordinator is not following the swarm yet' },
    onRefusal: (peerId, what, reason) => verified?.refuse(peerId, what, reason),
    describe: () => ({ mapping: verified?.mapping ?? undefined, refusals: verified?.refusals() ?? [] }),
  });
  const loop = new VerifiedRewards({
    shape,
    stagesPerRound: service.stagesPerRound,
    maxRewardPerReport: service.maxRewardPerReport,
    rewardWindowRounds: service.rewardWindowRounds,
    ...(roundsPerStage !== undefined ? { roundsPerStage } : {}),
    ...(graceRounds !== undefined ? { graceRounds } : {}),
    log,
  });
  try {
    await loop.start(service, source);
  } catch (error) {
    await service.stop();
    throw error;
  }
  verified = loop;
  let busy: Promise<void> | null = null;
  const tick = () => {
    // one step at a time: a slow chain makes steps late, never concurrent (nonces, double submissions)
    busy ??= loop.tick().finally(() => (busy = null));
    return busy;
  };
  const timer = setInterval(() => void tick().catch((error: Error) => log(`verified rewards step failed: ${error.message.split('\n')[0]}`)), tickMs ?? 1_000);
  return {
    ...service,
    verified: loop,
    tick,
    async stop() {
      clearInterval(timer);
      await busy?.catch(() => undefined);
      await service.stop();
    },
  };
}
