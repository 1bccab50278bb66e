// This tab's own binding on the gossip topic: when it goes out, and when it is re-signed. Kept apart from the
// libp2p node so the timing can be tested with fake timers: a late joiner only learns who is bound because
// bound peers announce again when a peer subscribes, and a binding only lasts because it is re-signed before
// its deadline (receivers ignore an expired one).
import type { BindingMessage } from './messages.ts';

export type SignedBindingWire = BindingMessage['signed'];

/** Re-signs the binding: a new one, or null when it cannot or may not be (the user refused, no wallet). */
export type RenewBinding = () => Promise<SignedBindingWire | null>;

/** our own binding goes out again when a peer joins, at most this often (receivers allow one per 30 s) */
export const REANNOUNCE_MIN_GAP_MS = 30_000;
/** a new peer's mesh needs a moment before it hears us, so even an allowed re-announce waits this long */
export const REANNOUNCE_DELAY_MS = 1_000;
/** a binding is re-signed this long before its deadline */
export const BINDING_RENEW_MARGIN_S = 10 * 60;
/** setTimeout's longest delay (~24.8 days): a farther renewal is re-armed when this one fires */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BindingAnnouncerOptions {
  /** swarm time (ms): binding deadlines are compared against it */
  now: () => number;
  publish: (signed: SignedBindingWire) => Promise<void>;
  log: (line: string) => void;
}

export class BindingAnnouncer {
  private own: SignedBindingWire | null = null;
  private renew: RenewBinding | null = null;
  private lastAnnouncedAt = -Infinity;
  private announceTimer: ReturnType<typeof setTimeout> | null = null;
  private renewTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly options: BindingAnnouncerOptions) {}

  /** the binding this tab gossips now (null before the first, or once it has expired unrenewed) */
  current(): SignedBindingWire | null {
    return this.own && !this.expired(this.own) ? this.own : null;
  }

  /**
   * Gossips `signed` now; with `renew`, arms a re-sign BINDING_RENEW_MARGIN_S before its deadline, and each
   * renewed binding is announced and armed the same way. A null or failed renewal leaves the old binding in
   * place until its deadline: the tab keeps running, and peers see it unbound afterwards.
   */
  async announce(signed: SignedBindingWire, renew?: RenewBinding): Promise<void> {
    if (this.stopped) return;
    this.own = signed;
    this.renew = renew ?? null;
    this.armRenewal(signed);
    this.lastAnnouncedAt = this.options.now();
    await this.options.publish(signed);
  }

  /** A peer subscribed to the topic: announce again, coalesced, at most once per REANNOUNCE_MIN_GAP_MS. */
  peerJoined(): void {
    if (this.stopped || !this.current() || this.announceTimer) return;
    const wait = Math.max(REANNOUNCE_DELAY_MS, this.lastAnnouncedAt + REANNOUNCE_MIN_GAP_MS - this.options.now());
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null;
      const signed = this.current();
      if (!signed || this.stopped) return;
      this.lastAnnouncedAt = this.options.now();
      this.options.publish(signed).catch((error: Error) => this.options.log(`binding: ${error.message}`));
    }, wait);
  }

  stop(): void {
    this.stopped = true;
    if (this.announceTimer) clearTimeout(this.announceTimer);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.announceTimer = this.renewTimer = null;
  }

  private armRenewal(signed: SignedBindingWire): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    const renew = this.renew;
    if (!renew) return;
    const dueInMs = deadlineMs(signed) - BINDING_RENEW_MARGIN_S * 1000 - this.options.now();
    this.renewTimer = setTimeout(() => {
      this.renewTimer = null;
      if (this.stopped || this.own !== signed) return;
      // the timer's cap fired before the real due time: wait again
      if (deadlineMs(signed) - BINDING_RENEW_MARGIN_S * 1000 > this.options.now()) return this.armRenewal(signed);
      void renew()
        .then((next) => {
          if (!next) return this.options.log('binding not renewed: it lapses at its deadline');
          if (this.stopped || this.own !== signed) return;
          return this.announce(next, renew);
        })
        .catch((error: Error) => this.options.log(`binding renewal failed: ${error.message}`));
    }, Math.max(0, Math.min(dueInMs, MAX_TIMER_MS)));
  }

  private expired(signed: SignedBindingWire): boolean {
    return deadlineMs(signed) <= this.options.now();
  }
}

function deadlineMs(signed: SignedBindingWire): number {
  const s = Number(signed.binding.deadline);
  return Number.isFinite(s) ? s * 1000 : 0;
}
