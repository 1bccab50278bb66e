// A Chromium page and a headless Node peer (WebRTC through node-datachannel) connect directly and trade
// rollouts through the shared e2e relay.
import { expect, test } from '@playwright/test';
import { closeAll, directPeers, e2eRelayAddrs, fullRounds, labConfig, openLab, type LabPage } from './network/lab.ts';
import { startNodePeer, type NodePeer } from './network/node-peer.ts';

const ROUND_MS = 3_000;

test('a page and a Node peer connect over WebRTC and trade rollouts', async ({ browser }) => {
  test.setTimeout(120_000);
  const config = labConfig('net-node', e2eRelayAddrs(), ROUND_MS);
  const labs: LabPage[] = [];
  let peer: NodePeer | null = null;
  try {
    peer = startNodePeer(config);
    const nodeId = await peer.peerId;
    labs.push(await openLab(browser, config));
    const page = labs[0];
    await expect.poll(() => directPeers(page), { timeout: 45_000 }).toContain(nodeId);
    await expect.poll(() => peer!.events.some((e) => (e.direct as { peerId?: string } | undefined)?.peerId === page.peerId), { timeout: 15_000 }).toBe(true);
    // the page hears the Node peer's rollouts, and the Node peer hears the page's, for 2 rounds each
    await expect.poll(async () => (await fullRounds(page, [nodeId])).length, { timeout: 6 * ROUND_MS + 10_000 }).toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => peer!.events.filter((e) => Array.isArray(e.received) && (e.received as string[]).includes(page.peerId)).length, { timeout: 6 * ROUND_MS + 10_000 })
      .toBeGreaterThanOrEqual(2);
    expect(peer.events.filter((e) => e.rejected)).toEqual([]);
    expect(page.errors).toEqual([]);
  } finally {
    await closeAll(labs);
    await peer?.stop();
  }
});
