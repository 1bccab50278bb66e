// Invalid messages from a misbehaving page are rejected by the topic validator of the page that receives
// them, with a logged reason, and are not forwarded: an observer that can only hear the attacker through
// an honest page sees the attacker's valid heartbeats but none of its bad messages. Everyone stays up.
import { expect, test } from '@playwright/test';
import { closeAll, directPeers, e2eRelayAddrs, fullRounds, labConfig, openLab, snapshot, type LabPage } from './network/lab.ts';

const ROUND_MS = 3_000;
const MAX_MESSAGE_BYTES = 512 * 1024;

interface LabHandle {
  header(overrides?: Record<string, unknown>): Record<string, unknown>;
  publishJson(value: unknown): Promise<number>;
  publishOversized(size: number): Promise<number>;
  publishHeartbeat(stats?: Record<string, number>): Promise<number>;
  replayLast(): Promise<number>;
}

test('bad schema, oversized, wrong round, forged sender and replayed messages are rejected and not forwarded', async ({ browser }) => {
  test.setTimeout(180_000);
  const config = labConfig('net-invalid', e2eRelayAddrs(), ROUND_MS);
  const labs: LabPage[] = [];
  try {
    const honest = await openLab(browser, config);
    const attacker = await openLab(browser, config);
    // the observer refuses any connection with the attacker, so whatever it hears from it came through `honest`
    const observer = await openLab(browser, config, { deny: attacker.peerId });
    labs.push(honest, attacker, observer);
    await expect.poll(() => directPeers(honest), { timeout: 60_000, message: 'honest dials the attacker and the observer directly' }).toEqual(expect.arrayContaining([attacker.peerId, observer.peerId]));
    expect(await directPeers(observer)).not.toContain(attacker.peerId);
    // the path exists: the attacker's valid heartbeats reach the observer, forwarded by `honest`
    await expect
      .poll(async () => (await snapshot(observer)).feed.some((f) => f.from === attacker.peerId && f.kind === 'heartbeat' && f.via === honest.peerId), { timeout: 30_000 })
      .toBe(true);

    // the attacker's standing before the attack: its valid traffic so far has earned it up to SCORE.max
    const scoreBefore = (await snapshot(honest)).scores[attacker.peerId] ?? 0;
    const sent = await attacker.page.evaluate(
      async ({ honestId, maxBytes }) => {
        const lab = (window as unknown as { __lab: LabHandle }).__lab;
        const recipients: Record<string, number> = {};
        recipients.badSchema = await lab.publishJson({ ...lab.header(), kind: 'rollouts', rollouts: 'all of them', part: 0, parts: 1 });
        recipients.oversized = await lab.publishOversized(maxBytes + 64 * 1024);
        const current = lab.header().round as number;
        recipients.wrongRound = await lab.publishJson({ ...lab.header({ round: current + 5 }), kind: 'heartbeat', stats: {} });
        recipients.forged = await lab.publishJson({ ...lab.header({ peerId: honestId }), kind: 'heartbeat', stats: {} });
        await lab.publishHeartbeat({ probe: 1 });
        recipients.replayed = await lab.replayLast();
        return recipients;
      },
      { honestId: honest.peerId, maxBytes: MAX_MESSAGE_BYTES },
    );
    // each bad message really left the attacker (gossipsub did not refuse to send it)
    for (const [what, count] of Object.entries(sent)) expect(count, what).toBeGreaterThan(0);

    const expected = ['stats must be an object|rollouts must be a list', 'oversized', 'wrong round', 'forged sender', 'replayed nonce'];
    await expect
      .poll(
        async () => {
          const reasons = (await snapshot(honest)).rejections.filter((r) => r.from === attacker.peerId).map((r) => r.reason);
          return expected.filter((pattern) => !reasons.some((reason) => new RegExp(pattern).test(reason)));
        },
        { timeout: 30_000, message: 'the honest page logged a rejection of each bad message' },
      )
      .toEqual([]);
    expect(honest.logs.some((line) => /rejected message from .* forged sender/.test(line))).toBe(true);
    // the attacker paid for it in the honest page's scores: three provable faults (schema, size, forgery) at
    // SCORE.rejectPenalty (10) each, less the few accepted heartbeats (+0.5 each) that arrived meanwhile.
    // Measured against its own standing, not 0: under load its valid traffic keeps earning, and the score
    // decays toward 0, so "below 0 rounds later" is a race, not the property
    const scoreAfter = (await snapshot(honest)).scores[attacker.peerId] ?? 0;
    expect(scoreAfter).toBeLessThan(scoreBefore - 20);
    expect(scoreAfter).toBeLessThan((await snapshot(honest)).scores[observer.peerId] ?? 0);

    // a few rounds later: the observer never saw any of it, and honest traffic still flows
    const after = (await snapshot(honest)).round + 1;
    await expect.poll(async () => (await fullRounds(observer, [honest.peerId], after)).length, { timeout: 6 * ROUND_MS + 20_000 }).toBeGreaterThanOrEqual(1);
    const seen = await snapshot(observer);
    expect(seen.rejected, JSON.stringify(seen.rejections)).toBe(0);
    expect(seen.rejections).toEqual([]);
    expect(seen.feed.filter((f) => f.from === honest.peerId && f.via === honest.peerId).length).toBeGreaterThan(0);
    for (const lab of labs) {
      expect(lab.errors, `page errors of ${lab.peerId}`).toEqual([]);
      expect((await snapshot(lab)).phase, `phase of ${lab.peerId}`).toBe('ready');
    }
  } finally {
    await closeAll(labs);
  }
});
