// Live tail for the search page: a toggle that opens GET /api/skein/tail for the
// query the page shows and lists each new matching trace as it arrives (newest
// on top), until it is turned off, the query changes or Skein shuts down.
import { useEffect, useState } from 'react';
import type { SearchTrace } from '../api';
import { Link } from '../router';
import { useTimeZone } from '../theme';
import { formatDuration, formatTime, nanosToMs } from '../format';
import { serviceColor } from '../colors';
import '../pages/dashboards.css';

/** Rows kept on screen: a tail left running must not grow the page without end. */
const MAX_ROWS = 200;

type State = 'off' | 'connecting' | 'live' | 'stopped';

/** 32 random hex digits (crypto.randomUUID exists only on https and localhost pages). */
function tailId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function LiveTail({ query }: { query: string }) {
  const [tz] = useTimeZone();
  const [on, setOn] = useState(false);
  const [state, setState] = useState<State>('off');
  const [message, setMessage] = useState('');
  const [rows, setRows] = useState<Array<SearchTrace & { receivedMs: number }>>([]);
  const [dropped, setDropped] = useState(0);

  useEffect(() => {
    if (!on) {
      setState('off');
      return;
    }
    setState('connecting');
    setMessage('');
    setDropped(0);
    // Named, so that stopping can end it on the server at once (see the cleanup below).
    const id = tailId();
    const es = new EventSource(`/api/skein/tail?q=${encodeURIComponent(query)}&id=${id}`);
    let finished = false;
    const stop = (why: string): void => {
      finished = true;
      es.close();
      setState('stopped');
      setMessage(why);
    };
    es.addEventListener('ready', () => setState('live'));
    es.addEventListener('trace', (ev) => {
      const t = JSON.parse((ev as MessageEvent<string>).data) as SearchTrace;
      setRows((prev) => [{ ...t, receivedMs: Date.now() }, ...prev.filter((p) => p.traceID !== t.traceID)].slice(0, MAX_ROWS));
    });
    es.addEventListener('dropped', (ev) => setDropped((n) => n + Number((JSON.parse((ev as MessageEvent<string>).data) as { count: number }).count)));
    es.addEventListener('end', (ev) => {
      const { reason } = JSON.parse((ev as MessageEvent<string>).data) as { reason: string };
      stop(reason === 'shutdown' ? 'Skein is shutting down; turn the tail on again once it is back.' : `the tail ended: ${reason}`);
    });
    es.addEventListener('error', (ev) => {
      // The server's own `error` events carry data; a lost connection does not.
      const data = (ev as MessageEvent<string>).data;
      if (data) {
        const { message: m, status } = JSON.parse(data) as { message: string; status: number };
        setMessage(m);
        if (status >= 500) stop(m);
        return;
      }
      if (finished) return;
      if (es.readyState === EventSource.CLOSED) {
        // EventSource hides the refusal's status and text: ask once more to show the server's reason.
        stop('the server refused the live tail');
        const abort = new AbortController();
        fetch(`/api/skein/tail?q=${encodeURIComponent(query)}`, { signal: abort.signal })
          .then(async (res) => {
            if (res.ok) return;
            setMessage(`the server refused the live tail: ${(await res.text()).trim()}`);
          })
          .catch(() => undefined)
          .finally(() => abort.abort());
      } else {
        setState('connecting');
        setMessage('connection lost; reconnecting…');
      }
    });
    return () => {
      finished = true;
      es.close();
      // A closed EventSource may keep its connection a while (a browser reading on to reuse it, a
      // proxy): until the server sees it go, the tail holds one of ui.live_tail.max_clients places.
      void fetch(`/api/skein/tail/${id}`, { method: 'DELETE', keepalive: true }).catch(() => undefined);
    };
  }, [on, query]);

  const label = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : state === 'stopped' ? 'stopped' : 'off';
  return (
    <div data-testid="live-tail">
      <div className="tail-bar">
        <button type="button" className={on ? 'on' : ''} aria-pressed={on} onClick={() => setOn((v) => !v)} data-testid="live-tail-toggle" title="Show matching traces as they arrive">
          {on ? '■ Stop live tail' : '▶ Live tail'}
        </button>
        {on && (
          <>
            <span className={`tail-dot ${state === 'live' ? 'live' : state === 'stopped' ? 'error' : ''}`} />
            <span className="muted" data-testid="live-tail-state" data-state={state}>
              {label}
            </span>
            <code className="muted">{query}</code>
            {dropped > 0 && <span className="err">{dropped} traces not shown (too many per second)</span>}
            {rows.length > 0 && (
              <button type="button" onClick={() => setRows([])}>
                Clear
              </button>
            )}
          </>
        )}
        {message && <span className="err">{message}</span>}
      </div>
      {on && (
        <div className="tail-list">
          {rows.length === 0 ? (
            <div className="empty">Waiting for new traces that match…</div>
          ) : (
            <table data-testid="live-tail-table">
              <tbody>
                {rows.map((t) => {
                  const errors = Object.values(t.serviceStats ?? {}).reduce((n, s) => n + (s.errorCount ?? 0), 0);
                  const spans = Object.values(t.serviceStats ?? {}).reduce((n, s) => n + s.spanCount, 0);
                  return (
                    <tr key={t.traceID} data-trace-id={t.traceID} className="new">
                      <td className="mono" style={{ whiteSpace: 'nowrap' }}>
                        {formatTime(nanosToMs(t.startTimeUnixNano), tz)}
                      </td>
                      <td>
                        <Link href={`/trace/${t.traceID}`}>
                          <strong>{t.rootServiceName}</strong>: {t.rootTraceName ?? ''}
                        </Link>
                      </td>
                      <td className="num">{t.durationMs === undefined ? '<1ms' : formatDuration(t.durationMs * 1e6)}</td>
                      <td className="num">{spans} spans</td>
                      <td className={errors ? 'err' : 'muted'}>{errors ? `${errors} errors` : ''}</td>
                      <td>
                        {Object.keys(t.serviceStats ?? {}).map((svc) => (
                          <span className="chip" key={svc}>
                            <span className="dot" style={{ background: serviceColor(svc) }} />
                            {svc}
                          </span>
                        ))}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
