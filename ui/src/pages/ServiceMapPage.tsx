// Service map: services (and the uninstrumented peers they call) as nodes, calls
// as edges with rate, error rate and p50/p99 over a chosen window, from the
// servicegraph connector. A layered layout (callers left of callees) drawn as
// SVG; clicking a node lists its operations with their RED figures.
import { useMemo } from 'react';
import { Link, navigate, useLocation } from '../router';
import { serviceColor } from '../colors';
import { qs } from '../api';
import {
  fetchGraph,
  fetchOperations,
  formatErrorRate,
  formatRate,
  formatSeconds,
  usePolling,
  windowSeconds,
  WINDOWS,
  type GraphEdge,
  type GraphNode,
  type Operation,
  type ServiceGraph,
} from '../red';
import './dashboards.css';

const NODE_W = 168;
const NODE_H = 46;
const COL_GAP = 130;
const ROW_GAP = 44;
const PAD = 24;
const REFRESH_MS = 15_000;

interface Placed {
  node: GraphNode;
  x: number;
  y: number;
  layer: number;
}

/**
 * Longest-path layering after dropping the edges that close a cycle (found by
 * a depth-first walk), then a few barycentre sweeps to keep edges from crossing.
 */
export function layout(graph: Pick<ServiceGraph, 'nodes' | 'edges'>): { placed: Map<string, Placed>; width: number; height: number; backEdges: Set<GraphEdge> } {
  const nodes = new Map<string, GraphNode>();
  for (const n of graph.nodes) nodes.set(n.name, n);
  for (const e of graph.edges)
    for (const name of [e.client, e.server])
      if (!nodes.has(name)) nodes.set(name, { name, virtual: true, requests: 0, failed: 0, p50Seconds: null, p99Seconds: null, ratePerSecond: 0 });
  const out = new Map<string, GraphEdge[]>();
  const indeg = new Map<string, number>();
  for (const name of nodes.keys()) {
    out.set(name, []);
    indeg.set(name, 0);
  }
  for (const e of graph.edges) {
    out.get(e.client)!.push(e);
    indeg.set(e.server, (indeg.get(e.server) ?? 0) + 1);
  }
  const names = [...nodes.keys()].sort((a, b) => (indeg.get(a)! === 0 ? 0 : 1) - (indeg.get(b)! === 0 ? 0 : 1) || a.localeCompare(b));

  const backEdges = new Set<GraphEdge>();
  const state = new Map<string, 1 | 2>();
  const visit = (n: string): void => {
    state.set(n, 1);
    for (const e of out.get(n)!) {
      const s = state.get(e.server);
      if (s === 1) backEdges.add(e);
      else if (s === undefined) visit(e.server);
    }
    state.set(n, 2);
  };
  for (const n of names) if (!state.has(n)) visit(n);

  const layer = new Map<string, number>();
  const depth = (n: string, seen: Set<string>): number => {
    const known = layer.get(n);
    if (known !== undefined) return known;
    let d = 0;
    for (const e of graph.edges) {
      if (e.server !== n || backEdges.has(e) || e.client === n || seen.has(e.client)) continue;
      seen.add(e.client);
      d = Math.max(d, depth(e.client, seen) + 1);
      seen.delete(e.client);
    }
    layer.set(n, d);
    return d;
  };
  for (const n of names) depth(n, new Set([n]));

  const layers: string[][] = [];
  for (const n of names) (layers[layer.get(n)!] ??= []).push(n);
  const pos = new Map<string, number>();
  layers.forEach((l) => l.forEach((n, i) => pos.set(n, i)));
  for (let sweep = 0; sweep < 4; sweep++) {
    for (const l of layers) {
      const bary = (n: string): number => {
        const preds = graph.edges.filter((e) => e.server === n && !backEdges.has(e) && e.client !== n).map((e) => pos.get(e.client)!);
        return preds.length ? preds.reduce((a, b) => a + b, 0) / preds.length : pos.get(n)!;
      };
      const keyed = l.map((n) => ({ n, k: bary(n) }));
      keyed.sort((a, b) => a.k - b.k || a.n.localeCompare(b.n));
      keyed.forEach(({ n }, i) => {
        l[i] = n;
        pos.set(n, i);
      });
    }
  }

  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const width = PAD * 2 + layers.length * NODE_W + Math.max(0, layers.length - 1) * COL_GAP;
  const placed = new Map<string, Placed>();
  layers.forEach((l, li) => {
    const colHeight = l.length * NODE_H + (l.length - 1) * ROW_GAP;
    const top = (height - colHeight) / 2;
    l.forEach((n, i) => placed.set(n, { node: nodes.get(n)!, layer: li, x: PAD + li * (NODE_W + COL_GAP), y: top + i * (NODE_H + ROW_GAP) }));
  });
  return { placed, width: Math.max(width, 320), height: Math.max(height, 120), backEdges };
}

