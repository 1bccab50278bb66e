// The conference screen's game view from gossip alone: students in the seeded order every player computes,
// votes as they arrive (one per voter), the decided round's winners; answers off the round's questions and a
// second vote from one voter change nothing.
import { describe, expect, it } from 'vitest';
import { GameWatch, type GameWatchView } from '../../../src/app/lib/game-watch.ts';
import { gameTaskRefs, selectStudents } from '../../../src/rl/game/stages.ts';
import { generateTask } from '../../../src/rl/tasks/index.ts';
import type { SwarmMessage } from '../../../src/swarm/messages.ts';
import type { ReceivedMessage, Swarm } from '../../../src/swarm/swarm.ts';
import { gameConfigFor } from '../../../src/worker/game-rules.ts';

const A = '12D3KooWGAEBgKdgKtkRFMPdvmn2wBsPbCo1B4rS2sTfSPkybWV8';
const B = '12D3KooWNa7Wch3PD77Ki8DBZ9iEUEyyp1sQGfd8cDWb1VayLg3P';
const C = '12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X';
const SCREEN = '12D3KooWScreenScreenScreenScreenScreenScreenScreen11';

function fakeSwarm() {
  const listeners = new Set<(m: ReceivedMessage) => void>();
  const swarm = { peerId: SCREEN, config: { swarmId: 'watch', mode: 'game', taskMix: {} }, onMessage: (l: (m: ReceivedMessage) => void) => (listeners.add(l), () => listeners.delete(l)) };
  let nonce = 0;
  const deliver = (m: Record<string, unknown>) => listeners.forEach((l) => l({ message: { v: 1, swarmId: 'watch', nonce: nonce++, ts: 0, ...m } as SwarmMessage, receivedAt: 0, via: String(m.peerId) }));
  return { swarm: swarm as unknown as Swarm, deliver };
}

describe('GameWatch', () => {
  it('shows the students every player sees, live votes and the decided round', () => {
    const { swarm, deliver } = fakeSwarm();
    const views: GameWatchView[] = [];
    new GameWatch(swarm, (v) => views.push(v));
    const config = gameConfigFor({ swarmId: 'watch' });
    const refs = gameTaskRefs('watch', 7, config.tasks, config.questions);
    const answers = [[A, '1'], [B, '2'], [C, '3']] as const;
    for (const [peerId, x] of answers) deliver({ kind: 'rollouts', round: 7, peerId, rollouts: refs.map((task) => ({ task, completions: [{ text: `<answer>${x}</answer>`, reward: 0 }] })), part: 0, parts: 1 });
    // an answer off the round's questions is not a student
    deliver({ kind: 'rollouts', round: 7, peerId: SCREEN.replace('Screen', 'Stray1'), rollouts: [{ task: { ...refs[0], seed: refs[0].seed + 1 }, completions: [{ text: '<answer>9</answer>', reward: 0 }] }], part: 0, parts: 1 });
    const view = views.at(-1)!;
    expect(view.round).toBe(7);
    const expected = selectStudents('watch', 7, generateTask(refs[0]), answers.map(([peerId, x]) => ({ peerId, text: `<answer>${x}</answer>` })));
    expect(view.questions[0].students).toEqual(expected.map((s) => ({ index: s.index, answer: s.answer, correct: s.correct })));
    for (const voter of [A, B, A]) deliver({ kind: 'vote', round: 7, peerId: voter, votes: [{ task: refs[0], peerId: C }] });
    expect(views.at(-1)!.voting).toEqual({ round: 7, votes: [{ voter: A, for: [C] }, { voter: B, for: [C] }] });
    expect(views.at(-1)!.decided).toBeNull();
    // two rounds on, round 7 is decided
    for (const r of [8, 9]) deliver({ kind: 'rollouts', round: r, peerId: A, rollouts: [{ task: gameTaskRefs('watch', r, config.tasks, config.questions)[0], completions: [{ text: '<answer>1</answer>', reward: 0 }] }], part: 0, parts: 1 });
    expect(views.at(-1)!.decided).toMatchObject({ round: 7, winners: [C], standings: [{ peerId: C, votes: 2 }] });
  });
});
