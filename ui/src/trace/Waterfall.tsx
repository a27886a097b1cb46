// The waterfall: a minimap to zoom and pan, a time ruler, and rows drawn only
// where the viewport is (so 20,000 spans cost what 40 do), with the span tree,
// service colours, error marks and the critical path.
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { serviceColor } from '../colors';
import { formatDuration } from '../format';
import type { Trace, UiSpan } from './model';

export const ROW_HEIGHT = 24;
const OVERSCAN = 12;
const NAME_WIDTH = 400;
const INDENT = 14;

export interface View {
  start: number;
  end: number;
}

interface Props {
  trace: Trace;
  rows: UiSpan[];
  /** every span in tree order, for the minimap */
  allRows: UiSpan[];
  collapsed: ReadonlySet<string>;
  selected: string | undefined;
  hits: ReadonlySet<string>;
  currentHit: string | undefined;
  showCritical: boolean;
  view: View;
  onView: (v: View) => void;
  onToggle: (span: UiSpan) => void;
  onSelect: (span: UiSpan, open: boolean) => void;
  onKey: (e: KeyboardEvent<HTMLDivElement>) => void;
  /** bumps whenever the selection should be scrolled into view */
  scrollToken: number;
}

export function Waterfall(props: Props) {
  const { rows, view } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Keep the selected row in view when it was moved to by keyboard, find or a deep link.
  useEffect(() => {
    const el = scroller.current;
    if (!el || props.selected === undefined) return;
    const i = rows.findIndex((r) => r.spanId === props.selected);
    if (i < 0) return;
    const top = i * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top - el.clientHeight + ROW_HEIGHT * 2;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.scrollToken]);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (el) setScrollTop(el.scrollTop);
  }, []);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const visible: UiSpan[] = [];
  for (let i = first; i < last; i++) visible.push(rows[i]!);
  const span = Math.max(1, view.end - view.start);

  return (
    <div className="waterfall-wrap" data-testid="waterfall">
      <Minimap trace={props.trace} rows={props.allRows} view={view} onView={props.onView} />
      <div className="ruler">
        <div style={{ width: NAME_WIDTH, flex: 'none', padding: '3px 8px', borderRight: '1px solid var(--border)' }}>
          {rows.length.toLocaleString()} of {props.trace.spans.length.toLocaleString()} spans shown
        </div>
        <div className="ticks">
          {[0, 0.25, 0.5, 0.75].map((f) => (
            <span key={f} style={{ left: `${f * 100}%` }}>
              {formatDuration(view.start + f * span)}
            </span>
          ))}
        </div>
      </div>
      <div className="rows" ref={scroller} onScroll={onScroll} tabIndex={0} onKeyDown={props.onKey} data-testid="waterfall-rows" aria-label="Spans; arrow keys move, left and right collapse and expand, Enter opens details">
        <div style={{ height: rows.length * ROW_HEIGHT, position: 'relative' }}>
          {visible.map((s, k) => (
            <Row
              key={s.spanId}
              span={s}
              top={(first + k) * ROW_HEIGHT}
              view={view}
              viewSpan={span}
              collapsed={props.collapsed.has(s.spanId)}
              selected={props.selected === s.spanId}
              hit={props.hits.has(s.spanId)}
              currentHit={props.currentHit === s.spanId}
              critical={props.showCritical && s.critical}
              onToggle={props.onToggle}
              onSelect={props.onSelect}
            />
          ))}
        </div>
      </div>
    </div>
  );
}

