// Series of a TraceQL metrics query: the first stage (one accumulator per by() value
// combination, fed span by span or by SQL aggregates), the values Tempo derives from
// it, and the second stage (topk, bottomk, sample filters).
import type { AttributeRef, ComparisonOp, ConstExpr, MetricsAggregate, SecondStage } from '../traceql/ast.js';
import { printAttributeRef } from '../traceql/printer.js';
import { formatDuration, valKey, valToJson, type Val } from '../traceql/engine/values.js';
import { timestampMsOf, type Timeline } from './timeline.js';

export interface Label {
  key: string;
  value: Val;
}

export interface Exemplar {
  traceId: string;
  spanId: string;
  /** Span start, unix nanoseconds. */
  start: bigint;
  /** The measured value (seconds for durations), NaN for counting functions. */
  value: number;
}

export interface Series {
  labels: Label[];
  /** One per interval; NaN = no sample. */
  values: Float64Array;
  exemplars: Exemplar[];
}

/** A query that exceeds a bound of the `query:` section; `status` is the HTTP status to answer. */
export class MetricsLimitError extends Error {
  constructor(
    readonly status: 400 | 413 | 422 | 429,
    message: string,
  ) {
    super(message);
    this.name = 'MetricsLimitError';
  }
}

/** What one observation adds to an interval: a single span, or a SQL group of them. */
export interface Observation {
  count: number;
  /** Over the spans that have a numeric value (nanoseconds for durations). */
  min: number;
  max: number;
  sum: number;
  valued: number;
  exemplar: Exemplar | undefined;
}

interface Group {
  by: Val[];
  /** log2 bucket exponent (histogram_over_time, quantile_over_time). */
  exponent: number | undefined;
  count: Float64Array;
  min: Float64Array;
  max: Float64Array;
  sum: Float64Array;
  valued: Float64Array;
  exemplars: Array<Exemplar | undefined>;
}

const DURATION_INTRINSICS = new Set(['duration', 'traceDuration', 'event:timeSinceStart']);

/** Whether the measured attribute is a duration: observed in nanoseconds, reported in seconds. */
export function measuresDuration(a: AttributeRef | null): boolean {
  return a !== null && a.type === 'intrinsic' && DURATION_INTRINSICS.has(a.name);
}

/** Tempo's Log2Bucketize as an exponent: the bucket of v ≥ 2 is 2^ceil(log2 v). */
export function log2Exponent(v: number): number | undefined {
  return v >= 2 ? Math.ceil(Math.log2(v)) : undefined;
}

function earlier(a: Exemplar, b: Exemplar): boolean {
  return a.start < b.start || (a.start === b.start && (a.traceId < b.traceId || (a.traceId === b.traceId && a.spanId < b.spanId)));
}

/** The first stage of one metrics pipeline: spans (or SQL groups of them) in, series out. */
export class FirstStage {
  private readonly groups = new Map<string, Group>();
  readonly scaleSeconds: boolean;
  readonly bucketed: boolean;

  constructor(
    readonly agg: MetricsAggregate,
    readonly timeline: Timeline,
    private readonly maxSeries: number,
    readonly keepExemplars: boolean,
  ) {
    this.scaleSeconds = measuresDuration(agg.attr);
    this.bucketed = agg.fn === 'histogram_over_time' || agg.fn === 'quantile_over_time';
  }

  get seriesCount(): number {
    return this.groups.size;
  }

