// Answers pings: every accepted ping is echoed, but at most one echo message leaves per ECHO.minGapMs.
// Pings arriving inside the gap share the next echo, so however many peers ping (each already held to its
// rate limit by our validator), answering costs this peer a bounded share of its own rate budget.
import { ECHO } from './constants.ts';
import type { EchoMessage } from './messages.ts';

type EchoRef = EchoMessage['echoes'][number];

export class EchoQueue {
  private pending: EchoRef[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSentAt = -Infinity;
  private closed = false;
  /** pings not answered because the queue was full */
  dropped = 0;

  constructor(
    private readonly send: (echoes: EchoRef[]) => void,
    private readonly now: () => number = () => Date.now(),
    private readonly minGapMs: number = ECHO.minGapMs,
    private readonly maxPending: number = ECHO.maxPending,
  ) {}

  /** queues an echo of `ping`; sends at once when the last echo is at least the gap old */
  add(ping: EchoRef): void {
    if (this.closed) return;
    // a full queue drops the newest ping: its pinger sees a missing echo, our budget is kept
    if (this.pending.length >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.pending.push({ peerId: ping.peerId, nonce: ping.nonce });
    if (this.timer) return;
    const wait = this.lastSentAt + this.minGapMs - this.now();
    if (wait <= 0) this.flush();
    else
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
  }

  private flush(): void {
    const echoes = this.pending;
    this.pending = [];
    if (echoes.length === 0) return;
    this.lastSentAt = this.now();
    this.send(echoes);
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
