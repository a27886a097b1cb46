// Sets of byte ranges, as sorted, disjoint half-open [start, end) pairs: what the
// range cache has of an object, and what a read still needs of it.

export type Interval = readonly [start: number, end: number];

/** Sorted and merged; pieces closer than `gap` bytes are joined (one request instead of two). */
export function normalize(ranges: Iterable<Interval>, gap = 0): Interval[] {
  const sorted = [...ranges].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1] + gap) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** What of `wanted` is not in `have` (both normalized). */
export function subtract(wanted: readonly Interval[], have: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  for (const [s, e] of wanted) {
    let from = s;
    while (i < have.length && have[i]![1] <= from) i++;
    for (let j = i; j < have.length && have[j]![0] < e; j++) {
      const [hs, he] = have[j]!;
      if (hs > from) out.push([from, hs]);
      from = Math.max(from, he);
      if (from >= e) break;
    }
    if (from < e) out.push([from, e]);
  }
  return out;
}

/** Whether two intervals share a byte. */
export function overlaps(a: Interval, b: Interval): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

/** Bytes covered. */
export function totalBytes(set: readonly Interval[]): number {
  return set.reduce((n, [s, e]) => n + (e - s), 0);
}