const edgeKey = (e: GraphEdge): string => `${e.client}->${e.server}`;

function errorShare(failed: number, total: number): number {
  return total > 0 ? failed / total : 0;
}

function edgeTitle(e: GraphEdge): string {
  const kind = e.connectionType ? ` (${e.connectionType.replace('_', ' ')})` : '';
  return `${e.client} → ${e.server}${kind}\n${e.requests} requests, ${formatRate(e.ratePerSecond)}\nerrors ${formatErrorRate(e.failed, e.requests)} (${e.failed})\np50 ${formatSeconds(e.p50Seconds)}, p99 ${formatSeconds(e.p99Seconds)}`;
}

function MapSvg(props: { graph: ServiceGraph; selected: string | undefined; onSelect: (name: string | undefined) => void }) {
  const { graph, selected } = props;
  const { placed, width, height, backEdges } = useMemo(() => layout(graph), [graph]);
  const maxRate = Math.max(0, ...graph.edges.map((e) => e.ratePerSecond));
  return (
    // Scaled down to the space there is, never up: text stays readable on a wide screen.
    <svg className="svcmap" viewBox={`0 0 ${width} ${height}`} style={{ width: '100%', maxWidth: width }} data-testid="service-map" role="img" aria-label="Service map">
      <defs>
        <marker id="svcmap-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="arrow" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const a = placed.get(e.client)!;
        const b = placed.get(e.server)!;
        let d: string;
        let lx: number;
        let ly: number;
        if (e.client === e.server) {
          const x = a.x + NODE_W / 2;
          d = `M${x - 20},${a.y} C${x - 40},${a.y - 50} ${x + 40},${a.y - 50} ${x + 20},${a.y}`;
          lx = x;
          ly = a.y - 42;
        } else if (backEdges.has(e) || b.layer <= a.layer) {
          // Against the flow: loop below both nodes.
          const x1 = a.x + NODE_W / 2;
          const x2 = b.x + NODE_W / 2;
          const y = Math.max(a.y, b.y) + NODE_H;
          d = `M${x1},${a.y + NODE_H} C${x1},${y + 60} ${x2},${y + 60} ${x2},${b.y + NODE_H}`;
          lx = (x1 + x2) / 2;
          ly = y + 44;
        } else {
          const x1 = a.x + NODE_W;
          const y1 = a.y + NODE_H / 2;
          const x2 = b.x;
          const y2 = b.y + NODE_H / 2;
          const mx = (x1 + x2) / 2;
          d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 2},${y2}`;
          lx = mx;
          ly = (y1 + y2) / 2 - 6;
        }
        const share = errorShare(e.failed, e.requests);
        const w = 1.2 + (maxRate > 0 ? 3.5 * Math.sqrt(e.ratePerSecond / maxRate) : 0);
        const dim = selected !== undefined && e.client !== selected && e.server !== selected;
        return (
          <g key={edgeKey(e)} className={`edge ${share > 0 ? 'failing' : ''} ${dim ? 'dim' : ''}`} data-edge={edgeKey(e)}>
            <title>{edgeTitle(e)}</title>
            <path d={d} strokeWidth={w} markerEnd="url(#svcmap-arrow)" style={share > 0 ? { stroke: `color-mix(in srgb, var(--error) ${Math.round(35 + 65 * Math.min(1, share * 4))}%, var(--fg2))` } : undefined} />
            {/* Rate and errors above the line, latency below it. */}
            <text x={lx} y={ly - 2} textAnchor="middle" className="edge-label">
              {formatRate(e.ratePerSecond)}
              {share > 0 ? <tspan className="err"> · {formatErrorRate(e.failed, e.requests)} err</tspan> : null}
              <tspan className="lat" x={lx} dy={22}>
                p99 {formatSeconds(e.p99Seconds)}
              </tspan>
            </text>
          </g>
        );
      })}
      {[...placed.values()].map(({ node, x, y }) => {
        const share = errorShare(node.failed, node.requests);
        return (
          <g
            key={node.name}
            className={`node ${node.virtual ? 'virtual' : ''} ${selected === node.name ? 'sel' : ''}`}
            transform={`translate(${x},${y})`}
            data-node={node.name}
            tabIndex={0}
            role="button"
            aria-label={`${node.name}${node.virtual ? ' (not instrumented)' : ''}`}
            onClick={() => props.onSelect(selected === node.name ? undefined : node.name)}
            onKeyDown={(ev) => {
              if (ev.key === 'Enter' || ev.key === ' ') {
                ev.preventDefault();
                props.onSelect(selected === node.name ? undefined : node.name);
              }
            }}
          >
            <title>{`${node.name}${node.virtual ? ' (not instrumented: known from its callers)' : ''}\nserved ${node.requests} requests, ${formatRate(node.ratePerSecond)}\nerrors ${formatErrorRate(node.failed, node.requests)}\np50 ${formatSeconds(node.p50Seconds)}, p99 ${formatSeconds(node.p99Seconds)}`}</title>
            <rect width={NODE_W} height={NODE_H} rx={7} />
            <rect width={5} height={NODE_H - 10} x={6} y={5} rx={2} style={{ fill: serviceColor(node.name) }} className="stripe" />
            <text x={18} y={19} className="node-name">
              {node.name.length > 20 ? `${node.name.slice(0, 19)}…` : node.name}
            </text>
            <text x={18} y={36} className="node-figures">
              {node.requests > 0 ? (
                <>
                  {formatRate(node.ratePerSecond)}
                  <tspan className={share > 0 ? 'err' : ''}> · {formatErrorRate(node.failed, node.requests)}</tspan> · p99 {formatSeconds(node.p99Seconds)}
                </>
              ) : node.virtual ? (
                'not instrumented'
              ) : (
                'entry point'
              )}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function NodePanel(props: { node: GraphNode; graph: ServiceGraph; operations: Operation[] | undefined; opsError: string; windowKey: string }) {
  const { node, graph } = props;
  const ops = (props.operations ?? []).filter((o) => o.service === node.name);
  const callers = graph.edges.filter((e) => e.server === node.name);
  const callees = graph.edges.filter((e) => e.client === node.name);
  return (
    <aside className="dash-panel" data-testid="node-panel">
      <h2 style={{ marginTop: 0 }}>
        <span className="dot-lg" style={{ background: serviceColor(node.name) }} /> {node.name}
      </h2>
      {node.virtual ? (
        <p className="muted">Not instrumented: Skein knows it only from the spans of the services that call it.</p>
      ) : (
        <p>
          <Link href={`/search${qs({ service: node.name, range: props.windowKey })}`} data-testid="search-service-link">
            Search traces of {node.name} →
          </Link>
        </p>
      )}
      <table className="kv">
        <tbody>
          <tr>
            <td>Requests served</td>
            <td>
              {node.requests} ({formatRate(node.ratePerSecond)})
            </td>
          </tr>
          <tr>
            <td>Errors</td>
            <td className={node.failed ? 'err' : ''}>
              {node.failed} ({formatErrorRate(node.failed, node.requests)})
            </td>
          </tr>
          <tr>
            <td>p50 / p99</td>
            <td>
              {formatSeconds(node.p50Seconds)} / {formatSeconds(node.p99Seconds)}
            </td>
          </tr>
          <tr>
            <td>Called by</td>
            <td>{callers.map((e) => e.client).join(', ') || '–'}</td>
          </tr>
          <tr>
            <td>Calls</td>
            <td>{callees.map((e) => e.server).join(', ') || '–'}</td>
          </tr>
        </tbody>
      </table>
      {!node.virtual && (
        <>
          <h3>Operations</h3>
          {props.opsError && <div className="error-box">{props.opsError}</div>}
          {props.operations === undefined && !props.opsError ? (
            <div className="muted">Loading…</div>
          ) : ops.length === 0 ? (
            <div className="muted">No operations of {node.name} in this window.</div>
          ) : (
            <table className="results red" data-testid="operations-table">
              <thead>
                <tr>
                  <th>Span name</th>
                  <th className="num">Rate</th>
                  <th className="num">Errors</th>
                  <th className="num">p50</th>
                  <th className="num">p99</th>
                </tr>
              </thead>
              <tbody>
                {ops.map((o) => (
                  <tr key={`${o.spanName}|${o.spanKind}`} data-operation={o.spanName}>
                    <td>
                      <Link href={`/search${qs({ service: node.name, span: o.spanName })}`}>{o.spanName}</Link>{' '}
                      <span className="muted kind">{o.spanKind.replace(/^SPAN_KIND_/, '').toLowerCase()}</span>
                    </td>
                    <td className="num">{formatRate(o.ratePerSecond)}</td>
                    <td className={`num ${o.errors ? 'err' : ''}`} title={`${o.errors} of ${o.calls}`}>
                      {formatErrorRate(o.errors, o.calls)}
                    </td>
                    <td className="num">{formatSeconds(o.p50Seconds)}</td>
                    <td className="num">{formatSeconds(o.p99Seconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </aside>
  );
}

export function ServiceMapPage() {
  const loc = useLocation();
  const windowKey = WINDOWS.some((w) => w.key === loc.query.get('window')) ? loc.query.get('window')! : '15m';
  const seconds = windowSeconds(windowKey);
  const selected = loc.query.get('node') ?? undefined;
  const graph = usePolling(() => fetchGraph(seconds), REFRESH_MS, [seconds]);
  const ops = usePolling(() => fetchOperations(seconds), REFRESH_MS, [seconds]);

  const setParams = (patch: Record<string, string | undefined>): void => {
    const p = new URLSearchParams(loc.query);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) p.delete(k);
      else p.set(k, v);
    }
    const s = p.toString();
    navigate(`/service-map${s ? `?${s}` : ''}`, { replace: true });
  };

  const g = graph.data;
  const selectedNode = g?.nodes.find((n) => n.name === selected);
  return (
    <div className="page">
      <div className="dash-head">
        <h1>Service map</h1>
        <span className="muted">calls between services, from the servicegraph connector</span>
        <div className="spacer" />
        <label htmlFor="map-window">Window</label>
        <select id="map-window" value={windowKey} onChange={(e) => setParams({ window: e.target.value === '15m' ? undefined : e.target.value })} data-testid="window-select">
          {WINDOWS.map((w) => (
            <option key={w.key} value={w.key}>
              Last {w.key}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => (graph.refresh(), ops.refresh())} data-testid="refresh">
          Refresh
        </button>
      </div>
      {graph.error && <div className="error-box">{graph.error}</div>}
      {!g && !graph.error && <div className="loading">Loading…</div>}
      {g && g.edges.length === 0 && (
        <div className="empty" data-testid="map-empty">
          No calls between services in the last {windowKey}. Edges appear once a client span and the server span it called (or a database or
          messaging span) have both reached Skein.
        </div>
      )}
      {g && g.edges.length > 0 && (
        <div className={`map-layout ${selectedNode ? 'with-panel' : ''}`}>
          <div className="map-wrap">
            <MapSvg graph={g} selected={selected} onSelect={(n) => setParams({ node: n })} />
          </div>
          {selectedNode && <NodePanel node={selectedNode} graph={g} operations={ops.data} opsError={ops.error} windowKey={windowKey} />}
        </div>
      )}
      {g && g.edges.length > 0 && (
        <>
          <h2>Edges</h2>
          <table className="results red" data-testid="edges-table">
            <thead>
              <tr>
                <th>Client</th>
                <th>Server</th>
                <th>Type</th>
                <th className="num">Requests</th>
                <th className="num">Rate</th>
                <th className="num">Errors</th>
                <th className="num">p50</th>
                <th className="num">p99</th>
              </tr>
            </thead>
            <tbody>
              {g.edges.map((e) => (
                <tr key={edgeKey(e)} data-edge={edgeKey(e)} className={selected && (e.client === selected || e.server === selected) ? 'hl' : ''}>
                  <td>
                    <a href="#" onClick={(ev) => (ev.preventDefault(), setParams({ node: e.client }))}>
                      {e.client}
                    </a>
                  </td>
                  <td>
                    <a href="#" onClick={(ev) => (ev.preventDefault(), setParams({ node: e.server }))}>
                      {e.server}
                    </a>
                  </td>
                  <td className="muted">{e.connectionType.replace('_', ' ') || 'request'}</td>
                  <td className="num">{e.requests}</td>
                  <td className="num">{formatRate(e.ratePerSecond)}</td>
                  <td className={`num ${e.failed ? 'err' : ''}`} title={`${e.failed} failed`}>
                    {formatErrorRate(e.failed, e.requests)}
                  </td>
                  <td className="num">{formatSeconds(e.p50Seconds)}</td>
                  <td className="num">{formatSeconds(e.p99Seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