  add(by: Val[], exponent: number | undefined, interval: number, o: Observation): void {
    const key = by.map(valKey).join('\u0000') + (exponent === undefined ? '' : `\u0000b${exponent}`);
    let g = this.groups.get(key);
    if (!g) {
      if (this.maxSeries > 0 && this.groups.size >= this.maxSeries) {
        throw new MetricsLimitError(
          422,
          `the query produces more than query.max_metrics_series=${this.maxSeries} series; narrow the filter, group by fewer attributes or raise the limit`,
        );
      }
      const n = this.timeline.intervals;
      g = {
        by,
        exponent,
        count: new Float64Array(n),
        min: new Float64Array(n).fill(NaN),
        max: new Float64Array(n).fill(NaN),
        sum: new Float64Array(n),
        valued: new Float64Array(n),
        exemplars: [],
      };
      this.groups.set(key, g);
    }
    g.count[interval]! += o.count;
    if (o.valued > 0) {
      if (!(g.min[interval]! <= o.min)) g.min[interval] = o.min;
      if (!(g.max[interval]! >= o.max)) g.max[interval] = o.max;
      g.sum[interval]! += o.sum;
      g.valued[interval]! += o.valued;
    }
    if (this.keepExemplars && o.exemplar) {
      const cur = g.exemplars[interval];
      if (!cur || earlier(o.exemplar, cur)) g.exemplars[interval] = o.exemplar;
    }
  }

  /** The series Tempo reports for the function, before any second stage. */
  series(): Series[] {
    const { fn, by, quantiles } = this.agg;
    const n = this.timeline.intervals;
    // Tempo divides nanoseconds by 1e9: exact for every whole number of them, unlike * 1e-9.
    const scale = this.scaleSeconds ? 1e9 : 1;
    const stepSeconds = Number(this.timeline.step) / 1e9;
    const out: Series[] = [];
    const exemplarsOf = (g: Group, valueAt: (i: number) => number): Exemplar[] =>
      g.exemplars.flatMap((e, i) => (e && !Number.isNaN(valueAt(i)) ? [e] : []));

    if (fn === 'quantile_over_time') {
      const byGroup = new Map<string, { by: Val[]; hist: Array<Map<number, number>>; exemplars: Exemplar[] }>();
      for (const g of this.groups.values()) {
        const key = g.by.map(valKey).join('\u0000');
        let h = byGroup.get(key);
        if (!h) byGroup.set(key, (h = { by: g.by, hist: Array.from({ length: n }, () => new Map<number, number>()), exemplars: [] }));
        for (let i = 0; i < n; i++) if (g.count[i]! > 0) h.hist[i]!.set(g.exponent!, (h.hist[i]!.get(g.exponent!) ?? 0) + g.count[i]!);
        h.exemplars.push(...g.exemplars.filter((e): e is Exemplar => e !== undefined));
      }
      for (const h of byGroup.values()) {
        for (const q of quantiles ?? []) {
          const values = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            const buckets = [...h.hist[i]!.entries()].sort((a, b) => a[0] - b[0]).map(([e, c]) => ({ max: 2 ** e / scale, count: c }));
            values[i] = buckets.length === 0 ? 0 : log2Quantile(q, buckets);
          }
          out.push({ labels: groupLabels(by, h.by, { key: 'p', value: { t: 'float', v: q } }, fn), values, exemplars: [] });
        }
        // Tempo hands each exemplar to the smallest quantile whose overall value covers it.
        assignQuantileExemplars(out.slice(out.length - (quantiles?.length ?? 0)), h.exemplars, quantiles ?? [], h.hist, scale);
      }
      return out;
    }

    for (const g of this.groups.values()) {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const c = g.count[i]!;
        switch (fn) {
          case 'rate':
            values[i] = c * (1 / stepSeconds);
            break;
          case 'count_over_time':
          case 'histogram_over_time':
            values[i] = c;
            break;
          case 'min_over_time':
            values[i] = g.min[i]! / scale;
            break;
          case 'max_over_time':
            values[i] = g.max[i]! / scale;
            break;
          case 'sum_over_time':
            values[i] = g.valued[i]! > 0 ? g.sum[i]! / scale : NaN;
            break;
          case 'avg_over_time':
            values[i] = g.valued[i]! > 0 ? g.sum[i]! / g.valued[i]! / scale : NaN;
            break;
          default:
            values[i] = NaN;
        }
      }
      const extra = g.exponent !== undefined ? { key: '__bucket', value: { t: 'float', v: 2 ** g.exponent / scale } as Val } : undefined;
      out.push({ labels: groupLabels(by, g.by, extra, fn), values, exemplars: exemplarsOf(g, (i) => values[i]!) });
    }
    return out;
  }
}

