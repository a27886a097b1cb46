// A bounded latency sketch for the UI aggregates: a fixed log-scale histogram
// whose buckets grow by 20 %, from 1 µs to one hour. Fixed size (about 500
// bytes) whatever the traffic, mergeable by adding counts, and any quantile is
// within ±10 % of the true value (clamped to the exact min and max seen).

const MIN_SECONDS = 1e-6;
const MAX_SECONDS = 3600;
const GROWTH = 1.2;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket 0 holds values ≤ 1 µs; bucket i ≥ 1 holds (1 µs·1.2^(i-1), 1 µs·1.2^i]; the last also holds everything above. */
const BUCKETS = 2 + Math.ceil(Math.log(MAX_SECONDS / MIN_SECONDS) / LOG_GROWTH);

export class LatencySketch {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  private min = Infinity;
  private max = -Infinity;

  observe(seconds: number): void {
    this.counts[bucketOf(seconds)]!++;
    this.count++;
    if (seconds < this.min) this.min = seconds;
    if (seconds > this.max) this.max = seconds;
  }

  merge(other: LatencySketch): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** The q-quantile (0 < q ≤ 1) in seconds, or null when nothing was observed. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    // The extremes are known exactly.
    if (rank >= this.count) return this.max;
    if (rank === 1) return this.min;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, representative(i)));
    }
    return this.max;
  }
}

function bucketOf(seconds: number): number {
  if (!(seconds > MIN_SECONDS)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(seconds / MIN_SECONDS) / LOG_GROWTH));
}

/** Geometric middle of a bucket: at most 10 % from any value in it. */
function representative(bucket: number): number {
  return bucket === 0 ? MIN_SECONDS : MIN_SECONDS * GROWTH ** (bucket - 0.5);
}
