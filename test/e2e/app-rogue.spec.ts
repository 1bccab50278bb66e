// Trust boundaries against two contributing app pages (real worker, real training on the CPU backend), not
// lab pages: the rogue Node peer (test/e2e/network/rogue-peer.ts --app) and a bounded set of fresh-key sybils
// send oversize batches, off-seed tasks, forged claims, one batch re-sent 40 times, clock-shifting heartbeats,
// valid app-shaped batches from every sybil (they reach J), and a verbatim replay of each page's own signed
// message to the other page. Both pages must keep completing rounds, show the refusals on the dashboard,
// train on no peer's groups beyond its B per round, keep the replayed author's score and its messages
// accepted, stay under a heap bound; the relay stays up. Outcomes, never timings.
import type { ChildProcess } from 'node:child_process';
import { spawnRogue } from './network/rogue-process.ts';
import { expect, test, type Page } from '@playwright/test';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { runnerConfigFor } from '../../src/worker/plan.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

const SYBILS = 8;
const ATTACK_SECONDS = 30;
/** an app page's JS heap stays under this through the attack (a training CPU page sits well below it) */
const HEAP_BOUND_BYTES = 200 * 1024 * 1024;

interface TrainedRound {
  round: number;
  counts: Record<string, number>;
}

async function trainedRound(page: Page): Promise<TrainedRound | null> {
  const el = page.getByTestId('external-by-peer');
  if ((await el.count()) === 0) return null;
  const [round, counts] = await Promise.all([el.getAttribute('data-round'), el.getAttribute('data-counts')]);
  return { round: Number(round), counts: JSON.parse(counts ?? '{}') as Record<string, number> };
}

const refused = async (page: Page) => Number(await page.getByTestId('trust-refused').textContent());
const accepted = async (page: Page) => Number(await page.getByTestId('trust-accepted').textContent());
const scores = async (page: Page) => JSON.parse((await page.getByTestId('trust').getAttribute('data-scores')) ?? '{}') as Record<string, number | null>;
const heap = (page: Page) => page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);

