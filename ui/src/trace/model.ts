// A trace as the trace view needs it: spans with hex IDs, times relative to the
// trace start (ns, as doubles), a tree in start order, self times, the critical
// path and per-service/operation statistics. Everything is computed once per
// trace, iteratively (a 20,000-span chain must not overflow the stack).
import type { OtlpAnyValue, OtlpKeyValue, OtlpTrace } from '../api';
import { base64ToHex } from '../format';

export interface Attr {
  key: string;
  value: string;
}

export interface UiSpan {
  index: number;
  spanId: string;
  parentId: string;
  traceId: string;
  name: string;
  service: string;
  kind: string;
  /** ns since the trace's first span started */
  start: number;
  end: number;
  duration: number;
  /** absolute start, ms since the epoch */
  startMs: number;
  attributes: Attr[];
  resource: Attr[];
  scope: { name: string; version: string };
  events: Array<{ time: number; name: string; attributes: Attr[] }>;
  links: Array<{ traceId: string; spanId: string; attributes: Attr[] }>;
  status: { code: 'unset' | 'ok' | 'error'; message: string };
  traceState: string;
  children: UiSpan[];
  parent: UiSpan | undefined;
  depth: number;
  /** time not covered by any child */
  selfTime: number;
  critical: boolean;
  /** span count in the subtree below (not counting itself) */
  descendants: number;
}

export interface Trace {
  traceId: string;
  spans: UiSpan[];
  byId: Map<string, UiSpan>;
  /** roots in start order: the real root first, then spans whose parent never arrived */
  roots: UiSpan[];
  startNs: bigint;
  startMs: number;
  duration: number;
  services: string[];
  errorCount: number;
  maxDepth: number;
}

export function anyValueToString(v: OtlpAnyValue | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.bytesValue !== undefined) return base64ToHex(v.bytesValue);
  if (v.arrayValue) return `[${(v.arrayValue.values ?? []).map((x) => (x.stringValue !== undefined ? JSON.stringify(x.stringValue) : anyValueToString(x))).join(', ')}]`;
  if (v.kvlistValue) return `{${(v.kvlistValue.values ?? []).map((kv) => `${kv.key}: ${anyValueToString(kv.value)}`).join(', ')}}`;
  return '';
}

const attrs = (list: OtlpKeyValue[] | undefined): Attr[] => (list ?? []).map((kv) => ({ key: kv.key, value: anyValueToString(kv.value) }));

function kindName(k: string | number | undefined): string {
  if (typeof k === 'number') return ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][k] ?? 'unspecified';
  return (k ?? 'SPAN_KIND_UNSPECIFIED').replace('SPAN_KIND_', '').toLowerCase();
}
function statusCode(c: string | number | undefined): 'unset' | 'ok' | 'error' {
  if (c === 2 || c === 'STATUS_CODE_ERROR') return 'error';
  if (c === 1 || c === 'STATUS_CODE_OK') return 'ok';
  return 'unset';
}

export function buildTrace(traceIdHex: string, otlp: OtlpTrace): Trace {
  const raw: Array<{ s: NonNullable<NonNullable<NonNullable<OtlpTrace['resourceSpans']>[number]['scopeSpans']>[number]['spans']>[number]; resource: Attr[]; service: string; scope: { name: string; version: string } }> = [];
  for (const rs of otlp.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    const service = resource.find((a) => a.key === 'service.name')?.value ?? 'unknown_service';
    for (const ss of rs.scopeSpans ?? []) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans ?? []) raw.push({ s, resource, service, scope });
    }
  }
  let startNs: bigint | undefined;
  for (const r of raw) {
    const st = BigInt(r.s.startTimeUnixNano ?? '0');
    if (startNs === undefined || st < startNs) startNs = st;
  }
  startNs ??= 0n;
  const rel = (nanos: string | undefined): number => Number(BigInt(nanos ?? '0') - startNs!);
  const startMs = Number(startNs / 1000n) / 1000;

  const spans: UiSpan[] = raw.map((r, index) => {
    const start = rel(r.s.startTimeUnixNano);
    const end = Math.max(start, rel(r.s.endTimeUnixNano));
    return {
      index,
      spanId: base64ToHex(r.s.spanId),
      parentId: base64ToHex(r.s.parentSpanId ?? ''),
      traceId: base64ToHex(r.s.traceId),
      name: r.s.name ?? '',
      service: r.service,
      kind: kindName(r.s.kind),
      start,
      end,
      duration: end - start,
      startMs: startMs + start / 1e6,
      attributes: attrs(r.s.attributes),
      resource: r.resource,
      scope: r.scope,
      events: (r.s.events ?? []).map((e) => ({ time: rel(e.timeUnixNano), name: e.name ?? '', attributes: attrs(e.attributes) })),
      links: (r.s.links ?? []).map((l) => ({ traceId: base64ToHex(l.traceId), spanId: base64ToHex(l.spanId), attributes: attrs(l.attributes) })),
      status: { code: statusCode(r.s.status?.code), message: r.s.status?.message ?? '' },
      traceState: r.s.traceState ?? '',
      children: [],
      parent: undefined,
      depth: 0,
      selfTime: 0,
      critical: false,
      descendants: 0,
    };
  });

  const byId = new Map<string, UiSpan>();
  for (const s of spans) byId.set(s.spanId, s);
  const roots: UiSpan[] = [];
  for (const s of spans) {
    const p = s.parentId ? byId.get(s.parentId) : undefined;
    if (p && p !== s) {
      s.parent = p;
      p.children.push(s);
    } else roots.push(s);
  }
  const byStart = (a: UiSpan, b: UiSpan): number => a.start - b.start || a.index - b.index;
  for (const s of spans) if (s.children.length > 1) s.children.sort(byStart);
  // The true root (no parent ID) first, then orphans whose parent is missing.
  roots.sort((a, b) => Number(a.parentId !== '') - Number(b.parentId !== '') || byStart(a, b));

  // Depth (pre-order) and descendants (post-order), without recursion.
  let maxDepth = 0;
  const order = preorder(roots);
  for (const s of order) {
    s.depth = s.parent ? s.parent.depth + 1 : 0;
    if (s.depth > maxDepth) maxDepth = s.depth;
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i]!;
    if (s.parent) s.parent.descendants += s.descendants + 1;
    s.selfTime = selfTime(s);
  }

  let duration = 0;
  for (const s of spans) if (s.end > duration) duration = s.end;
  for (const r of roots) markCriticalPath(r);

  const services = [...new Set(spans.map((s) => s.service))].sort();
  return {
    traceId: traceIdHex,
    spans,
    byId,
    roots,
    startNs,
    startMs,
    duration,
    services,
    errorCount: spans.filter((s) => s.status.code === 'error').length,
    maxDepth,
  };
}

