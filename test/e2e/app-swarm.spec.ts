// The app's swarm views without training: peers' completions in the feed are text, never markup; the
// conference screen counts the pages that joined. (Training itself: app-contribute.spec.ts.)
import { expect, test } from '@playwright/test';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { roundTaskRefs } from '../../src/rl/round-tasks.ts';
import { generateTask, scoreCompletion } from '../../src/rl/tasks/index.ts';
import { runnerConfigFor } from '../../src/worker/plan.ts';
import { closeAll as closeLabs, openLab, snapshot, type LabPage } from './network/lab.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';
import { spawnRogue } from './network/rogue-process.ts';

const HOSTILE = '<img src=x onerror=alert(1)> and <script>alert(2)</script>';

test('a peer completion containing HTML is shown as text, and nothing runs', async ({ browser, baseURL }, testInfo) => {
  const config = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const apps: AppPage[] = [];
  const labs: LabPage[] = [];
  try {
    apps.push(await openApp(browser));
    await peerIdOf(apps[0]);
    // the lab only joins lab swarms (it publishes scripted traffic): this one says so for the same swarm id
    labs.push(await openLab(browser, { ...config, lab: true }));
    const lab = labs[0];
    // the app's round shape: the hostile text must ride on the sender's own tasks with honest claims, or
    // the app's validator rejects it before it gets anywhere near the feed
    const shape = runnerConfigFor({ modelUrl: '', swarmId: config.swarmId, peerId: lab.peerId, backend: 'cpu', resume: false, taskMix: config.taskMix });
    // the lab signs and publishes whatever it is given: here a well-formed rollouts message with hostile text
    await expect
      .poll(
        async () => {
          const round = (await snapshot(lab)).round;
          const [ref] = roundTaskRefs(config.swarmId, round, lab.peerId, shape.tasks, shape.questions);
          const task = generateTask(ref);
          const message = {
            v: 1, kind: 'rollouts', swarmId: config.swarmId, round, peerId: lab.peerId, nonce: Date.now() * 1000 + Math.floor(Math.random() * 1000),
            ts: Date.now(), part: 0, parts: 1,
            rollouts: [{ task: ref, completions: [HOSTILE, 'plain'].map((text) => ({ text, reward: scoreCompletion(task, text).reward })) }],
          };
          await lab.page.evaluate((m) => (window as unknown as { __lab: { publishJson(v: unknown): Promise<number> } }).__lab.publishJson(m), message);
          return apps[0].page.getByTestId('feed-text').filter({ hasText: '<img src=x onerror=alert(1)>' }).count();
        },
        { timeout: 60_000, intervals: [2_000] },
      )
      .toBeGreaterThan(0);
    const feed = apps[0].page.getByTestId('feed');
    await expect(feed.locator('img')).toHaveCount(0);
    await expect(feed.locator('script')).toHaveCount(0);
    await expect(feed.getByText(HOSTILE).first()).toBeVisible();
    await apps[0].page.waitForTimeout(500);
    expect(apps[0].dialogs).toEqual([]);
    expect(apps[0].errors).toEqual([]);
    await apps[0].page.screenshot({ path: testInfo.outputPath('dashboard-feed.png'), fullPage: true });
  } finally {
    await closeLabs(labs);
    await closeAll(apps);
  }
});

test('the conference screen counts two joined pages, their rollouts and contributors, with a QR code of the join link', async ({ browser }, testInfo) => {
  test.setTimeout(180_000);
  const opened: AppPage[] = [];
  try {
    const screen = await openApp(browser, './?mode=screen');
    opened.push(screen);
    await expect(screen.page.getByTestId('join-qr').locator('svg')).toBeVisible({ timeout: 30_000 });
    await expect(screen.page.getByTestId('join-url')).toHaveText(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // the CPU backend keeps two training pages light on a small machine; WebGPU is app-contribute.spec.ts' job
    opened.push(await openApp(browser, './?backend=cpu'), await openApp(browser, './?backend=cpu'));
    const ids = await Promise.all(opened.slice(1).map(peerIdOf));
    await expect(screen.page.getByTestId('screen-peers')).toHaveText('2', { timeout: 60_000 });
    const joined = screen.page.getByTestId('screen-joined');
    for (const id of ids) await expect(joined).toContainText(id.slice(-10));

    // both pages contribute: the screen counts what they publish and ranks them; each sees the other's text
    for (const app of opened.slice(1)) await app.page.getByTestId('contribute').click();
    await expect(screen.page.getByTestId('screen-top').locator('li')).toHaveCount(2, { timeout: 90_000 });
    await expect.poll(async () => Number(await screen.page.getByTestId('screen-rollouts').textContent()), { timeout: 30_000 }).toBeGreaterThanOrEqual(8);
    await expect(screen.page.getByTestId('screen-reward-chart-table').locator('tbody tr')).not.toHaveCount(0);
    await expect(opened[1].page.getByTestId('feed-text').first()).toBeVisible({ timeout: 60_000 });
    // the worker got the other page's rollouts and re-scored them: the "peers (re-scored)" column fills in
    // (at the latest in the next round, when both pages start together on the swarm clock)
    const rescored = (page: AppPage['page']) =>
      page.getByTestId('reward-chart-table').locator('tbody tr td:nth-child(3)').allTextContents().then((c) => c.filter((x) => x !== '—'));
    await expect.poll(() => rescored(opened[1].page), { timeout: 60_000, intervals: [1_000] }).not.toEqual([]);
    // held-out accuracy travels in heartbeats: the screen plots the swarm's and says how far it climbed,
    // beside the lone-tab figure served with the app; each page plots its peer's as a numeric point
    await expect(screen.page.getByTestId('screen-heldout-chart-table').locator('tbody tr')).not.toHaveCount(0, { timeout: 60_000 });
    await expect(screen.page.getByTestId('screen-heldout-gain')).toHaveText(/^[+-]?\d+ points$/);
    await expect(screen.page.getByTestId('screen-solo-gain')).toHaveText(/^[+-]?\d+ points$/);
    const peersHeldOut = (page: AppPage['page']) =>
      page.getByTestId('heldout-chart-table').locator('tbody tr td:nth-child(4)').allTextContents().then((c) => c.filter((x) => x !== '—').map(Number));
    await expect.poll(() => peersHeldOut(opened[1].page), { timeout: 60_000, intervals: [1_000] }).not.toEqual([]);
    expect((await peersHeldOut(opened[1].page)).every((a) => a >= 0 && a <= 1)).toBe(true);
    // the swarm model: this page's weights and its peer's, fetched over the weight protocol and averaged
    await opened[1].page.evaluate(() => Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true }));
    // a user whose try found no peer serving yet tries again, every 5 s while nothing is in flight (a CI run's one
    // try once found none)
    const status = opened[1].page.getByTestId('swarm-model-status');
    const tries: string[] = [];
    await expect.poll(async () => {
      const text = (await status.count()) > 0 ? ((await status.textContent()) ?? '') : '';
      if (!text.includes('the mean of 2 models') && !text.includes('fetching')) {
        if (text) console.log(`swarm model, try ${tries.push(text)}: ${text}`);
        await opened[1].page.getByTestId('download-swarm-model').click();
      }
      return text;
    }, { timeout: 90_000, intervals: [5_000], message: "this page's weights and its peer's, averaged" }).toContain('the mean of 2 models');
    await screen.page.setViewportSize({ width: 1600, height: 900 });
    await screen.page.screenshot({ path: testInfo.outputPath('conference-screen.png'), fullPage: true });
    expect(screen.errors).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});

