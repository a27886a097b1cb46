// Search: a form (builder or TraceQL) kept in the URL so a search can be shared
// and the back button works, then a scatter plot and a sortable table of the
// most recent matching traces.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, getJson, qs, tagValues, type SearchResponse, type SearchTrace } from '../api';
import { Link, navigate, useLocation } from '../router';
import { useTimeZone, type TimeZoneMode } from '../theme';
import { formatDuration, formatTime, fromInputValue, nanosToMs, toInputValue } from '../format';
import { serviceColor } from '../colors';
import { TraceQLEditor, problemFromServer, checkTraceQL, type QueryProblem } from '../components/TraceQLEditor';
import { Scatter } from '../components/Scatter';
import { LiveTail } from '../components/LiveTail';

const RANGES = ['5m', '15m', '1h', '3h', '6h', '12h', '24h', '2d', '7d'] as const;
const RANGE_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86400 };
const DURATION_RE = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/;
const OPS = ['=', '!=', '=~', '!~', '>', '>=', '<', '<='];

interface TagFilter {
  key: string;
  op: string;
  value: string;
}

interface Form {
  mode: 'builder' | 'traceql';
  service: string;
  spanName: string;
  tags: TagFilter[];
  q: string;
  minDuration: string;
  maxDuration: string;
  limit: string;
  range: string;
  from: string;
  to: string;
}

type SortKey = 'recent' | 'longest' | 'spans' | 'errors';

function formFromQuery(p: URLSearchParams): Form {
  let tags: TagFilter[] = [];
  try {
    tags = JSON.parse(p.get('tags') ?? '[]') as TagFilter[];
  } catch {
    tags = [];
  }
  return {
    mode: p.get('mode') === 'traceql' ? 'traceql' : 'builder',
    service: p.get('service') ?? '',
    spanName: p.get('span') ?? '',
    tags,
    q: p.get('q') ?? '',
    minDuration: p.get('min') ?? '',
    maxDuration: p.get('max') ?? '',
    limit: p.get('limit') ?? '20',
    range: p.get('range') ?? '1h',
    from: p.get('from') ?? '',
    to: p.get('to') ?? '',
  };
}

function queryFromForm(f: Form, sort: SortKey): string {
  return qs({
    mode: f.mode === 'traceql' ? 'traceql' : undefined,
    service: f.mode === 'builder' ? f.service : undefined,
    span: f.mode === 'builder' ? f.spanName : undefined,
    tags: f.mode === 'builder' && f.tags.some((t) => t.key) ? JSON.stringify(f.tags.filter((t) => t.key)) : undefined,
    q: f.mode === 'traceql' ? f.q : undefined,
    min: f.minDuration,
    max: f.maxDuration,
    limit: f.limit === '20' ? undefined : f.limit,
    range: f.range === '1h' ? undefined : f.range,
    from: f.range === 'custom' ? f.from : undefined,
    to: f.range === 'custom' ? f.to : undefined,
    sort: sort === 'recent' ? undefined : sort,
  });
}

function literal(v: string): string {
  const t = v.trim();
  if (/^".*"$/.test(t)) return t;
  if (/^-?\d+(\.\d+)?$/.test(t) || t === 'true' || t === 'false' || /^\d+(\.\d+)?(ns|us|ms|s|m|h)$/.test(t)) return t;
  return JSON.stringify(t);
}

/** The builder's fields as one TraceQL spanset filter (what the server runs either way). */
export function builderQuery(f: Pick<Form, 'service' | 'spanName' | 'tags'>): string {
  const conds: string[] = [];
  if (f.service) conds.push(`resource.service.name = ${JSON.stringify(f.service)}`);
  if (f.spanName) conds.push(`name = ${JSON.stringify(f.spanName)}`);
  for (const t of f.tags) {
    if (!t.key.trim()) continue;
    const key = t.key.trim();
    const isIntrinsic = /^(status|kind)$/.test(key);
    conds.push(`${key} ${t.op} ${t.op.includes('~') ? JSON.stringify(t.value.replace(/^"|"$/g, '')) : isIntrinsic ? t.value.trim() : literal(t.value)}`);
  }
  return conds.length ? `{ ${conds.join(' && ')} }` : '{}';
}

function timeRange(f: Form, tz: TimeZoneMode): { start: number; end: number } | string {
  if (f.range === 'custom') {
    const from = Number(f.from);
    const to = Number(f.to);
    if (!Number.isFinite(from) || !Number.isFinite(to) || !f.from || !f.to) return 'choose both ends of the time range';
    if (to < from) return 'the range ends before it starts';
    void tz;
    return { start: Math.floor(from / 1000), end: Math.ceil(to / 1000) };
  }
  const m = /^(\d+)([mhd])$/.exec(f.range);
  const seconds = m ? Number(m[1]) * RANGE_SECONDS[m[2]!]! : 3600;
  const end = Math.ceil(Date.now() / 1000);
  return { start: end - seconds, end };
}

