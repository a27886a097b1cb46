// Search results as dots: start time across, duration up (log scale, so one slow
// trace does not flatten the rest), errors in red. Click a dot to open the trace.
import type { SearchTrace } from '../api';
import { formatDuration, formatTime, nanosToMs } from '../format';
import type { TimeZoneMode } from '../theme';

const W = 1000;
const H = 200;
const PAD = { l: 56, r: 12, t: 10, b: 22 };

export function Scatter(props: { traces: SearchTrace[]; tz: TimeZoneMode; highlight: string | undefined; onHover: (id: string | undefined) => void; onOpen: (id: string) => void }) {
  const { traces, tz } = props;
  if (traces.length === 0) return null;
  const pts = traces.map((t) => ({
    id: t.traceID,
    x: nanosToMs(t.startTimeUnixNano),
    y: Math.max(t.durationMs ?? 0.001, 0.001),
    error: Object.values(t.serviceStats ?? {}).some((s) => (s.errorCount ?? 0) > 0),
    label: `${t.rootServiceName ?? '?'}: ${t.rootTraceName ?? ''}`,
  }));
  let x0 = Math.min(...pts.map((p) => p.x));
  let x1 = Math.max(...pts.map((p) => p.x));
  if (x1 - x0 < 1000) {
    x0 -= 500;
    x1 += 500;
  }
  // A margin so the first and last dots are not cut by the axes.
  const margin = (x1 - x0) * 0.03;
  x0 -= margin;
  x1 += margin;
  const ly0 = Math.log10(Math.min(...pts.map((p) => p.y))) - 0.2;
  const ly1 = Math.log10(Math.max(...pts.map((p) => p.y))) + 0.2;
  const sx = (x: number): number => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (y: number): number => H - PAD.b - ((Math.log10(y) - ly0) / (ly1 - ly0 || 1)) * (H - PAD.t - PAD.b);
  const yTicks: number[] = [];
  for (let e = Math.ceil(ly0); e <= Math.floor(ly1); e++) yTicks.push(10 ** e);
  if (yTicks.length === 0) yTicks.push(10 ** ((ly0 + ly1) / 2));
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => x0 + f * (x1 - x0));
  return (
    <svg className="scatter" viewBox={`0 0 ${W} ${H}`} data-testid="scatter" role="img" aria-label="Trace durations over time">
      <line className="axis" x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} />
      <line className="axis" x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} />
      {yTicks.map((t) => (
        <g key={t}>
          <line className="axis" x1={PAD.l} x2={W - PAD.r} y1={sy(t)} y2={sy(t)} strokeDasharray="2 4" />
          <text x={PAD.l - 4} y={sy(t) + 3} textAnchor="end">
            {formatDuration(t * 1e6)}
          </text>
        </g>
      ))}
      {xTicks.map((t, i) => (
        <text key={i} x={sx(t)} y={H - 6} textAnchor={i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}>
          {formatTime(t, tz, false).slice(11)}
        </text>
      ))}
      {pts.map((p) => (
        <circle
          key={p.id}
          cx={sx(p.x)}
          cy={sy(p.y)}
          r={p.id === props.highlight ? 6 : 4.5}
          className={`${p.error ? 'error' : ''} ${p.id === props.highlight ? 'hl' : ''}`}
          onMouseEnter={() => props.onHover(p.id)}
          onMouseLeave={() => props.onHover(undefined)}
          onClick={() => props.onOpen(p.id)}
          data-trace-id={p.id}
        >
          <title>{`${p.label}\n${formatDuration(p.y * 1e6)} at ${formatTime(p.x, tz)}${p.error ? '\nhas errors' : ''}`}</title>
        </circle>
      ))}
    </svg>
  );
}
