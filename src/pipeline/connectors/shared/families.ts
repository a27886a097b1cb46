// Metric families shared by every instance of a connector on Skein's registry.
//
// prom-client's Counter and Histogram take one fixed label set per name and
// hash a label object on every increment. The connectors need neither: two
// instances (`spanmetrics` and `spanmetrics/prod`) publish the same metric name
// with different dimensions, and the per-span path must stay a Map lookup and
// an add. So each instance keeps its own series and registers a source into a
// family object that prom-client's registry scrapes like any of its metrics.
import { Counter, type Metric } from 'prom-client';
import { registry } from '../../../telemetry/metrics.js';
import type { Sample } from './histogram.js';

export interface SampleSource {
  /** Appends the current value of every series this source holds. */
  collect(out: Sample[]): void;
  /** Forgets every series (registry.resetMetrics(), tests). */
  reset(): void;
}

export type FamilyType = 'counter' | 'histogram';

/** Shape prom-client's Registry expects of a metric: name, help, type, get(), reset(). */
export class SharedFamily {
  readonly aggregator = 'sum';
  private readonly sources = new Set<SampleSource>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: FamilyType,
  ) {}

  attach(source: SampleSource): () => void {
    this.sources.add(source);
    return () => void this.sources.delete(source);
  }

  async get(): Promise<{ name: string; help: string; type: FamilyType; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    for (const source of this.sources) source.collect(values);
    return { name: this.name, help: this.help, type: this.type, values: this.sources.size > 1 ? sumDuplicates(values) : values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const source of this.sources) source.reset();
  }
}

/**
 * Two instances can produce the same label set (both count web → api); a
 * scrape with a repeated series is rejected by Prometheus, so their samples are
 * summed into one: the total across instances, which is what a counter means.
 */
function sumDuplicates(values: Sample[]): Sample[] {
  const byKey = new Map<string, Sample>();
  for (const sample of values) {
    const key = `${sample.metricName ?? ''}${JSON.stringify(sample.labels)}`;
    const seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, { ...sample });
    else seen.value += sample.value;
  }
  return [...byKey.values()];
}

/** The family registered under `name`, registering it on first use. */
export function sharedFamily(name: string, help: string, type: FamilyType): SharedFamily {
  const existing = registry.getSingleMetric(name) as unknown;
  if (existing instanceof SharedFamily) {
    if (existing.type !== type) throw new Error(`metric ${name} is already registered as a ${existing.type}`);
    return existing;
  }
  if (existing !== undefined) throw new Error(`metric ${name} is already registered by another component`);
  const family = new SharedFamily(name, help, type);
  registry.registerMetric(family as unknown as Metric);
  return family;
}

/** Observations folded into the `__overflow__` series because a metric reached `max_label_sets`. */
export const seriesOverflowTotal = new Counter({
  name: 'skein_connector_series_overflow_total',
  help: 'Observations folded into the __overflow__ series because a connector metric reached max_label_sets.',
  labelNames: ['connector'],
  registers: [registry],
});

/** Label object of one series: `names[i]` = `values[i]`, empty values left out (Prometheus reads them as absent). */
export function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) {
    const v = values[i]!;
    if (v !== '') out[names[i]!] = v;
  }
  return out;
}
