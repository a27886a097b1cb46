// Live tail for the search page: a toggle that opens GET /api/skein/tail for the
// query the page shows and lists each new matching trace as it arrives (newest
// on top), until it is turned off, the query changes or Skein shuts down.
import { useEffect, useState } from 'react';
import { apiFetch, type SearchTrace } from '../api';
import { readEvents } from '../sse';
import { Link } from '../router';
import { useTimeZone } from '../theme';
import { formatDuration, formatTime, nanosToMs } from '../format';
import { serviceColor } from '../colors';
import '../pages/dashboards.css';

/** Rows kept on screen: a tail left running must not grow the page without end. */
const MAX_ROWS = 200;
/** Wait before opening a lost stream again, as EventSource would. */
const RECONNECT_MS = 2000;

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
    // Named, so that stopping can end it on the server at once (see the cleanup below), and so
    // that a reconnection replaces the tail it lost rather than holding a second place.
    const id = tailId();
    const abort = new AbortController();
    let finished = false;
    const stop = (why: string): void => {
      finished = true;
      abort.abort();
      setState('stopped');
      setMessage(why);
    };
    const onEvent = (event: string, data: string): void => {
      if (event === 'ready') {
        setState('live');
        setMessage('');
      } else if (event === 'trace') {
        const t = JSON.parse(data) as SearchTrace;
        setRows((prev) => [{ ...t, receivedMs: Date.now() }, ...prev.filter((p) => p.traceID !== t.traceID)].slice(0, MAX_ROWS));
      } else if (event === 'dropped') setDropped((n) => n + (JSON.parse(data) as { count: number }).count);
      else if (event === 'end') {
        const { reason } = JSON.parse(data) as { reason: string };
        stop(reason === 'shutdown' ? 'Skein is shutting down; turn the tail on again once it is back.' : `the tail ended: ${reason}`);
      } else if (event === 'error') {
        const { message: m, status } = JSON.parse(data) as { message: string; status: number };
        setMessage(m);
        if (status >= 500) stop(m);
      }
    };
    const run = async (): Promise<void> => {
      while (!finished) {
        try {
          const res = await apiFetch(`/api/skein/tail?q=${encodeURIComponent(query)}&id=${id}`, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
          if (!res.ok) {
            stop(`the server refused the live tail: ${(await res.text()).trim()}`);
            return;
          }
          await readEvents(res, onEvent);
        } catch {
          // The connection was lost (or aborted by stopping, which `finished` tells).
        }
        if (finished) return;
        setState('connecting');
        setMessage('connection lost; reconnecting…');
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    void run();
    return () => {
      finished = true;
      abort.abort();
      // An aborted stream's connection may stay open a while (a proxy holding it): until the
      // server sees it go, the tail holds one of ui.live_tail.max_clients places.
      void apiFetch(`/api/skein/tail/${id}`, { method: 'DELETE', keepalive: true }).catch(() => undefined);
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
