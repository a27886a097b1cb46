// Shared set-up for block tests: a real DuckDB engine, a real LocalBackend in a
// temp dir, and spans that exercise every field and value type of the model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { KeyValue, Span, StoredSpan, TraceSpans } from '../../../src/otlp/model.js';
import { toHex } from '../../../src/otlp/model.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { LocalBackend } from '../../../src/store/backend/local.js';
import { DuckEngine } from '../../../src/store/engine/duckdb.js';
import { BlockStore } from '../../../src/store/blocks/block-store.js';

export interface Harness {
  dir: string;
  engine: DuckEngine;
  backend: LocalBackend;
  store: BlockStore;
  reopen(): Promise<BlockStore>;
  dispose(): Promise<void>;
}

export async function openHarness(opts: { rowGroupSpans?: number } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-blocks-test-'));
  const engine = await DuckEngine.open({ threads: 2, connections: 3 });
  const backend = new LocalBackend(dir);
  const open = (): Promise<BlockStore> => BlockStore.open({ backend: new LocalBackend(dir), engine, rowGroupSpans: opts.rowGroupSpans ?? 1000, logger: silentLogger });
  const h: Harness = {
    dir,
    engine,
    backend,
    store: await open(),
    async reopen() {
      await h.store.close();
      h.store = await open();
      return h.store;
    },
    async dispose() {
      await h.store.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export const HOUR_NS = 3_600_000_000_000n;
export const BASE_NS = 1_700_000_000_000_000_000n;

const str = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });

export function basicSpan(traceId: Uint8Array, opts: { spanId?: Uint8Array; parent?: Uint8Array; name?: string; start?: bigint; durationNs?: bigint } = {}): Span {
  const start = opts.start ?? BASE_NS;
  return {
    traceId,
    spanId: opts.spanId ?? randomBytes(8),
    traceState: '',
    parentSpanId: opts.parent ?? new Uint8Array(0),
    flags: 0,
    name: opts.name ?? 'op',
    kind: 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + (opts.durationNs ?? 1_000_000n),
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

export function stored(span: Span, service = 'svc'): StoredSpan {
  return {
    resource: { attributes: [str('service.name', service)], droppedAttributesCount: 0 },
    resourceSchemaUrl: '',
    scope: { name: 'test', version: '1.0.0', attributes: [], droppedAttributesCount: 0 },
    scopeSchemaUrl: '',
    span,
  };
}

/** Every attribute value type, including the edges: 64-bit extremes, non-finite doubles, -0, empty and nested values. */
export function everyValueAttributes(): KeyValue[] {
  return [
    str('str', 'plain'),
    str('str.empty', ''),
    str('str.unicode', 'héllo ✓ 🚀 "quoted" \\ back\nnew line\ttab \u0001'),
    { key: 'int.max', value: { type: 'int', value: 9223372036854775807n } },
    { key: 'int.min', value: { type: 'int', value: -9223372036854775808n } },
    { key: 'int.beyond53', value: { type: 'int', value: 9007199254740993n } },
    { key: 'int.zero', value: { type: 'int', value: 0n } },
    { key: 'dbl', value: { type: 'double', value: 3.141592653589793 } },
    { key: 'dbl.tiny', value: { type: 'double', value: 5e-324 } },
    { key: 'dbl.big', value: { type: 'double', value: 1.7976931348623157e308 } },
    { key: 'dbl.nan', value: { type: 'double', value: Number.NaN } },
    { key: 'dbl.inf', value: { type: 'double', value: Number.POSITIVE_INFINITY } },
    { key: 'dbl.ninf', value: { type: 'double', value: Number.NEGATIVE_INFINITY } },
    { key: 'dbl.negzero', value: { type: 'double', value: -0 } },
    { key: 'bool.t', value: { type: 'bool', value: true } },
    { key: 'bool.f', value: { type: 'bool', value: false } },
    { key: 'bytes', value: { type: 'bytes', value: new Uint8Array([0, 1, 127, 128, 255]) } },
    { key: 'bytes.empty', value: { type: 'bytes', value: new Uint8Array(0) } },
    { key: 'empty', value: { type: 'empty' } },
    {
      key: 'array',
      value: {
        type: 'array',
        value: [
          { type: 'string', value: 'a' },
          { type: 'int', value: -9223372036854775807n },
          { type: 'double', value: Number.NaN },
          { type: 'double', value: -0 },
          { type: 'double', value: 0.1 },
          { type: 'bool', value: false },
          { type: 'bytes', value: new Uint8Array([9, 8, 7]) },
          { type: 'empty' },
          { type: 'array', value: [] },
          { type: 'array', value: [{ type: 'array', value: [{ type: 'string', value: 'deep' }] }] },
          { type: 'kvlist', value: [{ key: 'in.array', value: { type: 'int', value: 7n } }] },
        ],
      },
    },
    { key: 'array.empty', value: { type: 'array', value: [] } },
    {
      key: 'kvlist',
      value: {
        type: 'kvlist',
        value: [
          str('k', 'v'),
          str('k', 'duplicate keys are kept'),
          { key: 'nested', value: { type: 'kvlist', value: [{ key: 'x', value: { type: 'double', value: Number.POSITIVE_INFINITY } }] } },
          { key: 'nothing', value: { type: 'empty' } },
        ],
      },
    },
    { key: 'kvlist.empty', value: { type: 'kvlist', value: [] } },
    str('', 'empty key'),
  ];
}

/** A trace whose spans use every field of the model, with distinct resources and scopes. */
export function everyFieldTrace(start = 18_000_000_000_000_000_000n): TraceSpans {
  const traceId = randomBytes(16);
  const rootId = randomBytes(8);
  const root: Span = {
    ...basicSpan(traceId, { spanId: rootId, name: 'root ✓', start, durationNs: 0n }),
    traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    flags: 0x301,
    kind: 5,
    attributes: everyValueAttributes(),
    droppedAttributesCount: 3,
    events: [
      { timeUnixNano: start + 1n, name: 'exception', attributes: everyValueAttributes(), droppedAttributesCount: 2 },
      { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 },
    ],
    droppedEventsCount: 4,
    links: [
      { traceId: randomBytes(16), spanId: randomBytes(8), traceState: 'a=b', attributes: everyValueAttributes(), droppedAttributesCount: 1, flags: 0x101 },
      { traceId: randomBytes(16), spanId: randomBytes(8), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 },
    ],
    droppedLinksCount: 5,
    status: { code: 2, message: 'it broke: "quoted"' },
  };
  const child: Span = { ...basicSpan(traceId, { parent: rootId, name: '', start: start + 500n, durationNs: 1n }), kind: 0, status: { code: 1, message: '' } };
  return {
    traceId: toHex(traceId),
    spans: [
      {
        resource: { attributes: [str('service.name', 'every-field'), ...everyValueAttributes()], droppedAttributesCount: 6 },
        resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scope: { name: 'scope ✓', version: '9.9.9', attributes: everyValueAttributes(), droppedAttributesCount: 7 },
        scopeSchemaUrl: 'https://example.com/scope-schema',
        span: root,
      },
      {
        // No service.name, empty everything.
        resource: { attributes: [], droppedAttributesCount: 0 },
        resourceSchemaUrl: '',
        scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
        scopeSchemaUrl: '',
        span: child,
      },
    ],
  };
}

/** A deep, comparable copy: bytes become hex (Buffer and Uint8Array alike), everything else is kept, NaN and -0 included. */
export function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) return v.map(comparable);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

/** Spans in a canonical order (by span ID) and comparable form. */
export function canonical(spans: readonly StoredSpan[]): unknown {
  return [...spans].sort((a, b) => toHex(a.span.spanId).localeCompare(toHex(b.span.spanId))).map(comparable);
}

export function sortTraces(traces: TraceSpans[]): TraceSpans[] {
  return traces.sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
}
