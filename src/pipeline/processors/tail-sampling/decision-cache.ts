// Decisions remembered after a trace's spans are gone, so that late spans
// follow their trace's decision instead of starting a new trace.
//
// As in the collector, a decision goes to the sampled or non-sampled LRU cache
// when that cache is configured (size > 0). When it is not, the collector still
// keeps the decided trace in its table of num_traces entries until newer traces
// push it out; Skein keeps the same memory as a third LRU of num_traces
// decisions, so late spans behave alike with the default configuration.

import { Lru } from './lru.js';

export interface DecisionCacheSizes {
  sampled: number;
  nonSampled: number;
  /** Capacity of the fallback memory for a decision whose cache is off (num_traces). */
  recent: number;
}

export class DecisionCache {
  private readonly sampled: Lru<string, true>;
  private readonly nonSampled: Lru<string, true>;
  private readonly recent: Lru<string, boolean>;

  constructor(sizes: DecisionCacheSizes) {
    this.sampled = new Lru(sizes.sampled);
    this.nonSampled = new Lru(sizes.nonSampled);
    this.recent = new Lru(sizes.recent);
  }

  /** The remembered decision for a trace key (true: sampled), if any. */
  get(key: string): boolean | undefined {
    if (this.sampled.get(key)) return true;
    if (this.nonSampled.get(key)) return false;
    return this.recent.get(key);
  }

  /** Every remembered decision, least recently used first within each cache (so put() in this order rebuilds the caches). */
  *entries(): IterableIterator<[string, boolean]> {
    for (const [key] of this.sampled.entriesOldestFirst()) yield [key, true];
    for (const [key] of this.nonSampled.entriesOldestFirst()) yield [key, false];
    yield* this.recent.entriesOldestFirst();
  }

  put(key: string, sampled: boolean): void {
    const cache = sampled ? this.sampled : this.nonSampled;
    if (cache.capacity > 0) {
      cache.set(key, true);
      (sampled ? this.nonSampled : this.sampled).delete(key);
      this.recent.delete(key);
    } else {
      this.recent.set(key, sampled);
      (sampled ? this.nonSampled : this.sampled).delete(key);
    }
  }
}
