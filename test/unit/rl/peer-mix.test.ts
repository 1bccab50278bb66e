// Peers that draw from mixes of their own (peers.ts peerMix): the specialist arm's mix, and the receiver
// side — an honest emphasised sender's refs are checked against the sender's mix, re-derived from its id,
// so they are accepted, while a sender that draws from another peer's mix is still refused.
import { describe, expect, it } from 'vitest';
import { HETERO_EMPHASIS, SPECIALIST_EMPHASIS, armConfig, ARMS, type JobSpec } from '../../../scripts/model/experiment.ts';
import { InMemoryBus } from '../../../src/rl/bus.ts';
import { DEFAULT_TASK_MIX } from '../../../src/rl/defaults.ts';
import { walkBatchTasks } from '../../../src/rl/batch-walk.ts';
import { emphasisedMix, peerMix } from '../../../src/rl/peers.ts';
import { checkRoundTaskRefs, roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { defaultRunnerConfig, RoundRunner, type LocalRound } from '../../../src/rl/runner.ts';
import { collectExternalGroups, type RoundExpectation } from '../../../src/rl/sapo.ts';
import { generateTask, scoreCompletion, type TaskMix } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import { charTokenizer, ScriptedEngine } from './fakes.ts';

const PEERS = ['peer-0', 'peer-1', 'peer-2', 'peer-3'];
const emphasised = (mix: readonly TaskMix[], base: readonly TaskMix[]) => mix.filter((m, i) => (m.weight ?? 1) !== (base[i].weight ?? 1)).map((m) => m.family);

describe('peerMix', () => {
  it('is the swarm mix without a rule, and emphasisedMix from the peer id with one', () => {
    expect(peerMix(DEFAULT_TASK_MIX, 'peer-1')).toBe(DEFAULT_TASK_MIX);
    expect(peerMix(DEFAULT_TASK_MIX, 'peer-1', HETERO_EMPHASIS)).toEqual(emphasisedMix(DEFAULT_TASK_MIX, 'peer-1', 3, 2));
  });

  it('the specialist mix: three families ×10, every entry and level kept, about 80% of draws on its own three', () => {
    const specialties = new Set<string>();
    for (const peer of PEERS) {
      const mix = peerMix(DEFAULT_TASK_MIX, peer, SPECIALIST_EMPHASIS);
      const own = emphasised(mix, DEFAULT_TASK_MIX);
      expect(own).toHaveLength(3);
      own.forEach((f) => specialties.add(f));
      // same entries, same level ranges: evaluation and the curriculum see the full mix
      expect(mix.map(({ family, difficulty, maxDifficulty }) => ({ family, difficulty, maxDifficulty })))
        .toEqual(DEFAULT_TASK_MIX.map(({ family, difficulty, maxDifficulty }) => ({ family, difficulty, maxDifficulty })));
      const refs = Array.from({ length: 200 }, (_, r) => roundTaskRefs('sapo-seed-0', r, peer, mix, 4)).flat();
      const share = refs.filter((ref) => own.includes(ref.family)).length / refs.length;
      expect(share).toBeGreaterThan(0.72);
      expect(share).toBeLessThan(0.92);
    }
    // peers differ: four specialists of three families cover more than one peer's three
    expect(specialties.size).toBeGreaterThan(3);
  });

  it('the experiment arms: specialist and hetero peers carry the rule, the plain swarm none', () => {
    const spec = (name: string): JobSpec => ({ arm: ARMS.find((a) => a.name === name)!, seed: 's', peers: 4, rounds: 1, completions: 8, lr: 2e-4, evalEvery: 0, evalPerEntry: 1 });
    expect(armConfig(spec('swarm-specialist'), 'peer-2').peerEmphasis).toEqual(SPECIALIST_EMPHASIS);
    expect(armConfig(spec('isolated-specialist')).peerEmphasis).toEqual(SPECIALIST_EMPHASIS);
    expect(armConfig(spec('swarm-hetero'), 'peer-2').peerEmphasis).toEqual(HETERO_EMPHASIS);
    expect(armConfig(spec('swarm'), 'peer-2').peerEmphasis).toBeUndefined();
    // the swarm's mix stays the full one: each peer's own draw is derived from it
    expect(armConfig(spec('swarm-specialist'), 'peer-2').tasks).toEqual(DEFAULT_TASK_MIX);
  });
});

describe('receiver-side checks of an emphasised sender', () => {
  const B = 4;
  /** an honest batch from `sender`: its round-`round` refs under its own mix, half right half wrong */
  const batchOf = (sender: string, round: number, mix: readonly TaskMix[]): RolloutBatch => ({
    v: 1, swarmId: 'sapo-seed-0', round, peerId: sender,
    rollouts: roundTaskRefs('sapo-seed-0', round, sender, mix, B).map((ref) => {
      const t = generateTask(ref);
      return { task: ref, completions: [`<answer>${t.answer}</answer>`, '<answer>?</answer>'].map((text) => ({ text, reward: scoreCompletion(t, text).reward })) };
    }),
  });

  for (const emphasis of [SPECIALIST_EMPHASIS, HETERO_EMPHASIS]) {
    it(`accepts every honest ref under its sender's mix (×${emphasis.factor} on ${emphasis.count}), refuses one drawn from another peer's mix`, () => {
      const mixFor = (peer: string) => peerMix(DEFAULT_TASK_MIX, peer, emphasis);
      let checkedAgainstOwn = 0;
      let refusedAgainstOwn = 0;
      for (let round = 0; round < 30; round++) {
        const expect_: RoundExpectation = { swarmId: 'sapo-seed-0', round, selfPeerId: 'peer-0', mix: DEFAULT_TASK_MIX, mixFor, questions: B, completions: 2 };
        for (const sender of PEERS.slice(1)) {
          const batch = batchOf(sender, round, mixFor(sender));
          expect(checkRoundTaskRefs(batch.rollouts.map((r) => r.task), 'sapo-seed-0', round, sender, mixFor(sender), B)).toBeNull();
          const { drops, refusals } = collectExternalGroups([batch], expect_);
          expect(drops.offSeedGroups).toBe(0);
          expect(refusals).toEqual([]);
          // the check the experiment made before the rule: against the receiver's own emphasised mix
          const old = collectExternalGroups([batch], { ...expect_, mix: mixFor('peer-0'), mixFor: undefined });
          checkedAgainstOwn += B;
          refusedAgainstOwn += old.drops.offSeedGroups;
          // the shared walk (gossip validator, reward re-score) re-derives the sender's mix the same way
          const rules = { swarmId: 'sapo-seed-0', tasks: DEFAULT_TASK_MIX, mixFor, questions: B };
          expect(walkBatchTasks(batch, rules)).toBeNull();
          // a sender that draws from someone else's (say the receiver's) mix is not drawing its own tasks
          const forged = { ...batchOf(sender, round, mixFor('peer-0')), peerId: sender };
          const sameDraw = JSON.stringify(forged.rollouts.map((r) => r.task)) === JSON.stringify(batch.rollouts.map((r) => r.task));
          if (!sameDraw) {
            expect(collectExternalGroups([forged], expect_).drops.offSeedGroups).toBeGreaterThan(0);
            expect(walkBatchTasks(forged, rules)?.reason).toMatch(/is not one of the sender's tasks/);
          }
          // without the sender's mix, the walk refuses the honest batch whenever its draw differs from the swarm mix's
          const plain = JSON.stringify(roundTaskRefs('sapo-seed-0', round, sender, DEFAULT_TASK_MIX, B)) === JSON.stringify(batch.rollouts.map((r) => r.task));
          if (!plain) expect(walkBatchTasks(batch, { ...rules, mixFor: undefined })).not.toBeNull();
        }
      }
      // the bug this rule fixes: most honest groups were refused as off-seed
      expect(refusedAgainstOwn / checkedAgainstOwn).toBeGreaterThan(0.3);
    });
  }

  it('runners with a peerEmphasis accept each other\'s groups on a bus; the old per-peer mixes refused them', async () => {
    // off-seed refusals are counted before any scoring, so what the scripted engine answers does not matter
    const mix: TaskMix[] = [{ family: 'basic_arithmetic', difficulty: 1 }, { family: 'chain_sum', difficulty: 1 }, { family: 'sorting', difficulty: 1 }];
    const answer = (_prompt: string, row: number) => `<answer>${row % 2}</answer>`;
    const run = async (configFor: (peer: string) => ReturnType<typeof defaultRunnerConfig>) => {
      const bus = new InMemoryBus();
      const runners = PEERS.map((p) => new RoundRunner(new ScriptedEngine(answer), charTokenizer, bus.connect(p), configFor(p)));
      let offSeed = 0;
      for (let round = 0; round < 6; round++) {
        const locals: LocalRound[] = [];
        for (const r of runners) locals.push(await r.sampleRound(round));
        for (let i = 0; i < runners.length; i++) offSeed += (await runners[i].trainRound(locals[i])).externalDrops?.offSeedGroups ?? 0;
      }
      return offSeed;
    };
    const base = defaultRunnerConfig({ swarmId: 'sapo-seed-0', tasks: mix, questions: 4, completions: 2, localGroups: 4, externalGroups: 4 });
    const emphasis = { factor: 10, count: 1 };
    expect(await run(() => ({ ...base, peerEmphasis: emphasis }))).toBe(0);
    expect(await run((p) => ({ ...base, tasks: emphasisedMix(mix, p, emphasis.factor, emphasis.count) }))).toBeGreaterThan(0);
  });
});
