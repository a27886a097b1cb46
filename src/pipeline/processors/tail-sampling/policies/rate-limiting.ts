// Samples traces while a token bucket of spans allows it: refilled at
// spans_per_second, holding at most twice that, and a trace takes as many
// tokens as it has spans — the collector's golang.org/x/time/rate limiter.
import type { Clock, PolicyEvaluator, TraceView } from './policy.js';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock();
  }

  /** Takes n tokens if there are that many; never more than the burst in one go. */
  take(n: number): boolean {
    const now = this.clock();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
    }
    if (n > this.burst || this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

export function rateLimitingPolicy(settings: { spans_per_second: number }, clock: Clock): PolicyEvaluator {
  const bucket = new TokenBucket(settings.spans_per_second, 2 * settings.spans_per_second, clock);
  return {
    evaluate: (trace: TraceView) => (bucket.take(trace.spanCount) ? 'sampled' : 'not_sampled'),
  };
}
