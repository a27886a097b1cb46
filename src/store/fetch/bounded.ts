// The answer of a tag request, bounded in count and bytes as it is gathered from
// heads, blocks and tag indexes in whatever order they come.

/**
 * Distinct items, kept to the smallest ones that can still be answered: whenever it
 * holds twice what the limits allow, it is sorted and trimmed. So the answer is the
 * first items in order whatever order they were added in, and memory stays within
 * about twice the limits.
 */
export class Bounded<T> {
  private items = new Map<string, T>();
  private bytes = 0;
  private cut = false;

  constructor(
    private readonly limits: { limit: number; maxBytes: number },
    /** The key that tells items apart, and the bytes an item counts for. */
    private readonly keyOf: (item: T) => string,
    private readonly sizeOf: (item: T) => number,
    private readonly order: (a: T, b: T) => number,
  ) {}

  add(item: T): void {
    const key = this.keyOf(item);
    if (this.items.has(key)) return;
    this.items.set(key, item);
    this.bytes += this.sizeOf(item);
    if (this.items.size > 2 * (this.limits.limit + 1) || this.bytes > 2 * this.limits.maxBytes + 65536) this.trim();
  }

  /** The items in order, and whether some were cut to the limits. */
  result(): { items: T[]; cut: boolean } {
    const items = this.trim();
    return { items, cut: this.cut };
  }

  /** Sorts, keeps what fits the limits, and returns it. */
  private trim(): T[] {
    const all = [...this.items.values()].sort(this.order);
    const kept: T[] = [];
    let bytes = 0;
    for (const item of all) {
      const size = this.sizeOf(item);
      if (kept.length >= this.limits.limit || bytes + size > this.limits.maxBytes) {
        this.cut = true;
        break;
      }
      kept.push(item);
      bytes += size;
    }
    this.items = new Map(kept.map((item) => [this.keyOf(item), item]));
    this.bytes = bytes;
    return kept;
  }
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