function spanCount(t: SearchTrace): number {
  return Object.values(t.serviceStats ?? {}).reduce((n, s) => n + s.spanCount, 0);
}
function errorCount(t: SearchTrace): number {
  return Object.values(t.serviceStats ?? {}).reduce((n, s) => n + (s.errorCount ?? 0), 0);
}

export function SearchPage() {
  const loc = useLocation();
  const [tz] = useTimeZone();
  const urlQuery = loc.query.toString();
  const initial = useMemo(() => formFromQuery(new URLSearchParams(urlQuery)), [urlQuery]);
  const [form, setForm] = useState<Form>(initial);
  const sort = (loc.query.get('sort') as SortKey | null) ?? 'recent';
  const [runId, setRunId] = useState(0);
  const [result, setResult] = useState<SearchResponse | undefined>();
  const [error, setError] = useState('');
  const [serverProblem, setServerProblem] = useState<QueryProblem | undefined>();
  const [loading, setLoading] = useState(false);
  const [services, setServices] = useState<string[]>([]);
  const [spanNames, setSpanNames] = useState<string[]>([]);
  const [hover, setHover] = useState<string | undefined>();

  useEffect(() => setForm(initial), [initial]);

  useEffect(() => {
    tagValues('resource.service.name')
      .then((v) => setServices(v.map((x) => x.value).sort()))
      .catch(() => setServices([]));
  }, []);
  useEffect(() => {
    // Span names narrowed to the chosen service, as Grafana's search does.
    const q = form.service ? `{ resource.service.name = ${JSON.stringify(form.service)} }` : undefined;
    tagValues('name', q)
      .then((v) => setSpanNames(v.map((x) => x.value).sort()))
      .catch(() => setSpanNames([]));
  }, [form.service]);

  // Run the search the URL describes (on load, on submit, on back/forward).
  useEffect(() => {
    const f = formFromQuery(new URLSearchParams(urlQuery));
    const q = f.mode === 'traceql' ? f.q.trim() || '{}' : builderQuery(f);
    const range = timeRange(f, tz);
    if (typeof range === 'string') {
      setError(range);
      return;
    }
    for (const [k, v] of [['minimum duration', f.minDuration], ['maximum duration', f.maxDuration]] as const) {
      if (v && !DURATION_RE.test(v)) {
        setError(`${k} ${JSON.stringify(v)} is not a duration such as 100ms, 1.5s or 2m`);
        return;
      }
    }
    const local = checkTraceQL(q);
    if (local) {
      setError(local.message);
      setServerProblem(local);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError('');
    setServerProblem(undefined);
    getJson<SearchResponse>(`/api/search${qs({ q, minDuration: f.minDuration, maxDuration: f.maxDuration, limit: f.limit, start: range.start, end: range.end })}`)
      .then((r) => !cancelled && setResult(r))
      .catch((e: unknown) => {
        if (cancelled) return;
        const msg = e instanceof ApiError ? e.message : String(e);
        setError(msg);
        setServerProblem(problemFromServer(msg));
        setResult(undefined);
      })
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
    // tz is read only for custom ranges, which are stored as epoch ms already.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [urlQuery, runId]);

  const submit = (e?: FormEvent): void => {
    e?.preventDefault();
    const target = `/search${queryFromForm(form, sort)}`;
    if (target === loc.path + (urlQuery ? `?${urlQuery}` : '')) setRunId((n) => n + 1);
    else navigate(target);
  };

  const setSort = (s: SortKey): void => {
    const p = new URLSearchParams(urlQuery);
    if (s === 'recent') p.delete('sort');
    else p.set('sort', s);
    const str = p.toString();
    navigate(`/search${str ? `?${str}` : ''}`, { replace: true });
  };

  const traces = useMemo(() => {
    const list = [...(result?.traces ?? [])];
    const by: Record<SortKey, (a: SearchTrace, b: SearchTrace) => number> = {
      recent: (a, b) => (BigInt(b.startTimeUnixNano) > BigInt(a.startTimeUnixNano) ? 1 : -1),
      longest: (a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0),
      spans: (a, b) => spanCount(b) - spanCount(a),
      errors: (a, b) => errorCount(b) - errorCount(a) || (b.durationMs ?? 0) - (a.durationMs ?? 0),
    };
    return list.sort(by[sort]);
  }, [result, sort]);

  const set = <K extends keyof Form>(k: K, v: Form[K]): void => setForm((f) => ({ ...f, [k]: v }));
  const setTag = (i: number, patch: Partial<TagFilter>): void => set('tags', form.tags.map((t, j) => (i === j ? { ...t, ...patch } : t)));

  return (
    <div className="page">
      <div className="search-layout">
        <form className="search-form" onSubmit={submit} data-testid="search-form">
          <div className="tabs">
            <button type="button" className={form.mode === 'builder' ? 'on' : ''} onClick={() => set('mode', 'builder')} data-testid="mode-builder">
              Builder
            </button>
            <button
              type="button"
              className={form.mode === 'traceql' ? 'on' : ''}
              onClick={() => setForm((f) => ({ ...f, mode: 'traceql', q: f.q || (f.mode === 'builder' ? builderQuery(f) : '') }))}
              data-testid="mode-traceql"
            >
              TraceQL
            </button>
          </div>
          {form.mode === 'builder' ? (
            <>
              <div className="field">
                <label htmlFor="svc">Service</label>
                <select id="svc" value={form.service} onChange={(e) => set('service', e.target.value)} data-testid="service-select">
                  <option value="">Any service</option>
                  {services.map((s) => (
                    <option key={s}>{s}</option>
                  ))}
                  {form.service && !services.includes(form.service) && <option>{form.service}</option>}
                </select>
              </div>
              <div className="field">
                <label htmlFor="spanname">Span name</label>
                <select id="spanname" value={form.spanName} onChange={(e) => set('spanName', e.target.value)} data-testid="span-select">
                  <option value="">Any span</option>
                  {spanNames.map((s) => (
                    <option key={s}>{s}</option>
                  ))}
                  {form.spanName && !spanNames.includes(form.spanName) && <option>{form.spanName}</option>}
                </select>
              </div>
              <div className="field">
                <label>Tags</label>
                {form.tags.map((t, i) => (
                  <div className="tag-row" key={i}>
                    <input placeholder="span.http.route" value={t.key} onChange={(e) => setTag(i, { key: e.target.value })} aria-label="Tag name" list="tag-names" />
                    <select value={t.op} onChange={(e) => setTag(i, { op: e.target.value })} aria-label="Operator">
                      {OPS.map((o) => (
                        <option key={o}>{o}</option>
                      ))}
                    </select>
                    <input placeholder="value" value={t.value} onChange={(e) => setTag(i, { value: e.target.value })} aria-label="Tag value" />
                    <button type="button" title="Remove this filter" onClick={() => set('tags', form.tags.filter((_, j) => j !== i))}>
                      ×
                    </button>
                  </div>
                ))}
                <div>
                  <button type="button" onClick={() => set('tags', [...form.tags, { key: '', op: '=', value: '' }])} data-testid="add-tag">
                    + Tag filter
                  </button>
                </div>
              </div>
              <div className="preview" title="What the builder sends">
                {builderQuery(form)}
              </div>
            </>
          ) : (
            <TraceQLEditor
              value={form.q}
              onChange={(v) => {
                set('q', v);
                setServerProblem(undefined);
              }}
              onSubmit={() => submit()}
              serverProblem={serverProblem}
            />
          )}
          <div className="row">
            <div className="field">
              <label htmlFor="mind">Min duration</label>
              <input id="mind" placeholder="e.g. 100ms" value={form.minDuration} onChange={(e) => set('minDuration', e.target.value)} className={form.minDuration && !DURATION_RE.test(form.minDuration) ? 'invalid' : ''} />
            </div>
            <div className="field">
              <label htmlFor="maxd">Max duration</label>
              <input id="maxd" placeholder="e.g. 5s" value={form.maxDuration} onChange={(e) => set('maxDuration', e.target.value)} className={form.maxDuration && !DURATION_RE.test(form.maxDuration) ? 'invalid' : ''} />
            </div>
            <div className="field" style={{ flex: '0 0 70px' }}>
              <label htmlFor="limit">Limit</label>
              <input id="limit" type="number" min={1} value={form.limit} onChange={(e) => set('limit', e.target.value)} />
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="range">Time range</label>
              <select
                id="range"
                value={form.range}
                onChange={(e) => {
                  const r = e.target.value;
                  if (r === 'custom' && !form.from) {
                    const now = Date.now();
                    setForm((f) => ({ ...f, range: r, from: String(now - 3600_000), to: String(now) }));
                  } else set('range', r);
                }}
                data-testid="range-select"
              >
                {RANGES.map((r) => (
                  <option key={r} value={r}>
                    Last {r}
                  </option>
                ))}
                <option value="custom">Absolute…</option>
              </select>
            </div>
          </div>
          {form.range === 'custom' && (
            <div className="row">
              <div className="field">
                <label>From ({tz === 'utc' ? 'UTC' : 'local'})</label>
                <input type="datetime-local" step={1} value={form.from ? toInputValue(Number(form.from), tz) : ''} onChange={(e) => set('from', String(fromInputValue(e.target.value, tz)))} />
              </div>
              <div className="field">
                <label>To ({tz === 'utc' ? 'UTC' : 'local'})</label>
                <input type="datetime-local" step={1} value={form.to ? toInputValue(Number(form.to), tz) : ''} onChange={(e) => set('to', String(fromInputValue(e.target.value, tz)))} />
              </div>
            </div>
          )}
          <div className="row">
            <button type="submit" className="primary" data-testid="search-button">
              Search
            </button>
            {loading && <span className="muted">Searching…</span>}
          </div>
        </form>
        <datalist id="tag-names">
          {['span.', 'resource.', 'status', 'kind', 'name'].map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>

        <section>
          <LiveTail query={initial.mode === 'traceql' ? initial.q.trim() || '{}' : builderQuery(initial)} />
          {error && (
            <div className="error-box" data-testid="search-error">
              {error}
            </div>
          )}
          {result && (
            <>
              <Scatter traces={traces} tz={tz} highlight={hover} onHover={setHover} onOpen={(id) => navigate(`/trace/${id}`)} />
              <div className="results-head">
                <strong data-testid="result-count">
                  {traces.length} trace{traces.length === 1 ? '' : 's'}
                </strong>
                <span className="muted">most recent matches first</span>
                <div className="spacer" />
                <label htmlFor="sort">Sort</label>
                <select id="sort" value={sort} onChange={(e) => setSort(e.target.value as SortKey)} data-testid="sort-select">
                  <option value="recent">Most recent</option>
                  <option value="longest">Longest</option>
                  <option value="spans">Most spans</option>
                  <option value="errors">Most errors</option>
                </select>
              </div>
              <ResultsTable traces={traces} tz={tz} sort={sort} setSort={setSort} hover={hover} setHover={setHover} />
            </>
          )}
        </section>
      </div>
    </div>
  );
}

function ResultsTable(props: { traces: SearchTrace[]; tz: TimeZoneMode; sort: SortKey; setSort: (s: SortKey) => void; hover: string | undefined; setHover: (id: string | undefined) => void }) {
  const { traces, tz, sort, setSort } = props;
  if (traces.length === 0) return <div className="empty">No traces match in this time range.</div>;
  const th = (key: SortKey | undefined, label: string, cls = '') => (
    <th className={`${cls} ${key === sort ? 'sorted' : ''}`} onClick={key ? () => setSort(key) : undefined}>
      {label}
      {key === sort ? ' ▾' : ''}
    </th>
  );
  return (
    <table className="results" data-testid="results-table">
      <thead>
        <tr>
          {th(undefined, 'Trace')}
          {th('recent', 'Start')}
          {th('longest', 'Duration', 'num')}
          {th('spans', 'Spans', 'num')}
          {th('errors', 'Errors', 'num')}
          {th(undefined, 'Services')}
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => {
          const errors = errorCount(t);
          return (
            <tr key={t.traceID} className={props.hover === t.traceID ? 'hl' : ''} onMouseEnter={() => props.setHover(t.traceID)} onMouseLeave={() => props.setHover(undefined)} data-trace-id={t.traceID}>
              <td>
                <Link href={`/trace/${t.traceID}`} data-testid="trace-link">
                  <strong>{t.rootServiceName ?? '<root span not yet received>'}</strong>: {t.rootTraceName ?? ''}
                </Link>
                <div className="mono muted">{t.traceID}</div>
              </td>
              <td className="mono" style={{ whiteSpace: 'nowrap' }}>
                {formatTime(nanosToMs(t.startTimeUnixNano), tz)}
              </td>
              <td className="num">{t.durationMs === undefined ? '<1ms' : formatDuration(t.durationMs * 1e6)}</td>
              <td className="num">{spanCount(t)}</td>
              <td className={`num ${errors ? 'err' : ''}`}>{errors}</td>
              <td>
                {Object.entries(t.serviceStats ?? {}).map(([svc, s]) => (
                  <span className="chip" key={svc} title={`${s.spanCount} spans, ${s.errorCount ?? 0} errors`}>
                    <span className="dot" style={{ background: serviceColor(svc) }} />
                    {svc} {s.spanCount}
                    {s.errorCount ? <span className="err"> ({s.errorCount}!)</span> : null}
                  </span>
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
