// The series of one connector's metrics, keyed by label set, with the two
// bounds that keep cardinality finite:
// - `max_label_sets`: once that many label sets exist, a new one is folded into
//   an `__overflow__` series (every label but the kept ones, e.g. `tenant`, set
//   to `__overflow__`), logged once and counted per observation;
// - staleness: a series not observed for `metrics_expiration` is dropped, as
//   Tempo's registry drops stale series, so yesterday's label sets do not hold
//   today's budget.
import type { Logger } from '../../../telemetry/logger.js';
import { seriesOverflowTotal } from './families.js';
import { OVERFLOW_VALUE } from './labels.js';

export interface Series {
  /** Label values, in the order of the table's label names. */
  readonly labels: readonly string[];
  /** Clock time (ms) of the latest observation. */
  lastSeen: number;
}

export interface SeriesTableOptions<S extends Series> {
  /** Metric the table backs, for the overflow log line. */
  metric: string;
  labelNames: readonly string[];
  /** How many leading labels keep their value in the overflow series (1 with a `tenant` label first, else 0). */
  keptLabels: number;
  maxLabelSets: number;
  /** The connector's configured name (`skein_connector_series_overflow_total{connector}`). */
  connector: string;
  logger: Logger;
  create(labels: readonly string[], now: number): S;
}

export class SeriesTable<S extends Series> {
  readonly labelNames: readonly string[];
  private readonly byKey = new Map<string, S>();
  /** Overflow series by the values of the kept labels (one per tenant when `tenant` is kept). */
  private readonly overflowByKept = new Map<string, S>();
  private warned = false;
  private readonly overflowCounter;
  /**
   * Changes whenever a series leaves the table (stale, reset): a caller that
   * keeps series objects by a cheaper key than the label string must forget
   * them then, or it would count into series no scrape sees any more.
   */
  version = 0;

  constructor(private readonly options: SeriesTableOptions<S>) {
    this.labelNames = options.labelNames;
    this.overflowCounter = seriesOverflowTotal.labels(options.connector);
  }

  /** The series of an already-seen label set: the hot path, one Map lookup. */
  get(key: string): S | undefined {
    return this.byKey.get(key);
  }

  /** True when `series` is the series of `key` itself, not an overflow series standing in for it. */
  holds(key: string, series: S): boolean {
    return this.byKey.get(key) === series;
  }

  /** Adds the series of a new label set, or returns the overflow series once the table is full. */
  add(key: string, labels: readonly string[], now: number): S {
    if (this.byKey.size < this.options.maxLabelSets) {
      const series = this.options.create(labels, now);
      this.byKey.set(key, series);
      return series;
    }
    return this.overflow(labels, now);
  }

  private overflow(labels: readonly string[], now: number): S {
    const { keptLabels } = this.options;
    const key = labels.slice(0, keptLabels).join('\0');
    let series = this.overflowByKept.get(key);
    if (series === undefined) {
      const folded = labels.map((v, i) => (i < keptLabels ? v : OVERFLOW_VALUE));
      series = this.options.create(folded, now);
      this.overflowByKept.set(key, series);
    }
    this.overflowCounter.inc();
    if (!this.warned) {
      this.warned = true;
      this.options.logger.warn(
        { metric: this.options.metric, max_label_sets: this.options.maxLabelSets },
        `${this.options.metric} reached max_label_sets; new label sets are folded into the ${OVERFLOW_VALUE} series from now on`,
      );
    }
    return series;
  }

  /** Drops series last observed before `cutoff` (ms). */
  dropStale(cutoff: number): void {
    for (const map of [this.byKey, this.overflowByKept]) {
      for (const [key, series] of map) {
        if (series.lastSeen < cutoff) {
          map.delete(key);
          this.version++;
        }
      }
    }
  }

  *values(): IterableIterator<S> {
    yield* this.byKey.values();
    yield* this.overflowByKept.values();
  }

  /** Series held, the overflow series included. */
  get size(): number {
    return this.byKey.size + this.overflowByKept.size;
  }

  reset(): void {
    this.version++;
    this.byKey.clear();
    this.overflowByKept.clear();
  }
}
