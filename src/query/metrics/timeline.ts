// The time axis of a metrics query, as Tempo lays it out (pkg/traceql/engine_metrics.go):
// intervals are right-closed, (start, start+step], …, (end-step, end], each reported at
// its right edge; a span counts in the interval holding its start time. A range query
// is aligned to the step (start rounded down, end up) and gets one extra interval in
// front, so refreshes of "the last hour" give the same buckets. An instant query is a
// single interval (start, end] and is not aligned.

export const NANOS_PER_SECOND = 1_000_000_000n;

/** Tempo's default step: about 240 points over the range, a multiple of 5s (else 1s), at least 1s. */
export function defaultStep(startNs: bigint, endNs: bigint): bigint {
  const baseline = (endNs - startNs) / 240n;
  let interval = (baseline / (5n * NANOS_PER_SECOND)) * 5n * NANOS_PER_SECOND;
  if (interval < 5n * NANOS_PER_SECOND) interval = (baseline / NANOS_PER_SECOND) * NANOS_PER_SECOND;
  return interval < NANOS_PER_SECOND ? NANOS_PER_SECOND : interval;
}

export interface Timeline {
  /** Exclusive left edge of the first interval, in unix nanoseconds. */
  start: bigint;
  /** Inclusive right edge of the last interval. */
  end: bigint;
  step: bigint;
  intervals: number;
  instant: boolean;
}

/** The aligned axis of a range query over [start, end] with this step. */
export function rangeTimeline(startNs: bigint, endNs: bigint, step: bigint): Timeline {
  let start = startNs - (startNs % step);
  const mod = endNs % step;
  const end = mod === 0n ? endNs : endNs + (step - mod);
  if (start > step) start -= step;
  return { start, end, step, intervals: Number((end - start) / step), instant: false };
}

/** One interval covering (start, end]. */
export function instantTimeline(startNs: bigint, endNs: bigint): Timeline {
  return { start: startNs, end: endNs, step: endNs - startNs, intervals: 1, instant: true };
}

/** The interval holding a span that starts at ts, or -1 outside (start, end]. */
export function intervalOf(t: Timeline, ts: bigint): number {
  if (ts <= t.start || ts > t.end) return -1;
  return Number((ts - t.start - 1n) / t.step);
}

/** Where interval i is reported: its right edge, in unix milliseconds. */
export function timestampMsOf(t: Timeline, i: number): bigint {
  return (t.start + BigInt(i + 1) * t.step) / 1_000_000n;
}