test('with periodic averaging on, two pages average their weights over the weight protocol every 2 rounds', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  const param = encodeSwarmConfigParam({ ...rest, swarmId: 'e2e-average', averageEveryRounds: 2 });
  const opened: AppPage[] = [];
  try {
    opened.push(await openApp(browser, `./?backend=cpu&swarm=${param}`), await openApp(browser, `./?backend=cpu&swarm=${param}`));
    await Promise.all(opened.map(peerIdOf));
    for (const app of opened) await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    for (const app of opened) await app.page.getByTestId('contribute').click();
    // each page fetched its peer's weights (hash-checked) and its worker took the mean between two rounds
    for (const app of opened) await expect(app.page.getByText(/Averaged with a peer after round \d+ \(every 2 rounds\)/)).toBeVisible({ timeout: 120_000 });
    expect(opened.flatMap((a) => a.errors)).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});

test('a peer serving wrecked weights is refused by the average guard, and the page trains on', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  const param = encodeSwarmConfigParam({ ...rest, swarmId: 'e2e-average-rogue', averageEveryRounds: 2 });
  const events: Record<string, unknown>[] = [];
  const rogue = spawnRogue(['--config', param, '--seconds', '200', '--scale', '3'], events, 'test/e2e/network/weights-rogue.ts');
  const opened: AppPage[] = [];
  try {
    await expect.poll(() => events.find((e) => e.rogue)?.rogue, { timeout: 90_000 }).toBeTruthy();
    const app = await openApp(browser, `./?backend=cpu&swarm=${param}`);
    opened.push(app);
    await peerIdOf(app);
    await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    await app.page.getByTestId('contribute').click();
    // the only other peer is the rogue: the page fetches its weights (the protocol accepts them) and the worker refuses the mean
    await expect(app.page.getByText(/averaging with peers skipped: the mean answers the probe worse than this tab.s model and the swarm.s start/).first()).toBeVisible({ timeout: 150_000 });
    expect(events.some((e) => typeof e.fetched === 'number')).toBe(true);
    await expect(app.page.getByText(/Averaged with a peer after round/)).toHaveCount(0);
    // and it trains on: more rounds complete after the refusal
    const lastRound = async () => Number((await app.page.getByTestId('round').textContent())?.match(/\d+/)?.[0] ?? 0);
    const before = await lastRound();
    await expect.poll(lastRound, { timeout: 60_000 }).toBeGreaterThan(before);
    expect(app.errors).toEqual([]);
  } finally {
    await closeAll(opened);
    rogue.child.kill('SIGTERM');
  }
});

test('bad input gets a named, readable error and the page keeps working', async ({ browser }) => {
  const opened: AppPage[] = [];
  try {
    const broken = await openApp(browser, './?swarm=not-base64-json');
    opened.push(broken);
    await expect(broken.page.getByTestId('session-error')).toContainText('swarm URL parameter is not base64url JSON');
    await expect(broken.page.getByTestId('contribute')).toBeDisabled();

    const app = await openApp(browser);
    opened.push(app);
    await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    await app.page.getByText('Choose another model').click();
    await app.page.getByRole('textbox').fill('../../etc/passwd');
    await app.page.getByTestId('contribute').click();
    await expect(app.page.getByTestId('join-error')).toContainText('ModelSourceError');
    // a folder that does not exist: the download fails with the URL and status, and the button works again
    await app.page.getByRole('textbox').fill('no-such-model');
    await app.page.getByTestId('contribute').click();
    await expect(app.page.getByTestId('join-error')).toContainText(/no config\.json|HTTP 404/);
    await expect(app.page.getByTestId('contribute')).toBeEnabled();
    expect([...broken.errors, ...app.errors]).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});