/**
 * Tempo's labels for a series: one per by() value that is not nil, then the bucket or
 * quantile label; all nil gives the first by() label with value nil; no by() at all
 * gives `__name__` = the function (`{__name__="rate"}`).
 */
function groupLabels(by: readonly AttributeRef[], values: readonly Val[], extra: Label | undefined, fn: string): Label[] {
  if (by.length === 0 && !extra) return [{ key: '__name__', value: { t: 'string', v: fn } }];
  const labels: Label[] = [];
  by.forEach((a, i) => {
    const v = values[i]!;
    if (v.t !== 'nil') labels.push({ key: printAttributeRef(a), value: v });
  });
  if (labels.length === 0 && by.length > 0 && !(extra && extra.key === '__bucket')) labels.push({ key: printAttributeRef(by[0]!), value: { t: 'nil' } });
  if (extra) labels.push(extra);
  return labels;
}

function assignQuantileExemplars(series: Series[], exemplars: Exemplar[], qs: readonly number[], hist: Array<Map<number, number>>, scale: number): void {
  if (exemplars.length === 0 || qs.length === 0) return;
  const total = new Map<number, number>();
  for (const h of hist) for (const [e, c] of h) total.set(e, (total.get(e) ?? 0) + c);
  const buckets = [...total.entries()].sort((a, b) => a[0] - b[0]).map(([e, c]) => ({ max: 2 ** e / scale, count: c }));
  const thresholds = qs.map((q) => log2Quantile(q, buckets));
  for (const e of exemplars.sort((a, b) => (earlier(a, b) ? -1 : 1))) {
    let target = thresholds.findIndex((t) => e.value <= t);
    if (target < 0) target = thresholds.length - 1;
    series[target]!.exemplars.push(e);
  }
}

/** Tempo's Log2Quantile: the bucket holding the p-th sample, interpolated exponentially within it. */
export function log2Quantile(p: number, buckets: ReadonlyArray<{ max: number; count: number }>): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || buckets.length === 0) return 0;
  const totalCount = buckets.reduce((n, b) => n + b.count, 0);
  if (totalCount === 0) return 0;
  const maxSamples = Math.max(1, Math.ceil(p * totalCount));
  let total = 0;
  let bucket = 0;
  for (let i = 0; i < buckets.length; i++) {
    bucket = i;
    const b = buckets[i]!;
    if (total + b.count > maxSamples) break;
    total += b.count;
    if (total === maxSamples) return b.max;
  }
  const interp = (maxSamples - total) / buckets[bucket]!.count;
  const maxV = Math.log2(buckets[bucket]!.max);
  const minV = bucket > 0 ? Math.log2(buckets[bucket - 1]!.max) : maxV - 1;
  return 2 ** (minV + (maxV - minV) * interp);
}

// ── second stage ─────────────────────────────────────────────────────────────

export function applySecondStage(series: Series[], stages: readonly SecondStage[], intervals: number): Series[] {
  let out = series;
  for (const s of stages) {
    if (s.type === 'metricsFilter') {
      const limit = constValue(s.value);
      out = out.map((x) => ({ ...x, values: x.values.map((v) => (!Number.isNaN(v) && holds(s.op, v, limit) ? v : NaN)) }));
    } else {
      out = topk(out, Number(s.limit), s.type === 'bottomk', intervals);
    }
  }
  return out;
}

