// The trace view: header with the trace's facts, find in trace, statistics, the
// waterfall and the span detail panel. `?span=` opens a span (deep links).
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ApiError, getJson, uiConfig, type TraceByIdResponse } from '../api';
import { serviceColor } from '../colors';
import { CopyButton } from '../components/CopyButton';
import { formatDuration, formatTime } from '../format';
import { navigate, useLocation } from '../router';
import { useTimeZone } from '../theme';
import { buildTrace, findSpans, logsUrl, operationStats, preorder, toOtlpJson, type Trace, type UiSpan } from '../trace/model';
import { SpanDetail } from '../trace/SpanDetail';
import { Waterfall, type View } from '../trace/Waterfall';

export function TracePage({ params }: { params: Record<string, string> }) {
  const id = (params['id'] ?? '').toLowerCase();
  return <TraceLoader key={id} id={id} />;
}

function TraceLoader({ id }: { id: string }) {
  const [data, setData] = useState<TraceByIdResponse | undefined>();
  const [error, setError] = useState<{ status: number; message: string } | undefined>();
  const [logsTemplate, setLogsTemplate] = useState('');
  useEffect(() => {
    let cancelled = false;
    getJson<TraceByIdResponse>(`/api/v2/traces/${encodeURIComponent(id)}`).then(
      (d) => !cancelled && setData(d),
      (e: unknown) => !cancelled && setError({ status: e instanceof ApiError ? e.status : 0, message: e instanceof Error ? e.message : String(e) }),
    );
    void uiConfig().then((c) => !cancelled && setLogsTemplate(c.logsUrlTemplate));
    return () => {
      cancelled = true;
    };
  }, [id]);
  const trace = useMemo(() => (data ? buildTrace(id.padStart(32, '0'), data.trace) : undefined), [data, id]);
  if (error) {
    return (
      <div className="page" data-testid="trace-error">
        <h1>Trace {id}</h1>
        <div className="error-box">{error.status === 404 ? `No trace with ID ${id} was found. It may be older than the retention period, or not yet received.` : error.message}</div>
      </div>
    );
  }
  if (!data || !trace) return <div className="loading">Loading trace {id}…</div>;
  if (trace.spans.length === 0) return <div className="page">Trace {id} holds no spans.</div>;
  return <TraceView trace={trace} raw={data} logsTemplate={logsTemplate} />;
}

