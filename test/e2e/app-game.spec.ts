// Three app pages on a game swarm (mode "game"): the landing card names the mode; each page's engine worker
// plays answer → critique → resolve on the swarm clock while the page gossips its stage messages over WebRTC;
// every dashboard shows the stage, its students and the same winners for a round. A conference screen on the
// same swarm (watch-only, no model) shows the students, the votes arriving and the winners. The swarm names a
// coordinator on a chain nobody answers for: every page (and the screen) says it fell back to the swarm clock,
// and plays on it.
import { createServer, type AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

test('three app pages play the swarm game in their workers and show the same winners', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  // a chain nobody answers for: a port this test holds, where every connection is dropped unanswered (a fixed
  // port could be taken by another test's server; this one cannot)
  const dead = createServer((socket) => socket.destroy());
  await new Promise<void>((listening) => dead.listen(0, '127.0.0.1', listening));
  const deadChain = { chainId: 31337, rpcUrl: `http://127.0.0.1:${(dead.address() as AddressInfo).port}`, coordinator: '0x00000000000000000000000000000000000000aa' as const };
  const param = encodeSwarmConfigParam({ ...rest, swarmId: 'e2e-app-game', mode: 'game', roundMs: 12_000, chain: deadChain });
  const opened: AppPage[] = [];
  try {
    const screen = await openApp(browser, `./?mode=screen&swarm=${param}`);
    opened.push(screen);
    const players = await Promise.all([0, 1, 2].map(() => openApp(browser, `./?backend=cpu&swarm=${param}`)));
    opened.push(...players);
    await Promise.all(players.map(peerIdOf));
    for (const app of players) await expect(app.page.getByTestId('swarm-mode')).toContainText('swarm game');
    for (const app of players) await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    for (const app of players) await app.page.getByTestId('contribute').click();
    for (const app of players) await expect(app.page.getByTestId('game-stage')).toContainText(/Round \d+: (answer|critique|resolve)/, { timeout: 60_000 });
    for (const app of players) await expect(app.page.getByTestId('game-pace')).toHaveText(/^stages: swarm clock \(chain unreachable: .+\)$/);
    // the three students of a question: every page's answer, ids hidden
    await expect.poll(async () => Math.min(...(await Promise.all(players.map((a) => a.page.getByTestId('game-students').first().locator('li').count())))), { timeout: 90_000 }).toBe(3);
    // a round decided the same way everywhere: same heading (round and winners) on all three dashboards
    await expect
      .poll(async () => {
        const headings = await Promise.all(players.map((a) => a.page.getByTestId('game-winners').locator('h3').textContent({ timeout: 1_000 }).catch(() => null)));
        return headings.every((h) => h !== null && h === headings[0]) ? headings[0] : headings.join(' | ');
      }, { timeout: 120_000, intervals: [2_000] })
      .toMatch(/^Round \d+ winners: …\w{6}/);
    // the screen heard the same game: three students on a question, three voters, a decided round's winners
    await expect.poll(() => screen.page.getByTestId('screen-game-students').first().locator('li').count(), { timeout: 30_000 }).toBe(3);
    await expect.poll(() => screen.page.getByTestId('screen-game-votes').locator('li').count(), { timeout: 30_000 }).toBe(3);
    await expect(screen.page.getByTestId('screen-game-winners')).toContainText(/Round \d+ winners: …\w{6}/, { timeout: 60_000 });
    await expect(screen.page.getByTestId('screen-game-chain')).toHaveText(/^Stages on the swarm clock \(chain unreachable: .+\)$/);
    expect(opened.flatMap((a) => a.errors)).toEqual([]);
  } finally {
    await closeAll(opened);
    await new Promise((closed) => dead.close(closed));
  }
});
