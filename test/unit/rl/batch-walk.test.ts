// The one walk over a batch's tasks (src/rl/batch-walk.ts), and its two callers fed the same hostile but valid
// batches: the gossip validator (a signed message through SwarmValidator with the swarm's rolloutRules) and the
// chain's re-score (rescoreBatch) must name the same forged completions, one after another, in the same words.
import { describe, expect, it } from 'vitest';
import { walkBatchTasks } from '../../../src/rl/batch-walk.ts';
import { roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { generateTask, scoreCompletion, type TaskMix } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { decodeMessage, type RolloutsMessage } from '../../../src/swarm/messages.ts';
import { SwarmValidator } from '../../../src/swarm/validator.ts';
import { rolloutRules, type RoundShape } from '../../../src/worker/rescore.ts';
import { rescoreBatch } from '../../../src/worker/reward-rescore.ts';
import { bytesOf, PEER_A, PEER_B } from '../swarm/fixtures.ts';

const ROUND_MS = 10_000;
const ROUND = 5;
const NOW = ROUND * ROUND_MS + 1;
// a curriculum mix: the sender picks basic_arithmetic's level, never its questions
const MIX: readonly TaskMix[] = [
  { family: 'basic_arithmetic', difficulty: 1, maxDifficulty: 3, weight: 2 },
  { family: 'chain_sum', difficulty: 1, maxDifficulty: 2 },
  { family: 'sorting', difficulty: 1 },
];
const SHAPE: RoundShape = { swarmId: 'test', tasks: MIX, questions: 3, completions: 4, maxNewTokens: 24 };

/** the sender's own tasks at the levels it chose, answers right and wrong, claims equal to the re-score */
function honestBatch(peerId: string, levels: Record<string, number>): RolloutBatch {
  const rollouts = roundTaskRefs(SHAPE.swarmId, ROUND, peerId, MIX, SHAPE.questions, levels).map((ref) => {
    const task = generateTask(ref);
    return {
      task: ref,
      completions: Array.from({ length: SHAPE.completions }, (_, i) => {
        const text = i % 2 === 0 ? `<answer>${task.answer}</answer>` : i === 1 ? 'no idea' : `<answer>${task.answer}7</answer>`;
        return { text, reward: scoreCompletion(task, text).reward };
      }),
    };
  });
  return { v: 1, swarmId: SHAPE.swarmId, round: ROUND, peerId, rollouts };
}

let nonce = 1;
/** what the gossip validator says of the batch sent whole in one signed message (a fresh validator: no rate state) */
async function gossipVerdict(batch: RolloutBatch): Promise<string | null> {
  const message: RolloutsMessage = { v: 1, kind: 'rollouts', swarmId: batch.swarmId, round: batch.round, peerId: batch.peerId, nonce: nonce++, ts: NOW, rollouts: batch.rollouts, part: 0, parts: 1 };
  const bytes = bytesOf(message);
  expect(decodeMessage(bytes).ok, 'the wire schema accepts it: what refuses it is the swarm rules').toBe(true);
  const clock = new RoundClock({ roundMs: ROUND_MS, genesisMs: 0, now: () => NOW });
  const validator = new SwarmValidator({ swarmId: 'test', clock, now: () => NOW, ...rolloutRules(SHAPE) });
  const verdict = await validator.validate(bytes, batch.peerId);
  return verdict.ok ? null : verdict.reason.replace(/^rollouts: /, '');
}

function rescoreVerdict(batch: RolloutBatch): string | null {
  const verdict = rescoreBatch(batch, SHAPE);
  return verdict.ok ? null : verdict.reason;
}

describe('one walk over a batch for the gossip validator and the re-score', () => {
  it('accepts an honest curriculum batch in both, and the re-score sums what the walk scored', async () => {
    const batch = honestBatch(PEER_A, { basic_arithmetic: 2, chain_sum: 2 });
    expect(batch.rollouts.some((r) => r.task.difficulty === 2), 'the batch claims a chosen level').toBe(true);
    expect(await gossipVerdict(batch)).toBeNull();
    const verdict = rescoreBatch(batch, SHAPE);
    expect(verdict).toMatchObject({ ok: true, completions: SHAPE.questions * SHAPE.completions });
    let walked = 0;
    expect(walkBatchTasks(batch, { ...SHAPE, distinct: true, scored: () => walked++ })).toBeNull();
    expect(walked).toBe(SHAPE.questions * SHAPE.completions);
  });

  it('names the same forged completions in both, one after another, until the batch is repaired', async () => {
    const honest = honestBatch(PEER_A, { basic_arithmetic: 3 });
    const hostile = structuredClone(honest);
    // forged claims in three groups, each claim a value of its own so a reason names exactly one completion;
    // every claim stays a plausible reward, so the wire schema lets the batch through
    const forged = [[0, 1], [0, 3], [1, 2], [2, 0]] as const;
    forged.forEach(([g, c], k) => {
      hostile.rollouts[g].completions[c].reward = honest.rollouts[g].completions[c].reward === 0 ? 0.5 + k / 100 : 0.25 + k / 100;
    });
    const named: (readonly [number, number])[] = [];
    for (let step = 0; step <= forged.length; step++) {
      const gossip = await gossipVerdict(hostile);
      const rescore = rescoreVerdict(hostile);
      expect(rescore, `step ${step}: the two callers agree`).toBe(gossip);
      const fault = walkBatchTasks(hostile, SHAPE);
      expect(fault?.reason ?? null).toBe(gossip);
      if (fault === null) break;
      const { group, completion } = fault;
      expect(completion).not.toBeNull();
      expect(gossip).toContain(`claimed reward ${hostile.rollouts[group].completions[completion!].reward} `);
      named.push([group, completion!]);
      hostile.rollouts[group].completions[completion!].reward = honest.rollouts[group].completions[completion!].reward;
    }
    expect(named, 'every forged completion, in batch order, and nothing else').toEqual(forged);
    expect(hostile).toEqual(honest);
  });

  it("agrees on a stolen task, a task at a level never drawn, and another peer's whole batch", async () => {
    const own = honestBatch(PEER_A, {});
    const theirs = honestBatch(PEER_B, {});
    const stolen = structuredClone(own);
    stolen.rollouts[1] = structuredClone(theirs.rollouts[1]);
    const relevelled = structuredClone(own);
    const fixed = relevelled.rollouts.findIndex((r) => r.task.family === 'sorting');
    expect(fixed, "PEER_A's round-5 draw holds a sorting task").toBeGreaterThanOrEqual(0);
    relevelled.rollouts[fixed].task.difficulty = 2; // sorting has no level range to choose from
    const cases: [string, RolloutBatch][] = [
      ['stolen group', stolen], ["another peer's batch", { ...theirs, peerId: PEER_A }], ['a fixed family at another level', relevelled],
    ];
    for (const [what, batch] of cases) {
      const gossip = await gossipVerdict(batch);
      expect(gossip, what).toMatch(/is not one of the sender's tasks for round 5/);
      expect(rescoreVerdict(batch), what).toBe(gossip);
    }
  });

  it('keeps the re-score stricter where a whole batch is held to more: repeated tasks, partial groups', async () => {
    const own = honestBatch(PEER_A, {});
    const repeated = { ...own, rollouts: [own.rollouts[0], own.rollouts[0], own.rollouts[2]] };
    // one message of a split batch may hold any of the sender's groups: the validator never asked for distinct
    expect(await gossipVerdict(repeated)).toBeNull();
    expect(rescoreVerdict(repeated)).toMatch(/not one of the sender's tasks/);
    expect(walkBatchTasks(repeated, { ...SHAPE, distinct: true })).toMatchObject({ group: 1, completion: null });
    const partial = structuredClone(own);
    partial.rollouts[2].completions.pop();
    expect(await gossipVerdict(partial)).toBeNull();
    expect(rescoreVerdict(partial)).toMatch(/has 3 completions, an honest group 4/);
  });

  it('refuses a batch of null groups with a reason instead of throwing', () => {
    const own = honestBatch(PEER_A, {});
    const holes = { ...own, rollouts: [null, null, null] } as never;
    expect(rescoreBatch(holes, SHAPE)).toMatchObject({ ok: false, reason: expect.stringMatching(/task \? is not one of/) });
  });
});