/** Spans in display order (parents before children, siblings by start). */
export function preorder(roots: UiSpan[], collapsed?: ReadonlySet<string>): UiSpan[] {
  const out: UiSpan[] = [];
  const stack: UiSpan[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]!);
  while (stack.length) {
    const s = stack.pop()!;
    out.push(s);
    if (collapsed?.has(s.spanId)) continue;
    for (let i = s.children.length - 1; i >= 0; i--) stack.push(s.children[i]!);
  }
  return out;
}

/** The span's duration minus the union of its children's time inside it. */
function selfTime(s: UiSpan): number {
  if (s.children.length === 0) return s.duration;
  let covered = 0;
  let curStart = -1;
  let curEnd = -1;
  // children are sorted by start
  for (const c of s.children) {
    const a = Math.max(c.start, s.start);
    const b = Math.min(c.end, s.end);
    if (b <= a) continue;
    if (a > curEnd) {
      if (curEnd > curStart) covered += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) curEnd = b;
  }
  if (curEnd > curStart) covered += curEnd - curStart;
  return Math.max(0, s.duration - covered);
}

/**
 * The critical path as Jaeger draws it: from the end of the root backwards, the
 * child that finished last before the cursor is what the parent waited for; the
 * cursor then moves to that child's start. Spans on the path are marked.
 */
function markCriticalPath(root: UiSpan): void {
  const stack: Array<{ span: UiSpan; bound: number }> = [{ span: root, bound: root.end }];
  while (stack.length) {
    const { span, bound } = stack.pop()!;
    span.critical = true;
    let cursor = Math.min(span.end, bound);
    const kids = [...span.children].sort((a, b) => b.end - a.end);
    for (const k of kids) {
      if (k.start >= cursor) continue;
      stack.push({ span: k, bound: cursor });
      cursor = k.start;
      if (cursor <= span.start) break;
    }
  }
}

export interface OpStats {
  service: string;
  name: string;
  count: number;
  errors: number;
  total: number;
  self: number;
  max: number;
}

export function operationStats(t: Trace): OpStats[] {
  const m = new Map<string, OpStats>();
  for (const s of t.spans) {
    const k = `${s.service}\u0000${s.name}`;
    let o = m.get(k);
    if (!o) m.set(k, (o = { service: s.service, name: s.name, count: 0, errors: 0, total: 0, self: 0, max: 0 }));
    o.count++;
    if (s.status.code === 'error') o.errors++;
    o.total += s.duration;
    o.self += s.selfTime;
    if (s.duration > o.max) o.max = s.duration;
  }
  return [...m.values()].sort((a, b) => b.self - a.self);
}

/** The logs link for a trace or span from ui.logs_url_template; undefined when none is configured. */
export function logsUrl(template: string, t: Trace, span?: UiSpan): string | undefined {
  if (!template) return undefined;
  const root = t.roots[0];
  const startMs = Math.floor(span ? span.startMs : t.startMs);
  const endMs = Math.ceil(span ? span.startMs + span.duration / 1e6 : t.startMs + t.duration / 1e6);
  const values: Record<string, string> = {
    traceId: t.traceId,
    spanId: span?.spanId ?? '',
    service: span?.service ?? root?.service ?? '',
    startMs: String(startMs),
    endMs: String(endMs),
  };
  return template.replace(/\$\{(\w+)\}/g, (all, k: string) => (k in values ? encodeURIComponent(values[k]!) : all));
}

/** Indexes of spans matching a find query: name, span ID, or any attribute or resource value. */
export function findSpans(t: Trace, query: string): UiSpan[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return t.spans.filter(
    (s) =>
      s.name.toLowerCase().includes(q) ||
      s.spanId === q ||
      s.service.toLowerCase() === q ||
      s.attributes.some((a) => a.value.toLowerCase().includes(q) || `${a.key}=${a.value}`.toLowerCase() === q) ||
      s.events.some((e) => e.name.toLowerCase().includes(q)),
  );
}

/** The trace as OTLP/JSON (hex IDs, enums as numbers), as /v1/traces accepts it back. */
export function toOtlpJson(otlp: OtlpTrace): unknown {
  const KIND: Record<string, number> = { SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 };
  const STATUS: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
  const walk = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    if (typeof v === 'string') {
      if (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') return base64ToHex(v);
      if (key === 'kind' && v in KIND) return KIND[v];
      if (key === 'code' && v in STATUS) return STATUS[v];
    }
    return v;
  };
  return walk(otlp, '');
}
