// A Chromium page and a headless Node peer (WebRTC through node-datachannel) connect directly and trade
// rollouts through the shared e2e relay; two Node peers run the RL core's round runner over the libp2p
// Transport and train on each other's rollouts.
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

test('two Node peers run the RL round runner over libp2p and train on each other\'s rollouts', async () => {
  test.setTimeout(120_000);
  const config = labConfig('net-rl', e2eRelayAddrs(), 6_000);
  const peers = [startNodePeer(config, 100, ['--rl', '--questions', '2', '--external', '2']), startNodePeer(config, 100, ['--rl', '--questions', '2', '--external', '2'])];
  try {
    const ids = await Promise.all(peers.map((p) => p.peerId));
    type RlEvent = { round: number; rl?: { externalGroups: number; externalAvailable: number; meanReward: number }; received?: string[] };
    const trainedOnOther = (i: number) =>
      (peers[i].events as RlEvent[]).filter((e) => e.rl && e.rl.externalGroups > 0 && e.received?.includes(ids[1 - i])).length;
    // each trained at least twice with external groups that came from the other, re-derived and re-scored
    await expect.poll(() => Math.min(trainedOnOther(0), trainedOnOther(1)), { timeout: 90_000, intervals: [1_000] }).toBeGreaterThanOrEqual(2);
    for (const p of peers) {
      expect(p.events.filter((e) => e.rejected)).toEqual([]);
      for (const e of p.events as RlEvent[]) if (e.rl) expect(e.rl.meanReward).toBeGreaterThanOrEqual(0);
    }
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
});
