// Hot paths: the span names pinned in the config (ui.hot_paths), each with its
// rate, error rate and p50/p99 from the spanmetrics connector and its most
// recent spans from search; above them, Skein's own ingest figures, turned
// into per-second rates from two successive reads of /api/skein/ingest-stats.
import { useEffect, useRef, useState } from 'react';
import { getJson, qs, uiConfig, type SearchResponse } from '../api';
import { Link, navigate, useLocation } from '../router';
import { useTimeZone } from '../theme';
import { formatDuration, formatTime, nanosToMs } from '../format';
import { serviceColor } from '../colors';
import {
  fetchOperations,
  formatBytes,
  formatErrorRate,
  formatRate,
  formatSeconds,
  usePolling,
  windowSeconds,
  WINDOWS,
  type IngestStats,
  type Operation,
} from '../red';
import './dashboards.css';

const INGEST_POLL_MS = 2_000;
const HISTORY = 60;
const REFRESH_MS = 15_000;
const RECENT = 10;

interface Sample {
  stats: IngestStats;
  /** Per-second rates against the sample before, undefined for the first. */
  rates?: { received: number; refused: number; stored: number; sampled: number; dropped: number; requestsRefused: number };
}

function useIngestHistory(): { samples: Sample[]; error: string } {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = (): void => {
      getJson<IngestStats>('/api/skein/ingest-stats')
        .then((stats) => {
          if (cancelled) return;
          setError('');
          setSamples((prev) => {
            const last = prev.at(-1)?.stats;
            const dt = last ? (stats.timeMs - last.timeMs) / 1000 : 0;
            // A counter that went down means Skein restarted: start the rates afresh.
            const per = (a: number, b: number): number => (dt > 0 && a >= b ? (a - b) / dt : 0);
            const rates =
              last && dt > 0
                ? {
                    received: per(stats.spans.received, last.spans.received),
                    refused: per(stats.spans.refused, last.spans.refused),
                    stored: per(stats.spans.stored, last.spans.stored),
                    sampled: per(stats.tailSampling.tracesSampled, last.tailSampling.tracesSampled),
                    dropped: per(stats.tailSampling.tracesDropped, last.tailSampling.tracesDropped),
                    requestsRefused: per(stats.requestsRefused, last.requestsRefused),
                  }
                : undefined;
            return [...prev, rates ? { stats, rates } : { stats }].slice(-HISTORY);
          });
        })
        .catch((e: unknown) => !cancelled && setError(e instanceof Error ? e.message : String(e)))
        .finally(() => {
          if (!cancelled) timer = setTimeout(run, INGEST_POLL_MS);
        });
    };
    run();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, []);
  return { samples, error };
}

function Spark({ values }: { values: number[] }) {
  if (values.length < 2) return <svg className="spark" />;
  const W = 160;
  const H = 26;
  const max = Math.max(...values, 1e-9);
  const pts = values.map((v, i) => [(i / (HISTORY - 1)) * W + (W - ((values.length - 1) / (HISTORY - 1)) * W), H - 2 - (v / max) * (H - 4)] as const);
  const line = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return (
    <svg className="spark" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" aria-hidden="true">
      <path className="area" d={`${line} L${pts.at(-1)![0]},${H} L${pts[0]![0]},${H} z`} />
      <path d={line} />
    </svg>
  );
}

function Tile(props: { id: string; label: string; value: string; sub?: string; spark?: number[]; bad?: boolean; title?: string }) {
  return (
    <div className={`tile ${props.bad ? 'bad' : ''}`} data-testid={`ingest-${props.id}`} title={props.title}>
      <span className="label">{props.label}</span>
      <span className="value">{props.value}</span>
      {props.spark && <Spark values={props.spark} />}
      {props.sub && <span className="sub">{props.sub}</span>}
    </div>
  );
}

