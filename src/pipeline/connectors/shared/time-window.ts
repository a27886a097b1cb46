// Fixed-retention time buckets for the UI aggregates: a ring of
// retention / resolution slots, each a map of entries for one interval of
// observation time. Writing into a slot whose interval has passed clears it,
// so memory is bounded by the slot count times the per-slot entry cap, and no
// timer is needed to age data out.

interface Slot<V> {
  /** Index of the interval the slot holds (time / resolution), -1 when never used. */
  epoch: number;
  entries: Map<string, V>;
}

export class TimeWindow<V> {
  private readonly slots: Array<Slot<V>>;

  constructor(
    readonly resolutionMs: number,
    retentionMs: number,
    /** Most entries per slot; callers fold the rest into an overflow entry. */
    readonly maxEntries: number,
  ) {
    const count = Math.max(1, Math.ceil(retentionMs / resolutionMs));
    this.slots = Array.from({ length: count }, () => ({ epoch: -1, entries: new Map<string, V>() }));
  }

  /** The entries of the interval holding `nowMs`. */
  bucketAt(nowMs: number): Map<string, V> {
    const epoch = Math.floor(nowMs / this.resolutionMs);
    const slot = this.slots[epoch % this.slots.length]!;
    if (slot.epoch !== epoch) {
      slot.epoch = epoch;
      slot.entries = new Map();
    }
    return slot.entries;
  }

  /** The buckets overlapping [startMs, endMs) that are still retained at `nowMs`, and the time they cover. */
  between(startMs: number, endMs: number, nowMs: number): { fromMs: number; toMs: number; buckets: Array<Map<string, V>> } {
    const nowEpoch = Math.floor(nowMs / this.resolutionMs);
    const oldestEpoch = nowEpoch - this.slots.length + 1;
    const fromMs = Math.max(startMs, oldestEpoch * this.resolutionMs);
    // An observation at t covers [t, t + 1 ms): a range ending now includes it.
    const toMs = Math.min(endMs, nowMs + 1);
    const buckets: Array<Map<string, V>> = [];
    if (toMs <= fromMs) return { fromMs, toMs: fromMs, buckets };
    const first = Math.floor(fromMs / this.resolutionMs);
    const last = Math.floor((toMs - 1) / this.resolutionMs);
    for (let epoch = first; epoch <= last; epoch++) {
      const slot = this.slots[epoch % this.slots.length]!;
      if (slot.epoch === epoch) buckets.push(slot.entries);
    }
    return { fromMs, toMs, buckets };
  }
}
