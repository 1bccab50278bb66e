// Scripted rollouts for the network alone (no model): the lab page, `npm run peer` without --rl and the gossip
// load probe use them. They are this round's real tasks, derived from (swarm, round, peer) exactly as the RL
// runner derives them, answered right or wrong in turn and scored by the real verifier, so receivers can
// re-derive and re-score them and gossip carries realistic bytes. But no model wrote them: training on them
// would teach a tab nothing true, so they are only ever produced for a swarm that says it is a lab swarm.
import { roundTaskRefs } from '../../rl/round-tasks.ts';
import { generateTask, scoreCompletion, type TaskMix } from '../../rl/tasks/index.ts';
import type { PublishedRollout } from '../../rl/transport.ts';
import type { SwarmConfig } from '../../swarm/config.ts';
import type { RoundShape } from '../../worker/rescore.ts';

export class NotALabSwarmError extends Error {
  override name = 'NotALabSwarmError';
}

/** the mix scripted traffic answers from */
export const DEMO_MIX: readonly TaskMix[] = [{ family: 'basic_arithmetic', difficulty: 1 }];
export const DEMO_SHAPE = { questions: 2, completions: 4, maxNewTokens: 24 } as const;

export function demoRollouts(
  swarmId: string,
  round: number,
  peerId: string,
  questions: number = DEMO_SHAPE.questions,
  completions: number = DEMO_SHAPE.completions,
  mix: readonly TaskMix[] = DEMO_MIX,
): PublishedRollout[] {
  return roundTaskRefs(swarmId, round, peerId, mix, questions).map((ref) => {
    const task = generateTask(ref);
    return {
      task: ref,
      completions: Array.from({ length: completions }, (_, i) => {
        const text = i % 2 === 0 ? `<think>${task.prompt.slice(0, 200)}</think><answer>${task.answer}</answer>` : `<answer>${task.answer}${i}</answer>`;
        return { text, reward: scoreCompletion(task, text).reward };
      }),
    };
  });
}

/** Refuses (NotALabSwarmError) any swarm that is not explicitly a lab swarm. */
export function assertLabSwarm(config: SwarmConfig, who: string): void {
  if (config.lab !== true) {
    throw new NotALabSwarmError(`${who} publishes scripted rollouts and only joins lab swarms ("lab": true); swarm ${config.swarmId} is not one`);
  }
}

/** The producer of a lab peer's scripted rollouts, after checking the swarm is a lab swarm. */
export function scriptedProducer(config: SwarmConfig, peerId: string, who: string, questions: number = DEMO_SHAPE.questions): (round: number) => PublishedRollout[] {
  assertLabSwarm(config, who);
  return (round) => demoRollouts(config.swarmId, round, peerId, questions, DEMO_SHAPE.completions);
}

/** the round shape lab peers publish, for the validator's rollout rules */
export function demoRoundShape(swarmId: string, questions: number = DEMO_SHAPE.questions): RoundShape {
  return { swarmId, tasks: DEMO_MIX, questions, completions: DEMO_SHAPE.completions, maxNewTokens: DEMO_SHAPE.maxNewTokens };
}