function IngestPanels() {
  const { samples, error } = useIngestHistory();
  const last = samples.at(-1);
  if (error && !last) return <div className="error-box">{error}</div>;
  if (!last) return <div className="loading">Loading…</div>;
  const s = last.stats;
  const r = last.rates;
  const series = (k: keyof NonNullable<Sample['rates']>): number[] => samples.flatMap((x) => (x.rates ? [x.rates[k]] : []));
  const rate = (v: number | undefined): string => (v === undefined ? '…' : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}/s`);
  return (
    <div className="ingest-grid" data-testid="ingest-panels">
      <Tile id="received" label="Spans received" value={rate(r?.received)} spark={series('received')} sub={`${s.spans.received.toLocaleString()} since start`} />
      <Tile
        id="refused"
        label="Spans refused"
        value={rate(r?.refused)}
        spark={series('refused')}
        bad={(r?.refused ?? 0) > 0 || s.memoryLimiter.refusing}
        sub={`${s.spans.refused.toLocaleString()} spans, ${s.requestsRefused.toLocaleString()} requests since start${s.memoryLimiter.refusing ? ' · memory limiter refusing now' : ''}`}
      />
      <Tile id="stored" label="Spans stored" value={rate(r?.stored)} spark={series('stored')} sub={`${s.spans.stored.toLocaleString()} since start`} />
      {s.tailSampling.enabled ? (
        <Tile
          id="sampled"
          label="Traces sampled (tail)"
          value={rate(r?.sampled)}
          spark={series('sampled')}
          sub={`dropped ${rate(r?.dropped)} · waiting ${s.tailSampling.bufferedTraces.toLocaleString()} traces`}
        />
      ) : (
        <Tile id="sampled" label="Traces sampled (tail)" value="off" sub="no tail_sampling processor in the pipeline" />
      )}
      <Tile
        id="queue"
        label="Queue depth"
        value={s.exporterQueue.capacity > 0 ? `${s.exporterQueue.size} / ${s.exporterQueue.capacity}` : String(s.tailSampling.bufferedSpans)}
        sub={
          s.exporterQueue.capacity > 0
            ? `exporter batches waiting · ${s.tailSampling.bufferedSpans.toLocaleString()} spans awaiting a sampling decision`
            : 'spans awaiting a sampling decision (no otlp exporter queue)'
        }
        bad={s.exporterQueue.capacity > 0 && s.exporterQueue.size >= s.exporterQueue.capacity}
      />
      <Tile id="wal" label="WAL on disk" value={formatBytes(s.disk.walBytes)} sub={`head: ${s.head.spans.toLocaleString()} spans, ${formatBytes(s.head.bytes)}`} />
      <Tile id="blocks" label="Blocks on disk" value={formatBytes(s.disk.blockBytes)} sub={`${s.disk.blocks} block${s.disk.blocks === 1 ? '' : 's'}`} />
      <Tile id="rss" label="Memory (RSS)" value={formatBytes(s.process.rssBytes)} bad={s.memoryLimiter.refusing} sub={`live tails open: ${s.liveTails.open} of ${s.liveTails.max}`} />
    </div>
  );
}

interface RecentSpan {
  traceId: string;
  spanId: string;
  startMs: number;
  durationNs: number;
  service: string;
  error: boolean;
}

function recentSpans(res: SearchResponse, name: string): RecentSpan[] {
  const out: RecentSpan[] = [];
  for (const t of res.traces ?? []) {
    for (const set of t.spanSets ?? []) {
      for (const sp of set.spans) {
        if (sp.name !== undefined && sp.name !== name) continue;
        const attr = (k: string) => sp.attributes?.find((a) => a.key === k)?.value;
        const status = attr('status');
        out.push({
          traceId: t.traceID,
          spanId: sp.spanID,
          startMs: nanosToMs(sp.startTimeUnixNano),
          durationNs: Number(sp.durationNanos ?? 0),
          service: attr('service.name')?.stringValue ?? t.rootServiceName ?? '',
          error: status?.stringValue === 'error',
        });
      }
    }
  }
  return out.sort((a, b) => b.startMs - a.startMs).slice(0, RECENT);
}

function HotPath(props: { name: string; operations: Operation[] | undefined; windowKey: string; seconds: number }) {
  const { name } = props;
  const [tz] = useTimeZone();
  const q = `{ name = ${JSON.stringify(name)} } | select(status)`;
  const recent = usePolling(
    () => {
      const end = Math.ceil(Date.now() / 1000);
      return getJson<SearchResponse>(`/api/search${qs({ q, limit: RECENT, spss: 3, start: end - props.seconds, end })}`).then((r) => recentSpans(r, name));
    },
    REFRESH_MS,
    [name, props.seconds],
  );
  const ops = (props.operations ?? []).filter((o) => o.spanName === name);
  const calls = ops.reduce((n, o) => n + o.calls, 0);
  const errors = ops.reduce((n, o) => n + o.errors, 0);
  const rate = ops.reduce((n, o) => n + o.ratePerSecond, 0);
  // Quantiles of different operations cannot be merged: show the busiest one's, and each in the table below.
  const busiest = [...ops].sort((a, b) => b.calls - a.calls)[0];
  return (
    <section className="hot" data-testid="hot-path" data-name={name}>
      <div className="hot-head">
        <h2>{name}</h2>
        <div className="spacer" />
        <Link href={`/search${qs({ mode: 'traceql', q: `{ name = ${JSON.stringify(name)} }`, range: props.windowKey })}`}>Search →</Link>
      </div>
      {props.operations !== undefined && ops.length === 0 ? (
        <div className="muted" data-testid="hot-empty">
          No {name} spans in the last {props.windowKey}.
        </div>
      ) : (
        <div className="red-figures">
          <div>
            <span className="label">Rate</span>
            <span className="value" data-testid="hot-rate">
              {props.operations ? formatRate(rate) : '…'}
            </span>
          </div>
          <div>
            <span className="label">Errors</span>
            <span className={`value ${errors ? 'err' : ''}`} data-testid="hot-errors" title={`${errors} of ${calls} calls`}>
              {props.operations ? formatErrorRate(errors, calls) : '…'}
            </span>
          </div>
          <div>
            <span className="label">p50</span>
            <span className="value" data-testid="hot-p50">
              {busiest ? formatSeconds(busiest.p50Seconds) : '…'}
            </span>
          </div>
          <div>
            <span className="label">p99</span>
            <span className="value" data-testid="hot-p99">
              {busiest ? formatSeconds(busiest.p99Seconds) : '…'}
            </span>
          </div>
          <div>
            <span className="label">Calls</span>
            <span className="value" data-testid="hot-calls">
              {props.operations ? calls : '…'}
            </span>
          </div>
        </div>
      )}
      {ops.length > 1 && (
        <table className="results red">
          <thead>
            <tr>
              <th>Service</th>
              <th>Kind</th>
              <th className="num">Rate</th>
              <th className="num">Errors</th>
              <th className="num">p50</th>
              <th className="num">p99</th>
            </tr>
          </thead>
          <tbody>
            {ops.map((o) => (
              <tr key={`${o.service}|${o.spanKind}`}>
                <td>{o.service}</td>
                <td className="muted">{o.spanKind.replace(/^SPAN_KIND_/, '').toLowerCase()}</td>
                <td className="num">{formatRate(o.ratePerSecond)}</td>
                <td className={`num ${o.errors ? 'err' : ''}`}>{formatErrorRate(o.errors, o.calls)}</td>
                <td className="num">{formatSeconds(o.p50Seconds)}</td>
                <td className="num">{formatSeconds(o.p99Seconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Recent spans</h3>
      {recent.error && <div className="error-box">{recent.error}</div>}
      {recent.data && recent.data.length === 0 && <div className="muted">None in the last {props.windowKey}.</div>}
      {recent.data && recent.data.length > 0 && (
        <table className="results red" data-testid="hot-recent">
          <tbody>
            {recent.data.map((s) => (
              <tr key={`${s.traceId}-${s.spanId}`} data-trace-id={s.traceId}>
                <td className="mono" style={{ whiteSpace: 'nowrap' }}>
                  {formatTime(s.startMs, tz)}
                </td>
                <td>
                  <span className="chip">
                    <span className="dot" style={{ background: serviceColor(s.service) }} />
                    {s.service}
                  </span>
                  {s.error && <span className="err"> error</span>}
                </td>
                <td className="num">{formatDuration(s.durationNs)}</td>
                <td>
                  <Link href={`/trace/${s.traceId}?span=${s.spanId}`} className="mono">
                    {s.traceId.slice(0, 16)}…
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function HotPathsPage() {
  const loc = useLocation();
  const windowKey = WINDOWS.some((w) => w.key === loc.query.get('window')) ? loc.query.get('window')! : '15m';
  const seconds = windowSeconds(windowKey);
  const [names, setNames] = useState<string[] | undefined>();
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    void uiConfig().then((c) => mounted.current && setNames((c as { hotPaths?: string[] }).hotPaths ?? []));
    return () => {
      mounted.current = false;
    };
  }, []);
  const ops = usePolling(() => fetchOperations(seconds), REFRESH_MS, [seconds]);

  return (
    <div className="page">
      <div className="dash-head">
        <h1>Ingest</h1>
        <span className="muted">Skein's own figures, every {INGEST_POLL_MS / 1000} s</span>
      </div>
      <IngestPanels />
      <div className="dash-head">
        <h1>Hot paths</h1>
        <span className="muted">span names pinned in ui.hot_paths</span>
        <div className="spacer" />
        <label htmlFor="hot-window">Window</label>
        <select
          id="hot-window"
          value={windowKey}
          onChange={(e) => navigate(`/hot-paths${e.target.value === '15m' ? '' : `?window=${e.target.value}`}`, { replace: true })}
          data-testid="window-select"
        >
          {WINDOWS.map((w) => (
            <option key={w.key} value={w.key}>
              Last {w.key}
            </option>
          ))}
        </select>
      </div>
      {ops.error && <div className="error-box">{ops.error}</div>}
      {names && names.length === 0 && (
        <div className="empty">
          No span names are pinned. List them in the configuration under <code>ui.hot_paths</code>.
        </div>
      )}
      <div className="hot-grid">
        {(names ?? []).map((n) => (
          <HotPath key={n} name={n} operations={ops.data} windowKey={windowKey} seconds={seconds} />
        ))}
      </div>
    </div>
  );
}
