// A game tab reloaded mid-round plays on in the same round: after its critique of round N is checkpointed
// (weights + the game's snapshot, in the worker's OPFS store), the page reloads, rejoins by itself, says where
// it resumed, and the first stage it plays is round N's resolve, over the students it saw before the reload.
// Without the snapshot a reloaded tab sits round N out and its first stage is round N+1's answer.
import { expect, test } from '@playwright/test';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

test('a game tab reloaded after its critique resumes the round at its resolve', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  // 6 s stages: room for a reload and a model load inside the resolve stage on a loaded machine
  const param = encodeSwarmConfigParam({ ...rest, swarmId: 'e2e-app-game-resume', mode: 'game', roundMs: 18_000 });
  const opened: AppPage[] = [];
  try {
    const players = await Promise.all([0, 1].map(() => openApp(browser, `./?backend=cpu&swarm=${param}`)));
    opened.push(...players);
    await Promise.all(players.map(peerIdOf));
    for (const app of players) await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    for (const app of players) await app.page.getByTestId('contribute').click();
    const [a] = players;
    const stage = a.page.getByTestId('game-stage');
    // a critique this tab played with both tabs as students
    await expect
      .poll(async () => {
        const text = (await stage.textContent()) ?? '';
        const students = await a.page.getByTestId('game-students').first().locator('li').count().catch(() => 0);
        return /: critique/.test(text) && students === 2 ? text.trim() : '';
      }, { timeout: 120_000, intervals: [200] })
      .toMatch(/^Round \d+: critique$/);
    const round = Number(/Round (\d+)/.exec((await stage.textContent())!)![1]);
    // the stage is reported after it played; its checkpoint follows at once
    await a.page.waitForTimeout(500);
    await a.page.reload();
    await expect(a.page.getByTestId('contributing')).toContainText(`resumed at critique of round ${round}`, { timeout: 60_000 });
    // its first stage is round N's resolve, shown over the 2 students its critique saw (from the snapshot: the
    // page's view starts empty after the reload). Both are read at once: a later round's critique also shows
    // students, and an earlier version of this check was satisfied by round N + 1's
    await expect
      .poll(async () => {
        const text = ((await stage.textContent()) ?? '').trim();
        const students = await a.page.getByTestId('game-students').first().locator('li').count().catch(() => 0);
        return `${text} / ${students} students`;
      }, { timeout: 60_000, intervals: [200], message: "round N's resolve over the restored students" })
      .toBe(`Round ${round}: resolve / 2 students`);
    // and it plays on into later rounds (which one it is seen in depends on the load: a CI run first saw round
    // N+2, the students check above having waited out most of round N+1)
    await expect
      .poll(async () => Number(/Round (\d+)/.exec((await stage.textContent()) ?? '')?.[1] ?? -1), { timeout: 60_000, intervals: [200], message: 'the tab plays a round after the resumed one' })
      .toBeGreaterThan(round);
    expect(opened.flatMap((p) => p.errors)).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});
