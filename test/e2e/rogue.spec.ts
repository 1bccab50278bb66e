// Trust boundaries against a live rogue: a Node peer made with the project's own node factory, joined via
// the relay, publishing hostile-but-valid raw bytes through pubsub (oversize batches, off-seed tasks, forged
// claims, a part re-sent 40 times, clock-shifting heartbeats, old rounds) plus a bounded number of fresh-key
// sybils doing the same and flooding J. Two lab pages (the real libp2p node, validator, gossip transport and
// round loop the app uses) must keep completing rounds with each other, show the rejections with their
// reasons, keep at most the swarm's B groups per round from any one sender, keep their clocks, stay under a
// stated heap bound, and the relay must stay up. Outcomes, not timings.
import type { ChildProcess } from 'node:child_process';
import { spawnRogue } from './network/rogue-process.ts';
import { expect, test } from '@playwright/test';
import { encodeSwarmConfigParam } from '../../src/swarm/config.ts';
import { closeAll, e2eRelayAddrs, expectFullMesh, fullRounds, labConfig, openLab, snapshot, type LabPage } from './network/lab.ts';

const ROUND_MS = 4_000;
const SYBILS = 8;
const ATTACK_SECONDS = 40;
/** the swarm's B for lab swarms (src/app/lab/demo-rollouts.ts DEMO_SHAPE) */
const B = 2;
/** a lab page's JS heap stays under this during the attack (it starts around 10-20 MB) */
const HEAP_BOUND_BYTES = 120 * 1024 * 1024;

test('a rogue peer and its sybils cannot steer, starve, exhaust or shift two pages', async ({ browser }) => {
  test.setTimeout(420_000);
  const config = labConfig('net-rogue', e2eRelayAddrs(), ROUND_MS);
  const labs: LabPage[] = [];
  const events: Record<string, unknown>[] = [];
  let child: ChildProcess | null = null;
  try {
    labs.push(await openLab(browser, config), await openLab(browser, config));
    const [a, b] = labs;
    await expectFullMesh(labs);
    const heapBefore = await Promise.all(labs.map((l) => l.page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0)));

    const rogue = spawnRogue(['--config', encodeSwarmConfigParam(config), '--sybils', String(SYBILS), '--seconds', String(ATTACK_SECONDS), '--targets', `${a.peerId},${b.peerId}`], events);
    child = rogue.child;
    const exited = rogue.exited;
    // generous: the rogue and its sybils each start a libp2p node, slow on a loaded 2-core machine
    await expect.poll(() => events.find((e) => e.rogue)?.rogue, { timeout: 120_000 }).toBeTruthy();
    const rogueId = events.find((e) => e.rogue)!.rogue as string;
    await expect.poll(() => events.some((e) => e.linked), { timeout: 180_000 }).toBe(true);
    // the attack only means something if it reaches both pages
    expect(events.find((e) => e.linked)!.linked).toEqual(expect.arrayContaining([a.peerId, b.peerId]));
    const attackRound = (await snapshot(a)).round;

    // both pages refuse each attack with its reason
    const expected = ["the swarm's B is 2", "not one of the sender's tasks", 'claimed reward 1000000', 'rate budget exceeded'];
    // (the page keeps its latest 200 rejections: reasons are gathered across polls)
    for (const lab of labs) {
      const seen = new Set<string>();
      await expect
        .poll(async () => {
          for (const r of (await snapshot(lab)).rejections) if (r.from === rogueId) seen.add(r.reason);
          return expected.filter((e) => ![...seen].some((r) => r.includes(e)));
        }, { timeout: 60_000, intervals: [250] })
        .toEqual([]);
    }
    expect(await exited).toBe(0);
    const done = events.find((e) => e.done)?.done as Record<string, number>;
    // the attacks really left the rogue (gossipsub had someone to send them to)
    for (const what of ['oversize', 'offSeed', 'claims', 'resent', 'clock', 'sybilClock', 'sybilRollouts']) expect(done[what], what).toBeGreaterThan(0);

    // both pages keep completing rounds with each other, after the attack as during it
    const after = (await snapshot(a)).round;
    for (const [lab, other] of [[a, b], [b, a]] as const) {
      await expect.poll(async () => (await fullRounds(lab, [other.peerId], after)).length, { timeout: 6 * ROUND_MS + 20_000 }).toBeGreaterThanOrEqual(2);
      expect((await fullRounds(lab, [other.peerId], attackRound)).length).toBeGreaterThanOrEqual(2);
    }
    for (const lab of labs) {
      const s = await snapshot(lab);
      // never more than the swarm's B groups per round from any one sender: the rogue, a sybil or anyone
      for (const row of s.rounds) for (const [peer, groups] of Object.entries(row.groups)) expect(groups, `${peer} in round ${row.round}`).toBeLessThanOrEqual(B);
      // clock: 9 keys saying +30 s moved nothing
      expect(Math.abs(s.offsetMs)).toBeLessThan(2_000);
      // the rogue paid for its provable faults; the honest page did not pay for anything
      expect(s.scores[rogueId]).toBeLessThan(0);
      const honestOther = lab === a ? b.peerId : a.peerId;
      expect(s.scores[honestOther] ?? 0).toBeGreaterThanOrEqual(0);
      expect(s.relayConnected).toBe(true);
      expect(s.phase).toBe('ready');
      expect(lab.errors).toEqual([]);
    }
    const heapAfter = await Promise.all(labs.map((l) => l.page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0)));
    test.info().annotations.push({ type: 'heap', description: `before ${heapBefore.map((h) => (h / 2 ** 20).toFixed(1))} MiB, after ${heapAfter.map((h) => (h / 2 ** 20).toFixed(1))} MiB` });
    if (process.env.ROGUE_DEBUG) console.log(JSON.stringify({ heapBefore, heapAfter }));
    for (const [i, heap] of heapAfter.entries()) {
      expect(heap, `heap of page ${i} (before: ${heapBefore[i]})`).toBeLessThan(HEAP_BOUND_BYTES);
    }
    // the relay stayed up: a newcomer still joins through it and links with the pages
    const late = await openLab(browser, config);
    labs.push(late);
    await expect.poll(async () => (await snapshot(late)).relayConnected, { timeout: 20_000 }).toBe(true);
  } finally {
    if (process.env.ROGUE_DEBUG) {
      console.log(JSON.stringify(events).slice(0, 3000));
      for (const lab of labs) {
        const snap = await snapshot(lab).catch(() => null);
        console.log(JSON.stringify({ scores: snap?.scores, accepted: snap?.accepted, rejected: snap?.rejected, rejections: snap?.rejections.slice(-30).map((r) => [r.from.slice(-6), r.reason]) }));
      }
    }
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await closeAll(labs);
  }
});