const Row = memo(function Row(p: {
  span: UiSpan;
  top: number;
  view: View;
  viewSpan: number;
  collapsed: boolean;
  selected: boolean;
  hit: boolean;
  currentHit: boolean;
  critical: boolean;
  onToggle: (s: UiSpan) => void;
  onSelect: (s: UiSpan, open: boolean) => void;
}) {
  const s = p.span;
  const left = ((s.start - p.view.start) / p.viewSpan) * 100;
  const width = (s.duration / p.viewSpan) * 100;
  const color = serviceColor(s.service);
  const error = s.status.code === 'error';
  const labelRight = left + width < 80;
  const cls = `wf-row${p.selected ? ' sel' : ''}${p.hit ? ' hit' : ''}${p.currentHit ? ' cur-hit' : ''}`;
  return (
    <div className={cls} style={{ top: p.top }} onClick={() => p.onSelect(s, true)} data-span-id={s.spanId} data-testid="span-row" aria-selected={p.selected}>
      <div className="name-col" style={{ width: NAME_WIDTH, paddingLeft: 4 + s.depth * INDENT }}>
        <span
          className="toggle"
          data-testid={s.children.length ? 'span-toggle' : undefined}
          onClick={(e: MouseEvent) => {
            e.stopPropagation();
            if (s.children.length) p.onToggle(s);
          }}
        >
          {s.children.length ? (p.collapsed ? '▶' : '▼') : ''}
        </span>
        <span className="svc" style={{ background: color }} />
        {error && (
          <span className="err-mark" title={`error${s.status.message ? `: ${s.status.message}` : ''}`}>
            !
          </span>
        )}
        <span className="svcname">{s.service}</span>
        <span className="spanname">{s.name}</span>
        {p.collapsed && <span className="childcount">+{s.descendants}</span>}
      </div>
      <div className="bar-col">
        {width > 0 || (left >= 0 && left <= 100) ? (
          <>
            <div className={`bar${p.critical ? ' crit' : ''}${error ? ' error' : ''}`} style={{ left: `${left}%`, width: `${Math.max(width, 0.05)}%`, background: color }} />
            <span className="bar-label" style={labelRight ? { left: `calc(${Math.max(0, left + width)}% + 4px)` } : { right: `calc(${Math.max(0, 100 - left)}% + 4px)` }}>
              {formatDuration(s.duration)}
            </span>
          </>
        ) : null}
      </div>
    </div>
  );
});

function Minimap(props: { trace: Trace; rows: UiSpan[]; view: View; onView: (v: View) => void }) {
  const { trace, rows, view } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const drag = useRef<{ mode: 'select' | 'pan'; x0: number; view0: View } | undefined>(undefined);
  const [sel, setSel] = useState<{ a: number; b: number } | undefined>();
  const [width, setWidth] = useState(0);
  const total = Math.max(1, trace.duration);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c || width === 0) return;
    const dpr = window.devicePixelRatio || 1;
    const h = c.clientHeight;
    c.width = Math.floor(width * dpr);
    c.height = Math.floor(h * dpr);
    const g = c.getContext('2d');
    if (!g) return;
    g.scale(dpr, dpr);
    g.clearRect(0, 0, width, h);
    const n = rows.length;
    const rowH = Math.max(1, Math.min(4, (h - 4) / Math.max(1, n)));
    for (let i = 0; i < n; i++) {
      const s = rows[i]!;
      const y = 2 + (n * rowH > h - 4 ? (i / n) * (h - 4) : i * rowH);
      g.fillStyle = s.status.code === 'error' ? '#e03131' : serviceColor(s.service);
      g.fillRect((s.start / total) * width, y, Math.max(1, (s.duration / total) * width), rowH);
    }
  }, [rows, width, total]);

  const frac = (e: MouseEvent): number => {
    const r = box.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };
  const down = (e: MouseEvent): void => {
    const f = frac(e) * total;
    const zoomed = view.start > 0 || view.end < total;
    const inside = zoomed && f >= view.start && f <= view.end;
    drag.current = { mode: inside ? 'pan' : 'select', x0: f, view0: view };
    if (!inside) setSel({ a: f, b: f });
  };
  const move = (e: MouseEvent): void => {
    const d = drag.current;
    if (!d) return;
    const f = frac(e) * total;
    if (d.mode === 'select') setSel({ a: d.x0, b: f });
    else {
      const w = d.view0.end - d.view0.start;
      const start = Math.min(total - w, Math.max(0, d.view0.start + f - d.x0));
      props.onView({ start, end: start + w });
    }
  };
  const up = (): void => {
    const d = drag.current;
    drag.current = undefined;
    if (d?.mode === 'select' && sel) {
      const a = Math.min(sel.a, sel.b);
      const b = Math.max(sel.a, sel.b);
      // A click without a drag is not a zoom.
      if (((b - a) / total) * width > 3) props.onView({ start: a, end: b });
    }
    setSel(undefined);
  };

  const shown = sel ? { start: Math.min(sel.a, sel.b), end: Math.max(sel.a, sel.b) } : view;
  return (
    <div
      className="minimap"
      ref={box}
      onMouseDown={down}
      onMouseMove={move}
      onMouseUp={up}
      onMouseLeave={up}
      onDoubleClick={() => props.onView({ start: 0, end: total })}
      data-testid="minimap"
      title="Drag to zoom into a time range, drag the window to pan, double-click to see the whole trace"
    >
      <canvas ref={canvas} />
      <div className="window" style={{ left: `${(shown.start / total) * 100}%`, width: `${((shown.end - shown.start) / total) * 100}%` }} />
    </div>
  );
}