function TraceView({ trace, raw, logsTemplate }: { trace: Trace; raw: TraceByIdResponse; logsTemplate: string }) {
  const loc = useLocation();
  const [tz] = useTimeZone();
  const urlSpan = loc.query.get('span') ?? undefined;
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [selected, setSelected] = useState<string | undefined>(urlSpan && trace.byId.has(urlSpan) ? urlSpan : undefined);
  const [detailOpen, setDetailOpen] = useState(urlSpan !== undefined && trace.byId.has(urlSpan));
  const [view, setView] = useState<View>({ start: 0, end: Math.max(1, trace.duration) });
  const [tab, setTab] = useState<'waterfall' | 'stats'>('waterfall');
  const [showCritical, setShowCritical] = useState(true);
  const [find, setFind] = useState('');
  const [hitIndex, setHitIndex] = useState(0);
  const [scrollToken, setScrollToken] = useState(urlSpan ? 1 : 0);
  const rowsRef = useRef<HTMLDivElement | null>(null);

  const allRows = useMemo(() => preorder(trace.roots), [trace]);
  const rows = useMemo(() => (collapsed.size === 0 ? allRows : preorder(trace.roots, collapsed)), [trace, allRows, collapsed]);
  const hits = useMemo(() => findSpans(trace, find), [trace, find]);
  const hitSet = useMemo(() => new Set(hits.map((h) => h.spanId)), [hits]);
  // Hits in display order, so next/previous walk down the waterfall.
  const orderedHits = useMemo(() => allRows.filter((s) => hitSet.has(s.spanId)), [allRows, hitSet]);
  const currentHit = orderedHits[hitIndex]?.spanId;

  // Tell the benchmark (and anyone curious) when the first full frame is on screen.
  useEffect(() => {
    requestAnimationFrame(() => {
      performance.mark('skein:trace-drawn');
      document.documentElement.dataset['traceDrawn'] = trace.traceId;
    });
  }, [trace]);

  // A ?span= change from outside (a link to another span of this trace) selects it.
  useEffect(() => {
    if (urlSpan && trace.byId.has(urlSpan) && urlSpan !== selected) {
      reveal(urlSpan);
      setDetailOpen(true);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [urlSpan]);

  // Keep ?span= in the URL while a span's details are open, so the address is a deep link.
  useEffect(() => {
    const want = detailOpen && selected ? selected : undefined;
    if (want === urlSpan) return;
    navigate(`/trace/${loc.path.split('/')[2] ?? trace.traceId}${want ? `?span=${want}` : ''}`, { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [detailOpen, selected]);

  /** Selects a span, expanding its collapsed ancestors, and scrolls to it. */
  const reveal = useCallback(
    (spanId: string) => {
      const s = trace.byId.get(spanId);
      if (!s) return;
      setCollapsed((prev) => {
        let next: Set<string> | undefined;
        for (let p = s.parent; p; p = p.parent) {
          if (prev.has(p.spanId)) (next ??= new Set(prev)).delete(p.spanId);
        }
        return next ?? prev;
      });
      setSelected(spanId);
      setScrollToken((n) => n + 1);
    },
    [trace],
  );

  useEffect(() => {
    if (currentHit) reveal(currentHit);
  }, [currentHit, reveal]);

  const toggle = useCallback((s: UiSpan) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(s.spanId)) next.delete(s.spanId);
      else next.add(s.spanId);
      return next;
    });
  }, []);

  const select = useCallback((s: UiSpan, open: boolean) => {
    setSelected(s.spanId);
    if (open) setDetailOpen(true);
  }, []);

  const onKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const i = selected ? rows.findIndex((r) => r.spanId === selected) : -1;
    const cur = rows[i];
    const move = (j: number): void => {
      const t = rows[Math.max(0, Math.min(rows.length - 1, j))];
      if (t) {
        setSelected(t.spanId);
        setScrollToken((n) => n + 1);
      }
    };
    switch (e.key) {
      case 'ArrowDown':
        move(i + 1);
        break;
      case 'ArrowUp':
        move(i < 0 ? 0 : i - 1);
        break;
      case 'PageDown':
        move(i + 20);
        break;
      case 'PageUp':
        move(i - 20);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(rows.length - 1);
        break;
      case 'ArrowRight':
        if (!cur) move(0);
        else if (collapsed.has(cur.spanId)) toggle(cur);
        else if (cur.children.length) move(i + 1);
        break;
      case 'ArrowLeft':
        if (!cur) break;
        if (cur.children.length && !collapsed.has(cur.spanId)) toggle(cur);
        else if (cur.parent) {
          setSelected(cur.parent.spanId);
          setScrollToken((n) => n + 1);
        }
        break;
      case 'Enter':
        if (cur) setDetailOpen((o) => !o);
        break;
      case 'Escape':
        setDetailOpen(false);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const root = trace.roots[0]!;
  const traceLogs = logsUrl(logsTemplate, trace);
  const selectedSpan = selected ? trace.byId.get(selected) : undefined;

  const download = (): void => {
    const blob = new Blob([JSON.stringify(toOtlpJson(raw.trace), null, 1)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `trace-${trace.traceId}.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  const setAllCollapsed = (on: boolean): void => {
    setCollapsed(on ? new Set(trace.spans.filter((s) => s.children.length && s !== root).map((s) => s.spanId)) : new Set());
  };

  return (
    <div className="trace-page" data-testid="trace-page" data-trace-id={trace.traceId}>
      <div className="trace-head">
        <h1 data-testid="trace-title">
          <span style={{ color: serviceColor(root.service) }}>{root.service}</span>: {root.name}
        </h1>
        <div className="meta">
          <span className="mono">
            {trace.traceId}
            <CopyButton text={trace.traceId} />
          </span>
          <span>{formatTime(trace.startMs, tz)}</span>
          <span>
            duration <strong>{formatDuration(trace.duration)}</strong>
          </span>
          <span data-testid="trace-span-count">
            <strong>{trace.spans.length.toLocaleString()}</strong> spans
          </span>
          <span>depth {trace.maxDepth + 1}</span>
          {trace.errorCount > 0 && <span className="err">{trace.errorCount} errors</span>}
          {raw.status === 'PARTIAL' && <span className="err" title={raw.message}>partial: {raw.message}</span>}
        </div>
        <div className="legend">
          {trace.services.map((s) => (
            <span className="chip" key={s}>
              <span className="dot" style={{ background: serviceColor(s) }} />
              {s}
            </span>
          ))}
        </div>
      </div>
      <div className="trace-tools">
        <div className="tabs" style={{ border: 'none' }}>
          <button type="button" className={tab === 'waterfall' ? 'on' : ''} onClick={() => setTab('waterfall')}>
            Waterfall
          </button>
          <button type="button" className={tab === 'stats' ? 'on' : ''} onClick={() => setTab('stats')} data-testid="stats-tab">
            Statistics
          </button>
        </div>
        <input
          className="find"
          placeholder="Find: name, attribute value, span ID"
          value={find}
          data-testid="find-input"
          aria-label="Find in trace"
          onChange={(e) => {
            setFind(e.target.value);
            setHitIndex(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && orderedHits.length) {
              e.preventDefault();
              setHitIndex((h) => (e.shiftKey ? (h - 1 + orderedHits.length) % orderedHits.length : (h + 1) % orderedHits.length));
            }
          }}
        />
        <span className="muted" data-testid="find-count">
          {find ? (orderedHits.length ? `${hitIndex + 1} / ${orderedHits.length}` : 'no match') : ''}
        </span>
        <button type="button" disabled={!orderedHits.length} onClick={() => setHitIndex((h) => (h - 1 + orderedHits.length) % orderedHits.length)} title="Previous match (Shift+Enter)" data-testid="find-prev">
          ‹
        </button>
        <button type="button" disabled={!orderedHits.length} onClick={() => setHitIndex((h) => (h + 1) % orderedHits.length)} title="Next match (Enter)" data-testid="find-next">
          ›
        </button>
        <button type="button" onClick={() => setAllCollapsed(false)} data-testid="expand-all">
          Expand all
        </button>
        <button type="button" onClick={() => setAllCollapsed(true)} data-testid="collapse-all">
          Collapse all
        </button>
        <label>
          <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.target.checked)} /> critical path
        </label>
        {(view.start > 0 || view.end < trace.duration) && (
          <button type="button" onClick={() => setView({ start: 0, end: Math.max(1, trace.duration) })}>
            Reset zoom
          </button>
        )}
        <div className="spacer" />
        {traceLogs && (
          <a href={traceLogs} target="_blank" rel="noreferrer" data-testid="trace-logs-link">
            Logs ↗
          </a>
        )}
        <button type="button" onClick={download} data-testid="download-json" title="The trace as OTLP/JSON, which /v1/traces accepts back">
          Download OTLP JSON
        </button>
      </div>
      <div className="trace-body" ref={rowsRef}>
        {tab === 'waterfall' ? (
          <Waterfall
            trace={trace}
            rows={rows}
            allRows={allRows}
            collapsed={collapsed}
            selected={selected}
            hits={hitSet}
            currentHit={currentHit}
            showCritical={showCritical}
            view={view}
            onView={setView}
            onToggle={toggle}
            onSelect={select}
            onKey={onKey}
            scrollToken={scrollToken}
          />
        ) : (
          <Stats trace={trace} />
        )}
        {detailOpen && selectedSpan && (
          <SpanDetail trace={trace} span={selectedSpan} tz={tz} logsTemplate={logsTemplate} onClose={() => setDetailOpen(false)} onSelect={(s) => reveal(s.spanId)} />
        )}
      </div>
    </div>
  );
}

type StatKey = 'count' | 'total' | 'self' | 'errors' | 'max';

function Stats({ trace }: { trace: Trace }) {
  const [key, setKey] = useState<StatKey>('self');
  const stats = useMemo(() => operationStats(trace), [trace]);
  const byService = useMemo(() => {
    const m = new Map<string, { count: number; total: number; self: number; errors: number }>();
    for (const o of stats) {
      const s = m.get(o.service) ?? { count: 0, total: 0, self: 0, errors: 0 };
      s.count += o.count;
      s.total += o.total;
      s.self += o.self;
      s.errors += o.errors;
      m.set(o.service, s);
    }
    return [...m.entries()].sort((a, b) => b[1].self - a[1].self);
  }, [stats]);
  const sorted = [...stats].sort((a, b) => b[key] - a[key]);
  const th = (k: StatKey, label: string) => (
    <th className="num" style={{ cursor: 'pointer' }} onClick={() => setKey(k)}>
      {label}
      {key === k ? ' ▾' : ''}
    </th>
  );
  return (
    <div style={{ flex: 1, overflow: 'auto', padding: '10px 14px' }} data-testid="trace-stats">
      <h3>By service</h3>
      <table className="stats-table">
        <thead>
          <tr>
            <th>Service</th>
            <th className="num">Spans</th>
            <th className="num">Errors</th>
            <th className="num">Total time</th>
            <th className="num">Self time</th>
            <th className="num">% of trace self time</th>
          </tr>
        </thead>
        <tbody>
          {byService.map(([svc, s]) => (
            <tr key={svc}>
              <td>
                <span className="chip">
                  <span className="dot" style={{ background: serviceColor(svc) }} />
                  {svc}
                </span>
              </td>
              <td className="num">{s.count}</td>
              <td className={`num ${s.errors ? 'err' : ''}`}>{s.errors}</td>
              <td className="num">{formatDuration(s.total)}</td>
              <td className="num">{formatDuration(s.self)}</td>
              <td className="num">{((s.self / Math.max(1, byService.reduce((n, [, x]) => n + x.self, 0))) * 100).toFixed(1)}%</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>By operation</h3>
      <table className="stats-table">
        <thead>
          <tr>
            <th>Service</th>
            <th>Operation</th>
            {th('count', 'Count')}
            {th('errors', 'Errors')}
            {th('total', 'Total')}
            {th('self', 'Self')}
            {th('max', 'Max')}
          </tr>
        </thead>
        <tbody>
          {sorted.slice(0, 500).map((o) => (
            <tr key={`${o.service}\u0000${o.name}`} data-testid="stats-row">
              <td>{o.service}</td>
              <td>{o.name}</td>
              <td className="num">{o.count}</td>
              <td className={`num ${o.errors ? 'err' : ''}`}>{o.errors}</td>
              <td className="num">{formatDuration(o.total)}</td>
              <td className="num">{formatDuration(o.self)}</td>
              <td className="num">{formatDuration(o.max)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sorted.length > 500 && <div className="muted">{sorted.length - 500} more operations not shown</div>}
    </div>
  );
}
