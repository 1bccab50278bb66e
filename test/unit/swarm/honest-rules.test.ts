// The other side of the trust boundary: what an honest tab publishes must pass the rules its peers check
// (same round shape from the same swarm config), or the swarm would reject its own members.
import { describe, expect, it } from 'vitest';
import { InMemoryBus } from '../../../src/rl/bus.ts';
import { RoundRunner } from '../../../src/rl/runner.ts';
import { runnerConfigFor } from '../../../src/worker/plan.ts';
import { rolloutRules } from '../../../src/worker/rescore.ts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { SwarmValidator } from '../../../src/swarm/validator.ts';
import { generateTask } from '../../../src/rl/tasks/index.ts';
import { charTokenizer, ScriptedEngine } from '../rl/fakes.ts';
import { bytesOf, PEER_A } from './fixtures.ts';

describe('an honest tab passes its peers\' rollout rules', () => {
  it('the runner\'s batch for the app round shape is accepted by a validator with the same rules', async () => {
    const taskMix = { basic_arithmetic: 2, sorting: 1 };
    const shape = runnerConfigFor({ modelUrl: '', swarmId: 'test', peerId: PEER_A, backend: 'cpu', resume: false, taskMix });
    const rules = rolloutRules({ swarmId: 'test', tasks: shape.tasks, questions: shape.questions, completions: shape.completions, maxNewTokens: shape.sampling.maxNewTokens });
    // right for even rows, wrong for odd ones: claims are the runner's own scores
    const engine = new ScriptedEngine((prompt, row) => {
      return row % 2 ? '<answer>nope</answer>' : `<answer>${prompt.length}</answer>`;
    });
    const bus = new InMemoryBus();
    const listener = bus.connect('listener');
    const runner = new RoundRunner(engine, charTokenizer, bus.connect(PEER_A), { ...shape, swarmId: 'test' });
    await runner.sampleRound(5);
    const [batch] = listener.receivedRollouts(5);
    expect(batch.rollouts).toHaveLength(shape.questions);
    for (const r of batch.rollouts) expect(() => generateTask(r.task)).not.toThrow();
    const clock = new RoundClock({ roundMs: 10_000, genesisMs: 0, now: () => 55_000 });
    const validator = new SwarmValidator({ swarmId: 'test', clock, now: () => 55_000, ...rules });
    const message = { v: 1, kind: 'rollouts', swarmId: 'test', round: 5, peerId: PEER_A, nonce: 1, ts: 55_000, rollouts: batch.rollouts, part: 0, parts: 1 };
    expect(await validator.validate(bytesOf(message), PEER_A)).toMatchObject({ ok: true });
  });
});
