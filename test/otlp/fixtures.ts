// Test data for the OTLP codec tests: real spans from the OpenTelemetry JS SDK
// (with the SDK's own protobuf and JSON serializations of them), and a batch
// built by hand that sets every field of trace.proto, including the edge
// values a generic SDK never produces.
import { SpanKind as ApiSpanKind, SpanStatusCode, context, trace, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanKind, StatusCode, type AnyValue, type KeyValue, type ResourceSpans, type Span } from '../../src/otlp/model.js';

export interface SdkExport {
  spans: ReadableSpan[];
  protobuf: Uint8Array;
  json: string;
}

/**
 * Spans from two services (two resources), three instrumentation scopes, with
 * attributes of every SDK type, events with attributes, links, error status,
 * every span kind and parent/child nesting, exported through the SDK's own
 * OTLP serializers.
 */
export function sdkExport(): SdkExport {
  const exporter = new InMemorySpanExporter();
  const checkout = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.version': '1.4.2',
      'host.cpu.count': 8,
      'deployment.canary': true,
      'process.command_args': ['node', 'server.js', '--port=8080'],
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const payments = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'payments', 'cloud.region': 'eu-west-1' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });

  const http = checkout.getTracer('@opentelemetry/instrumentation-http', '0.57.1', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const db = checkout.getTracer('pg-instrumentation', '2.0.0');
  const pay = payments.getTracer('payments-core');

  const target = pay.startSpan('payments.authorize', { kind: ApiSpanKind.INTERNAL });
  target.end();

  const root = http.startSpan('POST /api/checkout', {
    kind: ApiSpanKind.SERVER,
    attributes: {
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'http.server.duration_ratio': 0.375,
      'feature.enabled': true,
      'feature.disabled': false,
      'cart.items': ['sku-1', 'sku-2', 'sku-ü'],
      'cart.quantities': [1, 2, 3],
      'cart.prices': [9.99, 0.5],
      'cart.flags': [true, false],
      'empty.string': '',
      'unicode.text': 'héllo wörld 🌍 — ✓',
    },
  });
  root.addEvent('request.received', { 'net.peer.port': 51234 });
  const rootCtx = trace.setSpan(context.active(), root);

  const query = db.startSpan(
    'SELECT carts',
    {
      kind: ApiSpanKind.CLIENT,
      attributes: { 'db.system': 'postgresql', 'db.rows': 12 },
      links: [{ context: target.spanContext(), attributes: { 'link.reason': 'authorizes', 'link.attempt': 2 } }],
    },
    rootCtx,
  );
  query.addEvent('exception', { 'exception.type': 'TimeoutError', 'exception.message': 'db timed out', 'exception.escaped': false });
  query.addEvent('retry', { 'retry.delays_ms': [10, 20, 40] });
  query.setStatus({ code: SpanStatusCode.ERROR, message: 'db timed out' });
  query.end();

  const publish = http.startSpan('orders publish', { kind: ApiSpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka' } }, rootCtx);
  publish.setStatus({ code: SpanStatusCode.OK });
  publish.end();
  const consume = pay.startSpan('orders process', { kind: ApiSpanKind.CONSUMER }, trace.setSpan(context.active(), publish));
  consume.end();

  root.end();
  const spans = exporter.getFinishedSpans();
  return {
    spans,
    protobuf: ProtobufTraceSerializer.serializeRequest(spans)!,
    json: Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8'),
  };
}

export function hrTimeToNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** How the SDK's OTLP serializers map an attribute value. */
function sdkValue(v: AttributeValue | undefined | null): AnyValue {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: BigInt(v) } : { type: 'double', value: v };
  if (Array.isArray(v)) return { type: 'array', value: (v as Array<AttributeValue | null | undefined>).map(sdkValue) };
  return { type: 'empty' };
}

export function sdkAttributes(attrs: Attributes | undefined): KeyValue[] {
  return Object.entries(attrs ?? {}).map(([key, value]) => ({ key, value: sdkValue(value) }));
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * OTLP SpanFlags: the W3C trace flags in bits 0-7, then
 * SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE (0x100) and SPAN_FLAGS_CONTEXT_IS_REMOTE (0x200).
 */
function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

/** The span the SDK recorded, in Skein's model. */
export function modelOfSdkSpan(s: ReadableSpan): Span {
  const ctx = s.spanContext();
  return {
    flags: spanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote),
    traceId: hexBytes(ctx.traceId),
    spanId: hexBytes(ctx.spanId),
    traceState: ctx.traceState?.serialize() ?? '',
    parentSpanId: s.parentSpanContext ? hexBytes(s.parentSpanContext.spanId) : new Uint8Array(0),
    name: s.name,
    kind: (s.kind + 1) as SpanKind,
    startTimeUnixNano: hrTimeToNanos(s.startTime),
    endTimeUnixNano: hrTimeToNanos(s.endTime),
    attributes: sdkAttributes(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) => ({
      timeUnixNano: hrTimeToNanos(e.time),
      name: e.name,
      attributes: sdkAttributes(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({
      traceId: hexBytes(l.context.traceId),
      spanId: hexBytes(l.context.spanId),
      traceState: l.context.traceState?.serialize() ?? '',
      attributes: sdkAttributes(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: spanFlags(l.context.traceFlags, l.context.isRemote),
    })),
    droppedLinksCount: s.droppedLinksCount,
    status: { code: s.status.code as StatusCode, message: s.status.message ?? '' },
  };
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

const str = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });

/** Every AnyValue kind, with defaults, extremes and nesting. */
export function everyValueKind(): KeyValue[] {
  return [
    str('string', 'plain'),
    str('string.empty', ''),
    str('string.unicode', 'héllo wörld 🌍 — ✓ 日本語'),
    str('string.long', 'x'.repeat(300) + 'é'.repeat(100)),
    { key: 'bool.true', value: { type: 'bool', value: true } },
    { key: 'bool.false', value: { type: 'bool', value: false } },
    { key: 'int.zero', value: { type: 'int', value: 0n } },
    { key: 'int.small', value: { type: 'int', value: 42n } },
    { key: 'int.negative', value: { type: 'int', value: -5n } },
    { key: 'int.min', value: { type: 'int', value: -(1n << 63n) } },
    { key: 'int.max', value: { type: 'int', value: (1n << 63n) - 1n } },
    { key: 'int.2^53+1', value: { type: 'int', value: (1n << 53n) + 1n } },
    { key: 'int.-2^40', value: { type: 'int', value: -(1n << 40n) } },
    { key: 'double', value: { type: 'double', value: 3.14159 } },
    { key: 'double.zero', value: { type: 'double', value: 0 } },
    { key: 'double.negative-zero', value: { type: 'double', value: -0 } },
    { key: 'double.nan', value: { type: 'double', value: NaN } },
    { key: 'double.inf', value: { type: 'double', value: Infinity } },
    { key: 'double.-inf', value: { type: 'double', value: -Infinity } },
    { key: 'bytes', value: { type: 'bytes', value: bytes(0, 1, 2, 254, 255) } },
    { key: 'bytes.empty', value: { type: 'bytes', value: new Uint8Array(0) } },
    {
      key: 'array',
      value: {
        type: 'array',
        value: [
          { type: 'string', value: 'a' },
          { type: 'int', value: 7n },
          { type: 'empty' },
          { type: 'array', value: [{ type: 'bool', value: false }, { type: 'array', value: [] }] },
          { type: 'kvlist', value: [str('inner', 'v')] },
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
          { key: 'nested', value: { type: 'kvlist', value: [{ key: 'deep', value: { type: 'double', value: 1.5 } }] } },
          { key: 'nothing', value: { type: 'empty' } },
          { key: '', value: { type: 'string', value: 'empty key' } },
        ],
      },
    },
    { key: 'kvlist.empty', value: { type: 'kvlist', value: [] } },
    { key: 'empty', value: { type: 'empty' } },
  ];
}

const TRACE_A = bytes(0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36);
const TRACE_B = bytes(0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c);

function fullSpan(): Span {
  return {
    traceId: TRACE_A.slice(),
    spanId: bytes(0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7),
    traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    parentSpanId: bytes(0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8),
    flags: 0x301,
    name: 'GET /api/cart/{id} — ünïcödé',
    kind: 2,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_000_223_456_789n,
    attributes: everyValueKind(),
    droppedAttributesCount: 3,
    events: [
      { timeUnixNano: 1_700_000_000_150_000_000n, name: 'exception', attributes: [str('exception.type', 'TimeoutError')], droppedAttributesCount: 1 },
      { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 },
    ],
    droppedEventsCount: 4,
    links: [
      {
        traceId: TRACE_B.slice(),
        spanId: bytes(1, 2, 3, 4, 5, 6, 7, 8),
        traceState: 'vendor=x',
        attributes: [str('link.reason', 'retry-of'), { key: 'link.n', value: { type: 'int', value: 2n } }],
        droppedAttributesCount: 2,
        flags: 0x101,
      },
      { traceId: new Uint8Array(0), spanId: new Uint8Array(0), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 },
    ],
    droppedLinksCount: 5,
    status: { code: 2, message: 'db timed out' },
  };
}

/** A span whose every field holds its default: it encodes to zero bytes. */
export function defaultSpan(): Span {
  return {
    traceId: new Uint8Array(0),
    spanId: new Uint8Array(0),
    traceState: '',
    parentSpanId: new Uint8Array(0),
    flags: 0,
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

/** Sets every field of trace.proto at least once, with edge values. */
export function kitchenSinkBatch(): ResourceSpans[] {
  const extremes = defaultSpan();
  extremes.traceId = TRACE_B.slice();
  extremes.spanId = bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  extremes.name = 'extremes';
  extremes.kind = SpanKind.CONSUMER; // the largest kind trace.proto v1 defines (others decode as UNSPECIFIED)
  extremes.flags = 0xffffffff;
  extremes.startTimeUnixNano = (1n << 64n) - 1n;
  extremes.endTimeUnixNano = 1n << 63n;
  extremes.droppedAttributesCount = 0xffffffff;
  extremes.status = { code: 0, message: 'message without a code' };

  const lastEnums = defaultSpan();
  lastEnums.traceId = TRACE_B.slice();
  lastEnums.spanId = bytes(9, 9, 9, 9, 9, 9, 9, 9);
  lastEnums.kind = SpanKind.INTERNAL;
  lastEnums.status = { code: StatusCode.ERROR, message: '' };

  return [
    {
      resource: {
        attributes: [str('service.name', 'checkout'), str('service.version', '1.4.2'), ...everyValueKind().slice(4, 12)],
        droppedAttributesCount: 2,
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeSpans: [
        {
          scope: {
            name: '@opentelemetry/instrumentation-http',
            version: '0.57.1',
            attributes: [str('scope.attr', 'x'), { key: 'scope.n', value: { type: 'int', value: 1n } }],
            droppedAttributesCount: 6,
          },
          schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
          spans: [fullSpan(), extremes],
        },
        { scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: [lastEnums, defaultSpan()] },
        { scope: { name: 'empty-scope-spans', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: [] },
      ],
    },
    // A resource with nothing set, and a ResourceSpans with no scopes at all.
    { resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: [defaultSpan()] }] },
    { resource: { attributes: [str('service.name', 'idle')], droppedAttributesCount: 0 }, schemaUrl: 'https://example.com/ü', scopeSpans: [] },
  ];
}

/** All spans of a batch, in order. */
export function spansOf(batch: readonly ResourceSpans[]): Span[] {
  return batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}
