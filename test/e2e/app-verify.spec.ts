// Verified work between two contributing app pages (real worker, CPU backend) and a model-free rogue Node
// peer (rogue-peer.ts --model-free): the rogue publishes committed answer keys under the swarm's public
// starting weights, serves those weights and answers every challenge. With every complete batch challenged
// (verifyRate 1), each page must fail the rogue with a sampler reason, penalise it and leave it out of J,
// while the two honest pages verify each other with no false failure. Outcomes, never timings.
import type { ChildProcess } from 'node:child_process';
import { spawnRogue } from './network/rogue-process.ts';
import { expect, test, type Page } from '@playwright/test';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

const ATTACK_SECONDS = 60;

interface Counts {
  challenged: number;
  verified: number;
  failed: number;
}

async function counts(page: Page): Promise<Counts> {
  const el = page.getByTestId('verify-counts');
  const n = async (k: string) => Number(await el.getAttribute(`data-${k}`));
  return { challenged: await n('challenged'), verified: await n('verified'), failed: await n('failed') };
}

const failures = async (page: Page) => (await page.getByTestId('verify-failures').count()) === 0 ? '' : ((await page.getByTestId('verify-failures').textContent()) ?? '');
const trainedOn = async (page: Page) => {
  const el = page.getByTestId('external-by-peer');
  if ((await el.count()) === 0) return null;
  return { round: Number(await el.getAttribute('data-round')), counts: JSON.parse((await el.getAttribute('data-counts')) ?? '{}') as Record<string, number> };
};
const scores = async (page: Page) => JSON.parse((await page.getByTestId('trust').getAttribute('data-scores')) ?? '{}') as Record<string, number | null>;
const peerBadge = (page: Page, id: string) => page.getByTestId('peer-list').locator('li', { has: page.locator(`code[title="${id}"]`) }).getByTestId('verify-badge');

test('a model-free rogue is challenged, fails, is penalised and left out of J; two honest pages verify each other', async ({ browser, baseURL }) => {
  test.setTimeout(900_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  const config = { ...rest, swarmId: `e2e-verify-${Date.now()}`, verifyRate: 1 };
  const param = encodeSwarmConfigParam(config);
  const apps: AppPage[] = [];
  const events: Record<string, unknown>[] = [];
  let child: ChildProcess | null = null;
  try {
    apps.push(await openApp(browser, `./?backend=cpu&swarm=${param}`), await openApp(browser, `./?backend=cpu&swarm=${param}`));
    const ids = await Promise.all(apps.map(peerIdOf));
    for (const app of apps) await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 90_000 });
    for (const app of apps) await app.page.getByTestId('contribute').click();
    // the honest pages check each other before the rogue comes: verified, never failed
    for (const app of apps) await expect.poll(async () => (await counts(app.page)).verified, { timeout: 240_000, intervals: [1_000] }).toBeGreaterThan(0);
    for (const app of apps) expect((await counts(app.page)).failed).toBe(0);

    const rogue = spawnRogue(['--config', param, '--seconds', String(ATTACK_SECONDS), '--targets', ids.join(','), '--model-free', '--link-seconds', '300'], events);
    child = rogue.child;
    await expect.poll(() => events.find((e) => e.rogue)?.rogue, { timeout: 120_000 }).toBeTruthy();
    const rogueId = events.find((e) => e.rogue)!.rogue as string;
    await expect.poll(() => events.some((e) => e.linked), { timeout: 320_000 }).toBe(true);

    // each page challenges the rogue and fails it on the seeded sampler (its logprobs are the real ones)
    for (const app of apps) {
      await expect.poll(() => failures(app.page), { timeout: ATTACK_SECONDS * 1000 + 60_000, intervals: [1_000] }).toContain(rogueId.slice(-8));
      const text = await failures(app.page);
      expect(text).toMatch(/seeded uniform|outside the top-k|greedy sampling cannot choose/);
      await expect(peerBadge(app.page, rogueId)).toHaveAttribute('data-status', 'failed', { timeout: 30_000 });
    }
    // its own signed reveal failing is conclusive: it is left out of training, and no later round trains on it
    for (const app of apps) await expect(app.page.getByTestId('peer-excluded')).toHaveCount(1, { timeout: ATTACK_SECONDS * 1000 + 60_000 });
    for (const [i, app] of apps.entries()) {
      const excludedAt = (await trainedOn(app.page))?.round ?? 0;
      await expect.poll(async () => ((await trainedOn(app.page))?.round ?? 0) > excludedAt + 1, { timeout: 120_000, intervals: [1_000] }).toBe(true);
      const later = (await trainedOn(app.page))!;
      expect(later.counts[rogueId] ?? 0, `round ${later.round} trained on the rogue`).toBe(0);
      // penalised in gossip score; the honest peer is not
      const s = await scores(app.page);
      if (s[rogueId] != null) expect(s[rogueId]).toBeLessThan(0);
      expect(s[ids[1 - i]] ?? 0).toBeGreaterThanOrEqual(0);
      // no false failure: the honest peer never appears among the failures, and stays verified
      expect(await failures(app.page)).not.toContain(ids[1 - i].slice(-8));
      // what this page's checks recorded of the honest peer (the peers list shows it while it is on the topic)
      const records = JSON.parse((await app.page.getByTestId('verify-counts').getAttribute('data-peers')) ?? '{}') as Record<string, { verified: number; failed: number; excluded: boolean }>;
      expect(records[ids[1 - i]]).toMatchObject({ failed: 0, excluded: false });
      expect(records[ids[1 - i]].verified).toBeGreaterThan(0);
      expect(records[rogueId]).toMatchObject({ excluded: true });
      expect(app.errors).toEqual([]);
    }
    const answered = events.filter((e) => e.counts).at(-1)?.counts as { challenged: number } | undefined;
    expect(answered?.challenged ?? 0, 'the rogue answered challenges (it failed on content, not silence)').toBeGreaterThan(0);
  } finally {
    if (process.env.ROGUE_DEBUG) {
      console.log(JSON.stringify({ events: events.slice(-5) }).slice(0, 4000));
      for (const app of apps) {
        const el = app.page.getByTestId('verify-counts');
        console.log(await el.evaluate((e) => JSON.stringify({ ...(e as HTMLElement).dataset, text: e.textContent })).catch(() => 'no counts'));
        console.log(await failures(app.page).catch(() => 'no failures'));
        console.log((await app.page.getByTestId('trust').textContent().catch(() => '')) ?? '');
      }
    }
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await closeAll(apps);
  }
});
