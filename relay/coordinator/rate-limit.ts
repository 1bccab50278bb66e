// Token buckets keyed by caller (IP, account, peer id): a burst up to `capacity`, refilled at `perMinute`.

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`; false when the caller must wait. */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    // Full buckets carry no information; dropping them keeps the map from growing with every caller ever seen.
    if (this.buckets.size > 10_000) {
      for (const [k, b] of this.buckets) if (b.tokens >= this.capacity - 1) this.buckets.delete(k);
    }
    return allowed;
  }
}
