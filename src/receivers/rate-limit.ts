// Tempo's ingestion_rate_limit_bytes and ingestion_burst_size_bytes: a token bucket per
// tenant over the bytes of its export requests (after decompression), filled at the rate up
// to the burst. A request the bucket cannot cover takes nothing from it and is refused
// retryably; one larger than the burst could never be covered.

/** What take() decided: taken, or how long until the bucket could cover the request (Infinity: never). */
export type RateVerdict = { taken: true } | { taken: false; waitMs: number };

export class TenantRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes `bytes` from the tenant's bucket, refilled at `rate` bytes per second up to `burst`; a rate of 0 takes everything. */
  take(tenant: string, bytes: number, rate: number, burst: number): RateVerdict {
    if (rate <= 0) return { taken: true };
    const now = this.now();
    let bucket = this.buckets.get(tenant);
    if (!bucket) {
      bucket = { tokens: burst, at: now };
      this.buckets.set(tenant, bucket);
    }
    // A reload may have lowered the burst: the bucket never holds more than the current one.
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    if (bytes <= bucket.tokens) {
      bucket.tokens -= bytes;
      return { taken: true };
    }
    return { taken: false, waitMs: bytes > burst ? Infinity : ((bytes - bucket.tokens) / rate) * 1000 };
  }
}
