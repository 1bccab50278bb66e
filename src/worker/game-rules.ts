// What the page checks of a game swarm's rollouts at gossip time. In game mode a `rollouts` message is a
// peer's answer stage (src/swarm/game-transport.ts): at most B groups of one completion, only on the round's
// shared questions (gameTaskRefs: the same for every peer), claiming no reward (every receiver scores the
// text itself). Anything else is a provable fault of its author, refused before it is forwarded.
import { defaultGameConfig, type GameConfig } from '../rl/game/runner.ts';
import { gameTaskRefs, MAX_STUDENTS } from '../rl/game/stages.ts';
import { taskRefKey } from '../rl/round-tasks.ts';
import type { TaskMix } from '../rl/tasks/index.ts';
import type { RolloutsMessage } from '../swarm/messages.ts';
import type { RolloutContentCheck, RolloutShape } from '../swarm/validator.ts';
import { runnerConfigFor } from './plan.ts';

export interface GameShape {
  swarmId: string;
  tasks: readonly TaskMix[];
  /** B: the round's shared questions */
  questions: number;
  /** characters of a stage text a peer takes at all (the game config's maxTextChars) */
  maxTextChars: number;
}

export function gameRolloutRules(shape: GameShape): { rolloutShape: RolloutShape; rolloutCheck: RolloutContentCheck } {
  const rolloutShape: RolloutShape = { questions: shape.questions, completions: 1, completionChars: shape.maxTextChars };
  const rolloutCheck: RolloutContentCheck = (m: RolloutsMessage) => {
    const asked = new Set(gameTaskRefs(shape.swarmId, m.round, shape.tasks, shape.questions).map(taskRefKey));
    for (const rollout of m.rollouts) {
      const key = taskRefKey(rollout.task);
      if (!asked.has(key)) return `task ${key} is not one of the game's questions for round ${m.round}`;
      if (rollout.completions.some((c) => c.reward !== 0)) return 'a game answer claims a reward (receivers score answers themselves)';
    }
    return null;
  };
  return { rolloutShape, rolloutCheck };
}

/**
 * The game a tab of this swarm plays: the swarm's task mix (as SAPO's runner reads it), two shared questions,
 * four completions a stage, up to eight students; completion budgets as in `npm run experiment:game`.
 */
export function gameConfigFor(swarm: { swarmId: string; taskMix?: Record<string, number> }): GameConfig {
  const tasks = runnerConfigFor({ swarmId: swarm.swarmId, taskMix: swarm.taskMix ?? {}, modelUrl: '', peerId: '', backend: 'cpu', resume: false }).tasks;
  return defaultGameConfig({ swarmId: swarm.swarmId, tasks, questions: 2, completions: 4, students: MAX_STUDENTS, maxNewTokens: { answer: 16, critique: 14, resolve: 32 } });
}
