// Renders a trace as an indented tree for the terminal (`skein query`).
import { STATUS_CODE_NAMES, SPAN_KIND_NAMES, StatusCode, stringAttribute, toHex, type ResourceSpans, type Span } from '../otlp/model.js';

interface Node {
  span: Span;
  service: string;
  children: Node[];
}

export function renderTraceTree(traceId: string, batch: readonly ResourceSpans[]): string {
  const nodes = new Map<string, Node>();
  for (const rs of batch) {
    const service = stringAttribute(rs.resource.attributes, 'service.name') ?? 'unknown_service';
    for (const ss of rs.scopeSpans) for (const span of ss.spans) nodes.set(toHex(span.spanId), { span, service, children: [] });
  }
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanId.length > 0 ? nodes.get(toHex(node.span.parentSpanId)) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const byStart = (a: Node, b: Node) => (a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : a.span.startTimeUnixNano > b.span.startTimeUnixNano ? 1 : 0);
  for (const node of nodes.values()) node.children.sort(byStart);
  roots.sort(byStart);

  const all = [...nodes.values()];
  const start = all.reduce((m, n) => (n.span.startTimeUnixNano < m ? n.span.startTimeUnixNano : m), all[0]?.span.startTimeUnixNano ?? 0n);
  const end = all.reduce((m, n) => (n.span.endTimeUnixNano > m ? n.span.endTimeUnixNano : m), 0n);
  const services = new Set(all.map((n) => n.service));
  const lines = [
    `trace ${traceId} · ${all.length} span${all.length === 1 ? '' : 's'} · ${services.size} service${services.size === 1 ? '' : 's'} · ${formatNanos(end - start)}`,
  ];
  const walk = (node: Node, prefix: string, last: boolean) => {
    const { span } = node;
    const kind = SPAN_KIND_NAMES[span.kind]?.replace('SPAN_KIND_', '') ?? String(span.kind);
    const offset = formatNanos(span.startTimeUnixNano - start);
    const error = span.status.code === StatusCode.ERROR ? `  ✗ ${STATUS_CODE_NAMES[span.status.code]}${span.status.message ? `: ${span.status.message}` : ''}` : '';
    lines.push(
      `${prefix}${last ? '└─ ' : '├─ '}${node.service}  ${span.name}  [${kind}]  ${formatNanos(span.endTimeUnixNano - span.startTimeUnixNano)} @+${offset}  ${toHex(span.spanId)}${error}`,
    );
    node.children.forEach((child, i) => walk(child, prefix + (last ? '   ' : '│  '), i === node.children.length - 1));
  };
  roots.forEach((root, i) => walk(root, '', i === roots.length - 1));
  return lines.join('\n');
}

function formatNanos(ns: bigint): string {
  const ms = Number(ns) / 1e6;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms >= 1) return `${ms.toFixed(1)}ms`;
  return `${(ms * 1000).toFixed(0)}µs`;
}