function holds(op: ComparisonOp, a: number, b: number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** Numbers of a constant expression; durations count in seconds, as the series do. */
export function constValue(e: ConstExpr): number {
  if (e.type === 'constOperation') {
    const a = constValue(e.lhs);
    const b = constValue(e.rhs);
    return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
  }
  if (e.valueType === 'duration') return Number(e.nanos) / 1e9;
  return Number(e.value);
}

/**
 * Tempo's topk/bottomk: at each interval the k series with the highest (lowest) values
 * keep that sample, the others lose it. Ties go to the series whose labels sort first.
 */
function topk(series: Series[], k: number, bottom: boolean, intervals: number): Series[] {
  const ordered = [...series].sort((a, b) => (promLabels(a.labels) < promLabels(b.labels) ? -1 : 1));
  const kept = ordered.map((s) => ({ ...s, values: new Float64Array(intervals).fill(NaN) }));
  for (let i = 0; i < intervals; i++) {
    const candidates = ordered.map((s, idx) => ({ idx, v: s.values[i]! })).filter((c) => !Number.isNaN(c.v));
    candidates.sort((a, b) => (bottom ? a.v - b.v : b.v - a.v) || a.idx - b.idx);
    for (const c of candidates.slice(0, k)) kept[c.idx]!.values[i] = c.v;
  }
  return kept;
}

// ── output ───────────────────────────────────────────────────────────────────

/** Go's strconv.FormatFloat(f, 'g', -1, 64), which Tempo's label strings use. */
export function goFloat(f: number): string {
  if (!Number.isFinite(f)) return Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return '0';
  const [mant, expText] = f.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  // Shortest formatting switches to an exponent below 1e-4 and from 1e6 up.
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f);
}

function promValue(v: Val): string {
  switch (v.t) {
    case 'nil':
      return '<nil>';
    case 'string':
      return v.v === '' ? '<empty>' : v.v === 'nil' ? '<nil>' : v.v;
    case 'float':
      return goFloat(v.v);
    case 'duration':
      return formatDuration(v.v);
    case 'int':
    case 'bool':
    case 'status':
    case 'kind':
      return String(v.v);
    default:
      return '';
  }
}

/** Prometheus' text form of the labels, sorted by name: `{resource.service.name="cart", p="0.9"}`. */
export function promLabels(labels: readonly Label[]): string {
  const parts = [...labels].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((l) => `${l.key}=${JSON.stringify(promValue(l.value))}`);
  return `{${parts.join(', ')}}`;
}

export function labelJson(l: Label): { key: string; value: Record<string, unknown> } {
  return { key: l.key, value: l.value.t === 'nil' ? { stringValue: 'nil' } : (valToJson(l.value) ?? { stringValue: promValue(l.value) }) };
}

function sampleValue(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** Tempo's JSON for one sample, exemplar or series (jsonpb: zero fields left out, int64 as strings). */
export function seriesJson(s: Series, t: Timeline, maxExemplars: { left: number }): Record<string, unknown> | undefined {
  const samples: Array<Record<string, unknown>> = [];
  s.values.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    samples.push(v === 0 ? { timestampMs: String(timestampMsOf(t, i)) } : { timestampMs: String(timestampMsOf(t, i)), value: sampleValue(v) });
  });
  if (samples.length === 0) return undefined;
  const out: Record<string, unknown> = { labels: s.labels.map(labelJson), samples, promLabels: promLabels(s.labels) };
  const exemplars = s.exemplars.slice(0, Math.max(0, maxExemplars.left));
  maxExemplars.left -= exemplars.length;
  if (exemplars.length > 0) out['exemplars'] = exemplars.map((e) => exemplarJson(e));
  return out;
}

function exemplarJson(e: Exemplar): Record<string, unknown> {
  const out: Record<string, unknown> = {
    labels: [
      { key: 'trace:id', value: { stringValue: e.traceId } },
      { key: 'span:id', value: { stringValue: e.spanId } },
    ],
    timestampMs: String(e.start / 1_000_000n),
  };
  if (e.value !== 0) out['value'] = sampleValue(e.value);
  return out;
}
