// Three lab pages play the swarm game (mode "game") over real WebRTC gossip: each runs the shipped model on
// the CPU in the page, the swarm clock drives answer → critique → resolve, and they must agree on the
// students, the majority and the winners of full rounds (every page heard every other). A late critique, an
// oversized one and a schema-broken one are dropped, each with its reason.
import { expect, test } from '@playwright/test';
import { parseSwarmConfig } from '../../src/swarm/config.ts';
import type { GameView, RoundRow } from '../../src/app/lib/game-view.ts';
import { closeAll, e2eRelayAddrs, expectFullMesh, openLab, snapshot, type LabPage } from './network/lab.ts';

// 4 s a stage: three pages sample and step on one shared 2-core machine
const ROUND_MS = 12_000;

async function gameOf(lab: LabPage): Promise<GameView> {
  const s = await snapshot(lab);
  if (!s.game) throw new Error(`${lab.peerId} is not playing the game`);
  return s.game;
}

/**
 * A round every page played to its votes, with all three pages' answers as students on every question and
 * the same critiques in on every page (a critique that lands after a page's resolve opened is dropped there
 * as late, and that page's picks differ: such rounds are not full).
 */
function fullRound(views: GameView[], round: number): RoundRow[] | null {
  const rows = views.map((v) => v.rounds.find((r) => r.round === round));
  if (rows.some((r) => !r || r.votes.length === 0 || r.questions.length === 0)) return null;
  if (!rows.every((r) => r!.questions.every((q) => q.students.length === 3))) return null;
  const picks = new Set(rows.map((r) => JSON.stringify(r!.questions.map((q) => [...q.picks].sort()))));
  return picks.size === 1 ? (rows as RoundRow[]) : null;
}

test('three pages play game rounds over WebRTC and agree on the majority and the winners; bad critiques are dropped with reasons', async ({ browser }) => {
  test.setTimeout(300_000);
  const config = parseSwarmConfig({ swarmId: 'e2e-game', mode: 'game', relayAddrs: e2eRelayAddrs(), local: true, lab: true, roundMs: ROUND_MS, genesisMs: 0 });
  const labs: LabPage[] = [];
  try {
    labs.push(...(await Promise.all([0, 1, 2].map(() => openLab(browser, config)))));
    await expectFullMesh(labs);
    const meshRound = (await gameOf(labs[0])).position?.round ?? 0;

    // bad critiques from page 0, while the game runs: one for the round before (late by the time it lands),
    // one too long, one that breaks the schema (no `about`)
    const keyTask = (key: string) => {
      const [family, difficulty, seed] = key.split('/');
      return { family, seed: Number(seed), difficulty: Number(difficulty) };
    };
    let rows: { now: number; cur: RoundRow; prev: RoundRow } | null = null;
    await expect
      .poll(async () => {
        const v = await gameOf(labs[0]);
        const now = v.position?.round ?? -1;
        const cur = v.rounds.find((r) => r.round === now && r.questions.length > 0);
        const prev = v.rounds.find((r) => r.round === now - 1 && r.questions.length > 0);
        rows = cur && prev && now > meshRound ? { now, cur, prev } : null;
        return rows !== null;
      }, { timeout: 4 * ROUND_MS })
      .toBe(true);
    const { now, cur, prev } = rows!;
    await labs[0].page.evaluate(
      async ({ late, current, now, about }) => {
        const lab = (window as unknown as { __lab: { header(o?: object): object; publishJson(v: unknown): Promise<number> } }).__lab;
        await lab.publishJson({ ...lab.header({ round: now - 1 }), kind: 'critique', task: late, about, text: '<identify>Student #1</identify>' });
        await lab.publishJson({ ...lab.header({ round: now }), kind: 'critique', task: current, about, text: `<identify>Student #1</identify>${'x'.repeat(2_000)}` });
        await lab.publishJson({ ...lab.header({ round: now }), kind: 'critique', task: current, text: '<identify>Student #1</identify>' });
      },
      { late: keyTask(prev.questions[0].key), current: keyTask(cur.questions[0].key), now, about: labs[1].peerId },
    );
    for (const lab of labs.slice(1)) {
      await expect.poll(async () => (await gameOf(lab)).drops.map((d) => d.reason).join('\n'), { timeout: 2 * ROUND_MS }).toMatch(/more than 1024 characters/);
      const drops = (await gameOf(lab)).drops.filter((d) => d.from === labs[0].peerId.slice(0, 64)).map((d) => d.reason);
      expect(drops.some((r) => /^late: critique of round \d+ closed/.test(r)), drops.join('; ')).toBe(true);
      const rejections = (await snapshot(lab)).rejections.filter((r) => r.from === labs[0].peerId).map((r) => r.reason);
      expect(rejections).toContain('about must be a string');
    }

    // two full rounds: every page saw the same students (same order, same answers), the same picks and
    // majority, and counts the same winners once every vote is in
    const agreed: number[] = [];
    await expect
      .poll(
        async () => {
          const views = await Promise.all(labs.map(gameOf));
          const last = Math.min(...views.map((v) => v.position?.round ?? 0));
          for (let round = meshRound + 1; round < last; round++) {
            if (agreed.includes(round)) continue;
            const rows = fullRound(views, round);
            // not yet: a page has not played it through, or votes are still arriving
            if (!rows || rows.some((r) => r.standings.reduce((s, x) => s + x.votes, 0) < 3 * r.questions.length)) continue;
            const shape = (r: RoundRow) => JSON.stringify(r.questions.map((q) => ({ s: q.students.map((s) => [s.index, s.answer, s.correct]), m: q.majority })));
            expect(new Set(rows.map(shape)).size, `round ${round}: students and majority`).toBe(1);
            const winners = rows.map((r) => JSON.stringify(r.winners));
            expect(new Set(winners).size, `round ${round}: winners ${winners.join(' | ')}`).toBe(1);
            expect(rows[0].winners.length).toBeGreaterThan(0);
            agreed.push(round);
          }
          return agreed.length;
        },
        { timeout: 12 * ROUND_MS, intervals: [2_000] },
      )
      .toBeGreaterThanOrEqual(2);
    console.log(`game rounds agreed by all three pages: ${agreed.join(', ')} (mesh at round ${meshRound})`);
    const views = await Promise.all(labs.map(gameOf));
    for (const v of views) expect(v.rewards.answer.length).toBeGreaterThan(2);
    for (const lab of labs) expect(lab.errors).toEqual([]);
  } finally {
    await closeAll(labs);
  }
});
