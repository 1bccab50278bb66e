// Three Chromium pages and a relay: every pair connects directly over WebRTC and they trade rollouts each
// round; the relay is killed and rounds go on over the direct links; the relay restarts (same key, same
// address) and a fourth page joins through it.
import { expect, test } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRelayProcess, type RelayProcess } from '../../scripts/lib/relay-process.ts';
import { closeAll, expectFullMesh, fullRounds, labConfig, openLab, snapshot, type LabPage } from './network/lab.ts';

const RELAY_PORT = 9391;
const ROUND_MS = 3_000;

test('3 pages trade rollouts directly, survive the relay dying, and a 4th joins after it restarts', async ({ browser }) => {
  test.setTimeout(180_000);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tabswarm-relay-')), 'relay.key');
  let relay: RelayProcess | null = await startRelayProcess({ port: RELAY_PORT, swarmId: 'net-mesh', keyFile });
  const config = labConfig('net-mesh', relay.multiaddrs, ROUND_MS);
  const labs: LabPage[] = [];
  try {
    const started = Date.now();
    labs.push(...(await Promise.all([0, 1, 2].map(() => openLab(browser, config)))));
    await expectFullMesh(labs);
    console.log(`3 pages fully meshed over WebRTC ${Date.now() - started} ms after opening`);
    for (const lab of labs) {
      const s = await snapshot(lab);
      for (const other of labs) {
        if (other === lab) continue;
        const links = s.links.filter((l) => l.peerId === other.peerId && l.direct);
        expect(links.length, `${lab.peerId} -> ${other.peerId}`).toBeGreaterThan(0);
        expect(links[0].addr).toMatch(/\/webrtc(\/|$)/);
      }
    }

    // rollouts traded for at least 3 rounds, each page hearing from both others
    const meshRound = (await snapshot(labs[0])).round;
    await expect
      .poll(async () => Math.min(...(await Promise.all(labs.map((lab) => fullRounds(lab, labs.filter((o) => o !== lab).map((o) => o.peerId), meshRound).then((r) => r.length))))), {
        timeout: 8 * ROUND_MS + 10_000,
        intervals: [1_000],
      })
      .toBeGreaterThanOrEqual(3);

    // kill the relay: the direct links keep carrying rollouts
    relay.process.kill('SIGKILL');
    await relay.stop();
    relay = null;
    await expect.poll(() => snapshot(labs[0]).then((s) => s.relayConnected), { timeout: 15_000 }).toBe(false);
    const afterKill = (await snapshot(labs[0])).round + 1;
    await expect
      .poll(async () => Math.min(...(await Promise.all(labs.map((lab) => fullRounds(lab, labs.filter((o) => o !== lab).map((o) => o.peerId), afterKill).then((r) => r.length))))), {
        timeout: 6 * ROUND_MS + 10_000,
        intervals: [1_000],
      })
      .toBeGreaterThanOrEqual(2);

    // the relay comes back with the same identity; pages reconnect; a 4th page joins the mesh through it
    relay = await startRelayProcess({ port: RELAY_PORT, swarmId: 'net-mesh', keyFile });
    expect(relay.multiaddrs).toEqual(config.relayAddrs);
    await expect.poll(async () => (await Promise.all(labs.map((l) => snapshot(l).then((s) => s.relayConnected)))).every(Boolean), { timeout: 30_000 }).toBe(true);
    labs.push(await openLab(browser, config));
    await expectFullMesh(labs, 90_000);
    const joinRound = (await snapshot(labs[3])).round + 1;
    await expect
      .poll(async () => (await fullRounds(labs[3], labs.slice(0, 3).map((l) => l.peerId), joinRound)).length, { timeout: 6 * ROUND_MS + 10_000, intervals: [1_000] })
      .toBeGreaterThanOrEqual(1);
    for (const lab of labs) expect(lab.errors).toEqual([]);
  } finally {
    await closeAll(labs);
    await relay?.stop();
  }
});
