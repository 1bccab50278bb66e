// The own binding's timing, with fake timers: re-signed before its deadline (and what happens when the user
// refuses), and a late joiner hears every bound peer's binding again, at a pace the receivers' rate budget
// accepts (the receiving side is the real validator).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BINDING_RENEW_MARGIN_S, BindingAnnouncer, REANNOUNCE_MIN_GAP_MS, type SignedBindingWire } from '../../../src/swarm/binding-announcer.ts';
import { RoundClock } from '../../../src/swarm/clock.ts';
import { encodeMessage, type SwarmMessage } from '../../../src/swarm/messages.ts';
import { SwarmValidator } from '../../../src/swarm/validator.ts';
import { PEER_A, validMessages } from './fixtures.ts';

const START_MS = 1_800_000_000_000;
const HOUR_S = 3600;

function bindingUntil(deadlineS: number, nonce = '0'): SignedBindingWire {
  const fixture = validMessages().find((m) => m.kind === 'binding');
  if (fixture?.kind !== 'binding') throw new Error('fixtures have no binding');
  return { ...fixture.signed, binding: { ...fixture.signed.binding, nonce, deadline: String(deadlineS) } };
}

function announcer() {
  const published: SignedBindingWire[] = [];
  const log: string[] = [];
  const a = new BindingAnnouncer({ now: () => Date.now(), publish: async (s) => void published.push(s), log: (l) => log.push(l) });
  return { a, published, log };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START_MS);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('binding renewal', () => {
  it('re-signs BINDING_RENEW_MARGIN_S before the deadline, announces the new binding and arms the next renewal', async () => {
    const { a, published } = announcer();
    const nowS = START_MS / 1000;
    let signs = 0;
    const renew = vi.fn(async () => bindingUntil(Math.floor(Date.now() / 1000) + HOUR_S, String(++signs)));
    await a.announce(bindingUntil(nowS + HOUR_S), renew);
    expect(published).toHaveLength(1);

    await vi.advanceTimersByTimeAsync((HOUR_S - BINDING_RENEW_MARGIN_S) * 1000 - 1);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(published).toHaveLength(2);
    expect(published[1].binding.nonce).toBe('1');
    expect(a.current()?.binding.nonce).toBe('1');

    // the renewed one is renewed in turn, so a tab that runs for days never lapses
    await vi.advanceTimersByTimeAsync((HOUR_S - BINDING_RENEW_MARGIN_S) * 1000);
    expect(renew).toHaveBeenCalledTimes(2);
    expect(a.current()?.binding.nonce).toBe('2');
    a.stop();
  });

  it('a refused renewal keeps the old binding until its deadline, then the tab runs unbound; nothing is retried', async () => {
    const { a, published, log } = announcer();
    const nowS = START_MS / 1000;
    const renew = vi.fn(async () => null);
    await a.announce(bindingUntil(nowS + HOUR_S), renew);
    await vi.advanceTimersByTimeAsync((HOUR_S - BINDING_RENEW_MARGIN_S) * 1000);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(published).toHaveLength(1);
    expect(log.some((l) => /not renewed/.test(l))).toBe(true);
    expect(a.current()).not.toBeNull();

    await vi.advanceTimersByTimeAsync(BINDING_RENEW_MARGIN_S * 1000);
    expect(a.current()).toBeNull();
    // an expired binding is not re-announced to joiners (receivers would only ignore it)
    a.peerJoined();
    await vi.advanceTimersByTimeAsync(10 * REANNOUNCE_MIN_GAP_MS);
    expect(published).toHaveLength(1);
    expect(renew).toHaveBeenCalledTimes(1);
    a.stop();
  });

  it('a renewal that throws is logged and the old binding stays; a binding already past its margin renews at once', async () => {
    const { a, log } = announcer();
    const nowS = START_MS / 1000;
    const renew = vi.fn(async (): Promise<SignedBindingWire | null> => {
      throw new Error('wallet locked');
    });
    await a.announce(bindingUntil(nowS + 60), renew);
    await vi.advanceTimersByTimeAsync(0);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(log).toContain('binding renewal failed: wallet locked');
    expect(a.current()?.binding.deadline).toBe(String(nowS + 60));
    a.stop();
  });

  it('a new binding signed by hand replaces the armed renewal; stop() cancels everything', async () => {
    const { a, published } = announcer();
    const nowS = START_MS / 1000;
    const first = vi.fn(async () => bindingUntil(nowS + 10 * HOUR_S, 'first'));
    const second = vi.fn(async () => bindingUntil(nowS + 10 * HOUR_S, 'second'));
    await a.announce(bindingUntil(nowS + HOUR_S), first);
    await a.announce(bindingUntil(nowS + 2 * HOUR_S), second);
    await vi.advanceTimersByTimeAsync(HOUR_S * 1000);
    expect(first).not.toHaveBeenCalled();
    expect(second).not.toHaveBeenCalled();
    a.stop();
    await vi.advanceTimersByTimeAsync(2 * HOUR_S * 1000);
    expect(second).not.toHaveBeenCalled();
    expect(published).toHaveLength(2);
  });

  it('a deadline beyond setTimeout\'s range is waited for in steps, not fired early', async () => {
    const { a } = announcer();
    const nowS = START_MS / 1000;
    const renew = vi.fn(async () => null);
    await a.announce(bindingUntil(nowS + 40 * 24 * HOUR_S), renew);
    await vi.advanceTimersByTimeAsync(30 * 24 * HOUR_S * 1000);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(10 * 24 * HOUR_S * 1000);
    expect(renew).toHaveBeenCalledTimes(1);
    a.stop();
  });
});

describe('a late joiner learns existing bindings', () => {
  it('a peer that subscribes after the announce hears the binding again, and the real validator accepts every re-announce', async () => {
    // a two-peer bus: the late joiner only sees what is published after it subscribes
    const clock = new RoundClock({ roundMs: 10_000, genesisMs: START_MS });
    const lateJoiner = new SwarmValidator({ swarmId: 'test', clock, bindingVerifier: async () => ({ ok: true }) });
    const heard: SwarmMessage[] = [];
    const verdicts: Awaited<ReturnType<SwarmValidator["validate"]>>[] = [];
    let joined = false;
    let nonce = 1;
    const a = new BindingAnnouncer({
      now: () => Date.now(),
      publish: async (signed) => {
        if (!joined) return;
        const message: SwarmMessage = { v: 1, kind: 'binding', swarmId: 'test', round: clock.currentRound(), peerId: PEER_A, nonce: nonce++, ts: Date.now(), signed };
        heard.push(message);
        verdicts.push(await lateJoiner.validate(encodeMessage(message), PEER_A));
      },
      log: () => undefined,
    });

    await a.announce(bindingUntil(START_MS / 1000 + 24 * HOUR_S));
    expect(heard).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(5_000);
    joined = true;
    a.peerJoined();
    // coalesced: a burst of joins is one announce, not one each
    for (let i = 0; i < 20; i++) a.peerJoined();
    await vi.advanceTimersByTimeAsync(REANNOUNCE_MIN_GAP_MS);
    expect(heard).toHaveLength(1);

    // joins keep coming for ten minutes: one announce per gap at most, and the receiver never rate-limits one
    for (let t = 0; t < 600; t++) {
      a.peerJoined();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(heard.length).toBeGreaterThanOrEqual(2);
    expect(heard.length).toBeLessThanOrEqual(1 + 600_000 / REANNOUNCE_MIN_GAP_MS);
    expect(verdicts.map((v) => (v.ok ? true : v.reason))).toEqual(heard.map(() => true));
    a.stop();
  });
});
