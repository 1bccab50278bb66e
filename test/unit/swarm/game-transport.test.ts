// The game's gossip transport over stand-ins for joined swarms that share one wire: every publish goes
// through the real encoder, each receiver's real SwarmValidator (schema, signer, round window, replay, rate
// budgets, and the game's rollout rules) and the real decoder, as gossipsub's topic validator runs it. The
// libp2p path itself is covered by test/e2e/game.spec.ts.
import { describe, expect, it } from 'vitest';
import { defaultGameConfig, GameRunner, type GameEvent } from '../../../src/rl/game/runner.ts';
import { gameTaskRefs, STAGES, CRITIQUE_OPEN } from '../../../src/rl/game/stages.ts';
import type { GameMessage } from '../../../src/rl/game/transport.ts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { gameTransportOver, GameTransportError, type GossipGameTransport } from '../../../src/swarm/game-transport.ts';
import { decodeMessage, encodeMessage, type SwarmMessage } from '../../../src/swarm/messages.ts';
import type { ReceivedMessage, Swarm } from '../../../src/swarm/swarm.ts';
import { SwarmValidator } from '../../../src/swarm/validator.ts';
import { gameRolloutRules } from '../../../src/worker/game-rules.ts';
import { charTokenizer, ScriptedEngine } from '../rl/fakes.ts';
import { PEER_A, PEER_B } from './fixtures.ts';

const PEER_C = '12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X';
const SWARM = 'game-wire';
const config = defaultGameConfig({ swarmId: SWARM, questions: 2, completions: 2, students: 4 });
const rules = gameRolloutRules({ swarmId: SWARM, tasks: config.tasks, questions: config.questions, maxTextChars: config.maxTextChars });

