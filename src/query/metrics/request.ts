// The parameters of /api/metrics/query_range and /api/metrics/query, read as Tempo reads
// them (pkg/api/http.go): `q` (or `query`), `start`/`end` as unix seconds (up to ten
// digits, fractions allowed), unix nanoseconds or RFC3339, defaulting to the last `since`
// (default 1h) before now; `step` as seconds or a duration, defaulting to about 240
// points. Each refusal is a message for a 400.
import { parseDuration, parseTraceQL, TraceQLError, validateTraceQL, type MetricsQuery } from '../traceql/index.js';
import { defaultStep, instantTimeline, NANOS_PER_SECOND, rangeTimeline, type Timeline } from './timeline.js';

/** Prometheus' bound on points per series, which Tempo's clients expect too. */
export const MAX_INTERVALS = 11_000;
export const DEFAULT_EXEMPLARS = 100;
const DEFAULT_SINCE = 3600n * NANOS_PER_SECOND;

export interface MetricsParams {
  query: MetricsQuery;
  timeline: Timeline;
  exemplars: number;
  /** The requested range before alignment, for the range limit. */
  startNs: bigint;
  endNs: bigint;
}

type Query = Record<string, string | undefined>;

function param(q: Query, name: string): string | undefined {
  const v = q[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A timestamp as Tempo accepts it, in unix nanoseconds; a message when it is none. */
export function parseTimestamp(value: string, name: string): bigint | string {
  const bad = `invalid ${name} ${JSON.stringify(value)}: expected unix epoch seconds (1700000000 or 1700000000.5), unix nanoseconds or an RFC3339 time`;
  if (/^\d+\.\d*$/.test(value)) {
    const [s, frac = ''] = value.split('.');
    // Tempo keeps milliseconds of a fractional second.
    const ms = Math.round(Number(`0.${frac || '0'}`) * 1000);
    return BigInt(s!) * NANOS_PER_SECOND + BigInt(ms) * 1_000_000n;
  }
  if (/^\d+$/.test(value)) {
    if (value.length > 19) return bad;
    return value.length <= 10 ? BigInt(value) * NANOS_PER_SECOND : BigInt(value);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
    if (m) {
      const ms = Date.parse(`${m[1]}${m[3]}`);
      if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
    }
  }
  return bad;
}

/** `step`: seconds (`30`, `0.5`) or a duration (`30s`, `1m`). */
export function parseStep(value: string): bigint | string {
  const bad = `invalid step ${JSON.stringify(value)}: expected a positive duration such as 30s or 1m, or a number of seconds`;
  let nanos: bigint | null;
  if (/^\d+(\.\d+)?$/.test(value)) nanos = BigInt(Math.round(Number(value) * 1e9));
  else nanos = parseDuration(value);
  if (nanos === null || nanos <= 0n) return bad;
  return nanos;
}

export function parseMetricsParams(q: Query, now: bigint, instant: boolean): MetricsParams | { error: string } {
  const text = param(q, 'q') ?? param(q, 'query');
  if (text === undefined || text.trim() === '') {
    return { error: 'invalid request: q is required: a TraceQL metrics query such as { status = error } | rate() by (resource.service.name)' };
  }
  let query: MetricsQuery;
  try {
    const { ast } = parseTraceQL(text);
    validateTraceQL(ast);
    if (ast.query.type !== 'metricsQuery') {
      return {
        error: `invalid TraceQL query: not a metrics query; end it with a metrics function such as | rate(), | count_over_time() or | quantile_over_time(duration, .99) (use /api/search to find traces)`,
      };
    }
    query = ast.query;
  } catch (err) {
    if (err instanceof TraceQLError) return { error: err.message };
    throw err;
  }

  let since = DEFAULT_SINCE;
  const sinceText = param(q, 'since');
  if (sinceText !== undefined) {
    const d = parseDuration(sinceText);
    if (d === null || d <= 0n) return { error: `invalid since ${JSON.stringify(sinceText)}: expected a duration such as 15m, 1h or 7d` };
    since = d;
  }
  let endNs = now;
  const endText = param(q, 'end');
  if (endText !== undefined) {
    const e = parseTimestamp(endText, 'end');
    if (typeof e === 'string') return { error: e };
    endNs = e;
  }
  let startNs = (endNs < now ? endNs : now) - since;
  const startText = param(q, 'start');
  if (startText !== undefined) {
    const s = parseTimestamp(startText, 'start');
    if (typeof s === 'string') return { error: s };
    startNs = s;
  }
  if (endNs <= startNs) return { error: `invalid time range: end (${endNs} ns) must be after start (${startNs} ns)` };

  let exemplars = DEFAULT_EXEMPLARS;
  const exText = param(q, 'exemplars');
  if (exText !== undefined) {
    if (!/^\d{1,6}$/.test(exText)) return { error: `invalid exemplars ${JSON.stringify(exText)}: expected a number of exemplars, 0 for none` };
    exemplars = Number(exText);
  }

  if (instant) return { query, timeline: instantTimeline(startNs, endNs), exemplars, startNs, endNs };

  let step: bigint;
  const stepText = param(q, 'step');
  if (stepText !== undefined) {
    const s = parseStep(stepText);
    if (typeof s === 'string') return { error: s };
    step = s;
  } else step = defaultStep(startNs, endNs);
  const timeline = rangeTimeline(startNs, endNs, step);
  if (timeline.intervals > MAX_INTERVALS) {
    return { error: `invalid step ${stepText ?? ''}: ${timeline.intervals} points per series exceed the maximum of ${MAX_INTERVALS}; use a larger step or a shorter range` };
  }
  return { query, timeline, exemplars, startNs, endNs };
}