test('a rogue peer and its sybils cannot steer, starve or exhaust two contributing app pages', async ({ browser, baseURL }) => {
  test.setTimeout(720_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  const config = { ...rest, swarmId: `e2e-rogue-app-${Date.now()}` };
  const shape = runnerConfigFor({ modelUrl: '', swarmId: config.swarmId, peerId: '', backend: 'cpu', resume: false, taskMix: config.taskMix });
  const B = shape.questions;
  const param = encodeSwarmConfigParam(config);
  const apps: AppPage[] = [];
  const events: Record<string, unknown>[] = [];
  const seen = new Map<string, TrainedRound[]>();
  let child: ChildProcess | null = null;
  const record = async (app: AppPage, id: string) => {
    const r = await trainedRound(app.page).catch(() => null);
    if (!r) return;
    const list = seen.get(id) ?? [];
    if (!list.some((x) => x.round === r.round)) list.push(r);
    seen.set(id, list);
  };
  try {
    apps.push(await openApp(browser, `./?backend=cpu&swarm=${param}`), await openApp(browser, `./?backend=cpu&swarm=${param}`));
    const ids = await Promise.all(apps.map(peerIdOf));
    for (const app of apps) await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 90_000 });
    for (const app of apps) await app.page.getByTestId('contribute').click();
    // training before the attack: each page has finished a round and trained on its peer's groups
    for (const [i, app] of apps.entries()) {
      await expect.poll(async () => (await record(app, ids[i]), (seen.get(ids[i]) ?? []).some((r) => (r.counts[ids[1 - i]] ?? 0) > 0)), { timeout: 180_000, intervals: [1_000] }).toBe(true);
    }
    const heapBefore = await Promise.all(apps.map((x) => heap(x.page)));
    const roundBefore = await Promise.all(apps.map(async (x) => (await trainedRound(x.page))!.round));

    const rogue = spawnRogue(['--config', param, '--sybils', String(SYBILS), '--seconds', String(ATTACK_SECONDS), '--targets', ids.join(','), '--app', '--link-seconds', '300'], events);
    child = rogue.child;
    const exited = rogue.exited;
    await expect.poll(() => events.find((e) => e.rogue)?.rogue, { timeout: 120_000 }).toBeTruthy();
    const rogueId = events.find((e) => e.rogue)!.rogue as string;
    // generous: a WebRTC handshake with a page that is training on a loaded 2-core machine can take retries
    await expect.poll(() => events.some((e) => e.linked), { timeout: 320_000 }).toBe(true);
    expect(events.find((e) => e.linked)!.linked).toEqual(expect.arrayContaining(ids));
    await expect.poll(() => (events.find((e) => e.sybils)?.sybils as string[] | undefined)?.length, { timeout: 120_000 }).toBe(SYBILS);

    // while the attack runs: keep reading what each page trained on, round by round
    const refusedBefore = await Promise.all(apps.map((x) => refused(x.page)));
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    await expect.poll(async () => {
      for (const [i, app] of apps.entries()) await record(app, ids[i]);
      return code !== undefined;
    }, { timeout: ATTACK_SECONDS * 1000 + 120_000, intervals: [1_000] }).toBe(true);
    expect(code).toBe(0);
    const done = events.find((e) => e.done)?.done as Record<string, number>;
    for (const what of ['oversize', 'offSeed', 'claims', 'resent', 'clock', 'sybilClock', 'sybilRollouts', 'replayed']) expect(done[what], what).toBeGreaterThan(0);

    // the refusals are on the dashboard, with their reasons
    for (const [i, app] of apps.entries()) {
      await expect.poll(() => refused(app.page), { timeout: 30_000 }).toBeGreaterThan(refusedBefore[i]);
      await expect(app.page.getByTestId('trust-recent')).not.toBeEmpty();
    }

    // both pages keep completing rounds and keep training on each other's groups, after the attack too
    const acceptedAfter = await Promise.all(apps.map((x) => accepted(x.page)));
    for (const [i, app] of apps.entries()) {
      const attackEnd = (await trainedRound(app.page))!.round;
      await expect.poll(async () => {
        await record(app, ids[i]);
        return (seen.get(ids[i]) ?? []).filter((r) => r.round > attackEnd && (r.counts[ids[1 - i]] ?? 0) > 0).length;
      }, { timeout: 240_000, intervals: [1_000] }).toBeGreaterThanOrEqual(1);
      expect((seen.get(ids[i]) ?? []).filter((r) => r.round > roundBefore[i]).length).toBeGreaterThanOrEqual(2);
    }

    for (const [i, app] of apps.entries()) {
      const rounds = seen.get(ids[i]) ?? [];
      for (const r of rounds) {
        // J is shared out per peer: nobody, rogue or sybil or honest, beyond its B groups in a round
        for (const [peer, groups] of Object.entries(r.counts)) expect(groups, `${peer} in round ${r.round}`).toBeLessThanOrEqual(B);
      }
      // the replayed author paid nothing and is still heard: score not below zero, messages still accepted
      const s = await scores(app.page);
      expect(s[ids[1 - i]] ?? 0).toBeGreaterThanOrEqual(0);
      if (s[rogueId] != null) expect(s[rogueId]).toBeLessThan(0);
      await expect.poll(() => accepted(app.page), { timeout: 30_000 }).toBeGreaterThan(acceptedAfter[i]);
      expect(app.errors).toEqual([]);
    }
    const heapAfter = await Promise.all(apps.map((x) => heap(x.page)));
    test.info().annotations.push({ type: 'heap', description: `before ${heapBefore.map((h) => (h / 2 ** 20).toFixed(1))} MiB, after ${heapAfter.map((h) => (h / 2 ** 20).toFixed(1))} MiB` });
    for (const [i, h] of heapAfter.entries()) expect(h, `heap of page ${i} (before: ${heapBefore[i]})`).toBeLessThan(HEAP_BOUND_BYTES);
    // the relay stayed up: both pages still hold their relay link
    for (const app of apps) await expect(app.page.getByTestId('relay-status').locator('.ok')).toHaveText('connected', { timeout: 20_000 });
  } finally {
    if (process.env.ROGUE_DEBUG) console.log(JSON.stringify({ events: events.slice(-5), seen: Object.fromEntries(seen) }).slice(0, 4000));
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await closeAll(apps);
  }
});
