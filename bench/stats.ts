// Order statistics for benchmark samples.

/** Nearest-rank percentile (q in [0, 1]) of unsorted values. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/** Median; for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
  values: number[];
}

export function spread(values: readonly number[], digits = 3): Spread {
  const round = (x: number) => roundTo(x, digits);
  return {
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    runs: values.length,
    values: values.map(round),
  };
}

/** Rounds to `digits` significant digits (figures carry no false precision). */
export function roundTo(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(Math.max(digits, Math.ceil(Math.log10(Math.abs(x))))));
}