/** a shared wire: what one stand-in publishes reaches the others through their validators */
function wire() {
  const members: { peerId: string; validator: SwarmValidator; listeners: Set<(m: ReceivedMessage) => void> }[] = [];
  const rejections: { to: string; from: string; reason: string }[] = [];
  // round 0 for the whole test: the clock's window accepts rounds 0 and 1
  const clock = new RoundClock({ roundMs: 3_600_000, genesisMs: Date.now() });
  async function send(from: string, bytes: Uint8Array) {
    for (const m of members) {
      if (m.peerId === from) continue;
      const verdict = await m.validator.validate(bytes, from, from);
      if (!verdict.ok) {
        rejections.push({ to: m.peerId, from, reason: verdict.reason });
        continue;
      }
      for (const l of m.listeners) l({ message: verdict.message, receivedAt: 0, via: from });
    }
  }
  function join(peerId: string) {
    const listeners = new Set<(m: ReceivedMessage) => void>();
    const validator = new SwarmValidator({ swarmId: SWARM, clock, ...rules });
    members.push({ peerId, validator, listeners });
    let nonce = 1;
    const swarm = {
      peerId,
      config: { swarmId: SWARM },
      onMessage(listener: (m: ReceivedMessage) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async publish(body: Record<string, unknown>) {
        const message = { v: 1, swarmId: SWARM, peerId, nonce: nonce++, ts: Date.now(), ...body } as SwarmMessage;
        await send(peerId, encodeMessage(message));
        return message;
      },
    };
    return swarm as unknown as Swarm;
  }
  return { join, send, rejections };
}

const sumOf = (prompt: string) => {
  const m = /(\d+)\+(\d+)/.exec(prompt);
  return m ? Number(m[1]) + Number(m[2]) : 0;
};

/** answers right (even rows) when asked to; names the first right student; resolves with the listed majority */
function player(answersRight: boolean) {
  return (prompt: string, row: number): string => {
    const sum = sumOf(prompt);
    if (prompt.endsWith(CRITIQUE_OPEN)) {
      const line = prompt.split('\n').find((l) => l === `#${/#(\d+) /.exec(l)?.[1]} ${sum}`);
      return row % 2 === 0 ? `${line ? /#(\d+)/.exec(line)![1] : '1'}</identify>` : 'nobody';
    }
    if (prompt.endsWith('<majority>Student #')) {
      const first = (/Picks: #(\d+)/.exec(prompt)?.[1]) ?? '1';
      return row % 2 === 0 ? `${first}</majority><answer>${sum}</answer>` : `${first}</majority><answer>x</answer>`;
    }
    return `<answer>${answersRight && row % 2 === 0 ? sum : sum + 1}</answer>`;
  };
}

describe('GossipGameTransport', () => {
  it('three peers play a round through the validators and agree on the majority and the winners', async () => {
    const w = wire();
    const peers = [PEER_A, PEER_B, PEER_C].map((id, i) => {
      const transport = gameTransportOver(w.join(id), { questions: config.questions });
      const runner = new GameRunner(new ScriptedEngine(player(i !== 1)), charTokenizer, transport, config);
      const events: GameEvent[] = [];
      runner.on((e) => events.push(e));
      return { id, transport, runner, events };
    });
    for (const stage of STAGES) await Promise.all(peers.map((p) => p.runner.advance({ round: 0, stage })));
    await Promise.all(peers.map((p) => p.runner.advance({ round: 1, stage: 'answer' })));
    expect(w.rejections).toEqual([]);
    const resolves = peers.map((p) => p.events.find((e) => e.type === 'stage' && e.report.stage === 'resolve'));
    const views = resolves.map((e) => (e?.type === 'stage' ? e.report.questions : []));
    // everyone saw all three students and the same majority, and the majority named a right answer
    for (const v of views) {
      expect(v.map((q) => q.students.length)).toEqual([3, 3]);
      expect(v.map((q) => q.majorityCorrect)).toEqual([true, true]);
    }
    expect(new Set(views.map((v) => JSON.stringify(v.map((q) => q.majority)))).size).toBe(1);
    // each peer's votes crossed the wire: every tally holds all three voters' votes and the same winners
    const tallies = peers.map((p) => p.runner.tally(0));
    for (const t of tallies) expect(t.standings.reduce((s, x) => s + x.votes, 0)).toBe(3 * config.questions);
    expect(new Set(tallies.map((t) => JSON.stringify(t.winners))).size).toBe(1);
    expect(tallies[0].winners.length).toBeGreaterThan(0);
    for (const p of peers) expect(p.transport.drops).toEqual([]);
  });

  it('maps each kind onto the wire and back', async () => {
    const w = wire();
    const a = gameTransportOver(w.join(PEER_A), { questions: 2 });
    const b = gameTransportOver(w.join(PEER_B), { questions: 2 });
    const got: GameMessage[] = [];
    b.onMessage((m) => got.push(m));
    const [t0, t1] = gameTaskRefs(SWARM, 0, config.tasks, 2);
    const head = { swarmId: SWARM, round: 0, peerId: PEER_A };
    await a.publishAll([
      { kind: 'answer', ...head, task: t0, text: '<answer>3</answer>' },
      { kind: 'answer', ...head, task: t1, text: '<answer>4</answer>' },
    ]);
    await a.publish({ kind: 'critique', ...head, task: t0, text: `${CRITIQUE_OPEN}1</identify>`, about: PEER_C });
    await a.publish({ kind: 'resolve', ...head, task: t0, text: '<majority>Student #1</majority><answer>3</answer>' });
    await a.publish({ kind: 'vote', ...head, votes: [{ task: t0, peerId: PEER_C }] });
    expect(w.rejections).toEqual([]);
    expect(got).toEqual([
      { kind: 'answer', ...head, task: t0, text: '<answer>3</answer>' },
      { kind: 'answer', ...head, task: t1, text: '<answer>4</answer>' },
      { kind: 'critique', ...head, task: t0, text: `${CRITIQUE_OPEN}1</identify>`, about: PEER_C },
      { kind: 'resolve', ...head, task: t0, text: '<majority>Student #1</majority><answer>3</answer>' },
      { kind: 'vote', ...head, votes: [{ task: t0, peerId: PEER_C }] },
    ]);
    await expect(a.publish({ kind: 'resolve', ...head, peerId: PEER_B, task: t0, text: 'x' })).rejects.toThrow(GameTransportError);
    await expect(a.publish({ kind: 'critique', ...head, task: t0, text: 'x' })).rejects.toThrow(/name the peer/);
  });

  it('caps each sender per round: B critiques, B resolves, one answer and one vote message; drops carry reasons', async () => {
    const w = wire();
    const a = gameTransportOver(w.join(PEER_A), { questions: 2 });
    const b: GossipGameTransport = gameTransportOver(w.join(PEER_B), { questions: 2 });
    const got: GameMessage[] = [];
    b.onMessage((m) => got.push(m));
    const [t0] = gameTaskRefs(SWARM, 0, config.tasks, 2);
    const head = { swarmId: SWARM, round: 0, peerId: PEER_A };
    for (let i = 0; i < 3; i++) await a.publish({ kind: 'critique', ...head, task: t0, text: `${CRITIQUE_OPEN}1</identify>`, about: PEER_C });
    for (let i = 0; i < 3; i++) await a.publish({ kind: 'resolve', ...head, task: t0, text: 'r' });
    for (let i = 0; i < 2; i++) await a.publish({ kind: 'answer', ...head, task: t0, text: '<answer>1</answer>' });
    for (let i = 0; i < 2; i++) await a.publish({ kind: 'vote', ...head, votes: [{ task: t0, peerId: PEER_C }] });
    expect(got.map((m) => m.kind)).toEqual(['critique', 'critique', 'resolve', 'resolve', 'answer', 'vote']);
    expect(b.drops.map((d) => d.reason)).toEqual([
      'more than 2 critique messages this round',
      'more than 2 resolve messages this round',
      'more than 1 rollouts message this round',
      'more than 1 vote message this round',
    ]);
  });

  it('the validator refuses game answers off the round\'s questions or claiming a reward; the transport refuses other shapes', async () => {
    const w = wire();
    gameTransportOver(w.join(PEER_B), { questions: 2 });
    const head = { v: 1 as const, swarmId: SWARM, round: 0, peerId: PEER_A, ts: Date.now() };
    const [t0] = gameTaskRefs(SWARM, 0, config.tasks, 2);
    const other = { ...t0, seed: (t0.seed + 1) % 0xffff_ffff };
    await w.send(PEER_A, encodeMessage({ ...head, nonce: 1, kind: 'rollouts', rollouts: [{ task: other, completions: [{ text: 'a', reward: 0 }] }], part: 0, parts: 1 }));
    await w.send(PEER_A, encodeMessage({ ...head, nonce: 2, kind: 'rollouts', rollouts: [{ task: t0, completions: [{ text: 'a', reward: 1 }] }], part: 0, parts: 1 }));
    await w.send(PEER_A, encodeMessage({ ...head, nonce: 3, kind: 'rollouts', rollouts: [{ task: t0, completions: [{ text: 'a', reward: 0 }, { text: 'b', reward: 0 }] }], part: 0, parts: 1 }));
    expect(w.rejections.map((r) => r.reason)).toEqual([
      expect.stringContaining("is not one of the game's questions"),
      expect.stringContaining('claims a reward'),
      expect.stringContaining("the swarm's G is 1"),
    ]);
  });
});

describe('the resolve message kind', () => {
  const head = { v: 1 as const, swarmId: SWARM, round: 3, peerId: PEER_A, nonce: 1, ts: 1 };
  const task = { family: 'basic_arithmetic', seed: 5, difficulty: 1 };
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  it('decodes a well-formed resolve and refuses extra fields, missing text and megabytes', () => {
    const ok = decodeMessage(bytes({ ...head, kind: 'resolve', task, text: '<majority>Student #2</majority><answer>7</answer>' }));
    expect(ok).toMatchObject({ ok: true, message: { kind: 'resolve', task } });
    expect(decodeMessage(bytes({ ...head, kind: 'resolve', task, text: 'x', about: PEER_B }))).toMatchObject({ ok: false, reason: expect.stringContaining('unknown field "about"') });
    expect(decodeMessage(bytes({ ...head, kind: 'resolve', task }))).toMatchObject({ ok: false, reason: 'text must be a string' });
    expect(decodeMessage(bytes({ ...head, kind: 'resolve', task, text: 'x'.repeat(2049) }))).toMatchObject({ ok: false, reason: expect.stringContaining('longer than 2048') });
    expect(decodeMessage(bytes({ ...head, kind: 'resolve', task, text: 'x'.repeat(1 << 20) }))).toMatchObject({ ok: false, reason: expect.stringContaining('oversized') });
  });
  it('has its own rate budget: a resolve flood does not use up critiques', async () => {
    const clock = new RoundClock({ roundMs: 3_600_000, genesisMs: Date.now() });
    const v = new SwarmValidator({ swarmId: SWARM, clock });
    const verdicts = [];
    for (let i = 0; i < 34; i++) verdicts.push(await v.validate(encodeMessage({ ...head, round: 0, nonce: 100 + i, kind: 'resolve', task, text: 'r' }), PEER_A));
    expect(verdicts.filter((x) => !x.ok).map((x) => (x.ok ? '' : x.reason))).toContain('resolve rate budget exceeded');
    // 35 messages so far: under the per-peer pre-decode limit (40), so only the kind budgets differ
    const critique = await v.validate(encodeMessage({ ...head, round: 0, nonce: 999, kind: 'critique', task, about: PEER_B, text: 'c' }), PEER_A);
    expect(critique.ok).toBe(true);
  });
});
