// Everything about one span: IDs (copyable), timing, status, attributes,
// resource, events with their times, and links that open the linked trace.
import type { ReactNode } from 'react';
import { CopyButton } from '../components/CopyButton';
import { serviceColor } from '../colors';
import { formatDuration, formatTime } from '../format';
import { Link } from '../router';
import type { TimeZoneMode } from '../theme';
import { logsUrl, type Attr, type Trace, type UiSpan } from './model';

function AttrTable({ attrs, testid }: { attrs: Attr[]; testid?: string }) {
  if (attrs.length === 0) return <div className="muted">none</div>;
  const sorted = [...attrs].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <table data-testid={testid}>
      <tbody>
        {sorted.map((a, i) => (
          <tr key={a.key + i} data-attr={a.key}>
            <td>{a.key}</td>
            <td>{a.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Row({ k, children }: { k: string; children: ReactNode }) {
  return (
    <tr>
      <td>{k}</td>
      <td>{children}</td>
    </tr>
  );
}

export function SpanDetail(props: { trace: Trace; span: UiSpan; tz: TimeZoneMode; logsTemplate: string; onClose: () => void; onSelect: (s: UiSpan) => void }) {
  const { trace, span: s, tz } = props;
  const logs = logsUrl(props.logsTemplate, trace, s);
  const parent = s.parent;
  return (
    <aside className="detail" data-testid="span-detail" aria-label="Span details">
      <button type="button" className="close" onClick={props.onClose} title="Close (Esc)">
        ×
      </button>
      <h2 style={{ marginTop: 0 }} data-testid="span-detail-name">
        {s.name}
      </h2>
      <div>
        <span className="chip">
          <span className="dot" style={{ background: serviceColor(s.service) }} />
          {s.service}
        </span>
        <span className="chip">{s.kind}</span>
        {s.critical && <span className="chip" style={{ color: 'var(--crit)' }}>critical path</span>}
        {logs && (
          <a href={logs} target="_blank" rel="noreferrer" data-testid="span-logs-link" style={{ marginLeft: 6 }}>
            Logs for this span ↗
          </a>
        )}
      </div>
      <h3>Span</h3>
      <table>
        <tbody>
          <Row k="span ID">
            <span data-testid="span-id">{s.spanId}</span>
            <CopyButton text={s.spanId} />
          </Row>
          <Row k="trace ID">
            {s.traceId}
            <CopyButton text={s.traceId} />
          </Row>
          <Row k="parent">
            {parent ? (
              <a href="#" onClick={(e) => (e.preventDefault(), props.onSelect(parent))}>
                {parent.name} ({s.parentId})
              </a>
            ) : s.parentId ? (
              <span title="This span's parent was never received">{s.parentId} (missing)</span>
            ) : (
              'root span'
            )}
          </Row>
          <Row k="start">
            {formatTime(s.startMs, tz)} (+{formatDuration(s.start)})
          </Row>
          <Row k="duration">{formatDuration(s.duration)}</Row>
          <Row k="self time">{formatDuration(s.selfTime)}</Row>
          <Row k="status">
            <span className={s.status.code === 'error' ? 'err' : ''} data-testid="span-status">
              {s.status.code}
              {s.status.message ? `: ${s.status.message}` : ''}
            </span>
          </Row>
          <Row k="scope">
            {s.scope.name}
            {s.scope.version ? ` ${s.scope.version}` : ''}
          </Row>
          {s.traceState && <Row k="trace state">{s.traceState}</Row>}
        </tbody>
      </table>
      <h3>Attributes</h3>
      <AttrTable attrs={s.attributes} testid="span-attributes" />
      <h3>Events ({s.events.length})</h3>
      {s.events.length === 0 ? (
        <div className="muted">none</div>
      ) : (
        s.events.map((e, i) => (
          <div key={i} data-testid="span-event" style={{ marginBottom: 8 }}>
            <div>
              <strong>{e.name}</strong> <span className="muted">+{formatDuration(e.time - s.start)} into the span · {formatTime(trace.startMs + e.time / 1e6, tz)}</span>
            </div>
            <AttrTable attrs={e.attributes} />
          </div>
        ))
      )}
      <h3>Links ({s.links.length})</h3>
      {s.links.length === 0 ? (
        <div className="muted">none</div>
      ) : (
        s.links.map((l, i) => (
          <div key={i} style={{ marginBottom: 8 }}>
            <Link href={`/trace/${l.traceId}?span=${l.spanId}`} data-testid="span-link">
              trace {l.traceId} · span {l.spanId}
            </Link>
            <AttrTable attrs={l.attributes} />
          </div>
        ))
      )}
      <h3>Resource</h3>
      <AttrTable attrs={s.resource} testid="span-resource" />
    </aside>
  );
}
