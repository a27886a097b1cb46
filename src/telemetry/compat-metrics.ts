// The names Tempo's and the OpenTelemetry Collector's users already chart and alert on
// (tempo_*, tempodb_*, otelcol_*), served beside Skein's own: each such family is a view
// of Skein's instruments, renamed and relabelled when /metrics is scraped. Nothing is
// counted twice, so the two names cannot disagree, and the hot path pays nothing for
// them. Components declare their compatible names next to their own metrics
// (docs/metrics.md lists them, test/telemetry/compat-metrics.test.ts checks them).
import { Counter, Histogram, type Metric } from 'prom-client';
import { registry } from './metrics.js';

type Labels = Record<string, string | number>;

/** A served label's value: the source label of that name, or computed from the source's labels. */
export type LabelFrom = string | ((source: Readonly<Labels>) => string);

/** One Skein instrument a compatible family reads. */
export interface InstrumentSource {
  metric: Metric<string>;
  /** The served labels and where each comes from; the source's other labels are summed away. */
  labels?: Record<string, LabelFrom>;
  /** Only the source's series whose labels pass. */
  where?: (source: Readonly<Labels>) => boolean;
  /** Of a histogram, serve its observation count as a counter. */
  count?: true;
}

/** A value Skein has without an instrument (the process's), read at each scrape. */
export interface ReadSource {
  read: () => number;
  labels?: Readonly<Labels>;
}

export interface CompatFamily {
  /** The served name; several when versions of the other project spell it differently (the collector's `_total`). */
  name: string | readonly string[];
  help: string;
  /** Required with read sources; with instruments, theirs (a histogram's `count` makes a counter). */
  type?: 'counter' | 'gauge';
  from: InstrumentSource | ReadSource | ReadonlyArray<InstrumentSource | ReadSource>;
}

interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

interface FamilyData {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Sample[];
}

/** Samples under the same served name and labels are added up: a relabelled series may gather several of Skein's. */
function addUp(samples: Iterable<Sample>): Sample[] {
  const byKey = new Map<string, Sample>();
  for (const s of samples) {
    const key = `${s.metricName ?? ''}\0${JSON.stringify(s.labels)}`;
    const seen = byKey.get(key);
    if (seen) seen.value += s.value;
    else byKey.set(key, { ...s });
  }
  return [...byKey.values()];
}

function relabel(labels: Readonly<Labels>, spec: Record<string, LabelFrom> | undefined): Labels {
  const out: Labels = {};
  for (const [name, from] of Object.entries(spec ?? {})) {
    out[name] = typeof from === 'string' ? (labels[from] ?? '') : from(labels);
  }
  return out;
}

/** A compatible family as prom-client's registry reads a metric: name, help, type and get(). */
export class CompatView {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: string,
    readonly sources: Array<InstrumentSource | ReadSource>,
  ) {}

  async get(): Promise<FamilyData> {
    const samples: Sample[] = [];
    for (const source of this.sources) {
      if ('read' in source) {
        samples.push({ labels: { ...source.labels }, value: source.read() });
        continue;
      }
      const data = await source.metric.get();
      for (const v of data.values as ReadonlyArray<Sample>) {
        const labels = v.labels;
        const part = v.metricName?.slice(data.name.length) ?? '';
        if (source.count === true && part !== '_count') continue;
        if (source.where && !source.where(labels)) continue;
        const served = relabel(labels, source.labels);
        // A histogram keeps its buckets' bounds.
        if (part === '_bucket') served['le'] = labels['le']!;
        const metricName = part === '' || source.count === true ? undefined : this.name + part;
        samples.push(metricName === undefined ? { labels: served, value: v.value } : { labels: served, value: v.value, metricName });
      }
    }
    // A counter without labels counts from 0, as an unlabelled prom-client counter shows before its first increment.
    if (samples.length === 0 && this.type === 'counter' && this.sources.every((src) => 'metric' in src && src.labels === undefined)) {
      samples.push({ labels: {}, value: 0 });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: addUp(samples) };
  }

  /**
   * Whether the view adds several tenants' series up under no tenant label: a source labelled
   * by tenant that the view does not serve that label of. A reader restricted to some tenants
   * must not see those sums (api/tenant-metrics.ts).
   */
  get mixesTenants(): boolean {
    return this.sources.some((s) => 'metric' in s && (s.metric as { labelNames?: readonly string[] }).labelNames?.includes('tenant') === true && s.labels?.['tenant'] === undefined);
  }

  /** Nothing to reset: the view holds no values (registry.resetMetrics() resets the sources). */
  reset(): void {}
}

function typeOf(family: CompatFamily, sources: ReadonlyArray<InstrumentSource | ReadSource>): string {
  if (family.type) return family.type;
  const first = sources[0];
  if (first === undefined || 'read' in first) throw new Error(`compatible metric ${String(family.name)}: a read source needs a type`);
  if (first.count === true || first.metric instanceof Counter) return 'counter';
  return first.metric instanceof Histogram ? 'histogram' : 'gauge';
}

const views = new Map<string, CompatView>();

/**
 * Serves a family of Tempo's or the collector's under each of its names (see CompatFamily).
 * A name already served gains the new sources: components that share one of Tempo's
 * families (the query API and the receivers, tempo_request_duration_seconds) each declare
 * their part.
 */
export function serveCompat(family: CompatFamily): void {
  const sources = Array.isArray(family.from) ? (family.from as ReadonlyArray<InstrumentSource | ReadSource>) : [family.from as InstrumentSource | ReadSource];
  const type = typeOf(family, sources);
  const names = typeof family.name === 'string' ? [family.name] : family.name;
  for (const name of names) {
    const served = views.get(name);
    if (served) {
      if (served.type !== type) throw new Error(`compatible metric ${name} is a ${served.type}; a ${type} cannot join it`);
      served.sources.push(...sources);
      continue;
    }
    const view = new CompatView(name, family.help, type, [...sources]);
    views.set(name, view);
    // The registry renders any object with a name, help, type and get(), as it does tenant-metrics.ts's filtered views.
    registry.registerMetric(view as unknown as Metric);
  }
}

/** The collector's counter under both spellings: `name` (collectors before the Prometheus exporter's suffixes, and most dashboards) and `name_total` (recent collectors). */
export function collectorCounter(name: string): readonly string[] {
  return [name, `${name}_total`];
}

/**
 * Tempo's `route` label value for a route pattern (weaveworks/common's MakeLabelValue):
 * runs of characters other than letters and digits become `_`, trimmed at both ends,
 * lower-cased. `/api/traces/:traceId` gives `api_traces_traceid`, as Tempo's
 * `/api/traces/{traceID}` does.
 */
export function tempoRoute(route: string): string {
  const value = route.replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase();
  return value === '' ? 'root' : value;
}
