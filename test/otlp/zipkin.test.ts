import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeZipkinV2Json, type ZipkinDecodeOptions } from '../../src/otlp/zipkin.js';
import { OtlpDecodeError } from '../../src/otlp/protobuf.js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { SpanKind, StatusCode, fromHex, toHex, type KeyValue, type ResourceSpans, type Span, type StoredSpan } from '../../src/otlp/model.js';
import { plainAttributes } from '../helpers/compare.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const PARENT_ID = 'b7ad6b7169203331';
/** 2023-11-14T22:13:20.123456Z in epoch microseconds. */
const TS = 1_700_000_000_123_456;

/** Spans without a timestamp key get one: a missing start is tested on its own. */
function decode(spans: Array<Record<string, unknown>>, opts?: ZipkinDecodeOptions): ResourceSpans[] {
  return decodeZipkinV2Json(JSON.stringify(spans.map((s) => ('timestamp' in s ? s : { timestamp: TS, ...s }))), opts);
}

function decodeOne(span: Record<string, unknown>, opts?: ZipkinDecodeOptions): StoredSpan {
  const stored = flattenBatch(decode([{ traceId: TRACE_ID, id: SPAN_ID, ...span }], opts));
  assert.equal(stored.length, 1);
  return stored[0]!;
}

function attrs(span: Span): Record<string, unknown> {
  return plainAttributes(span.attributes);
}

function str(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

function decodeErrorOf(body: string): string {
  try {
    decodeZipkinV2Json(body);
  } catch (err) {
    assert.ok(err instanceof OtlpDecodeError, `expected OtlpDecodeError, got ${(err as Error)?.stack ?? String(err)}`);
    return err.message;
  }
  assert.fail('expected an OtlpDecodeError, but decoding succeeded');
}

describe('Zipkin v2 JSON → OTLP: span fields', () => {
  test('every field of a full span', () => {
    const batch = decode([
      {
        traceId: TRACE_ID,
        id: SPAN_ID,
        parentId: PARENT_ID,
        name: 'get /api/cart',
        kind: 'SERVER',
        timestamp: TS,
        duration: 2500,
        localEndpoint: { serviceName: 'cart', ipv4: '10.0.0.7', port: 8080 },
        remoteEndpoint: { serviceName: 'frontend', ipv6: '2001:db8::c001', port: 51234 },
        annotations: [{ timestamp: TS + 100, value: 'ws' }],
        tags: { 'http.method': 'GET', 'http.path': '/api/cart' },
        debug: true,
        shared: false,
      },
    ]);
    assert.deepStrictEqual(batch, [
      {
        resource: { attributes: [str('service.name', 'cart')], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              {
                traceId: new Uint8Array(fromHex(TRACE_ID)!),
                spanId: new Uint8Array(fromHex(SPAN_ID)!),
                traceState: '',
                parentSpanId: new Uint8Array(fromHex(PARENT_ID)!),
                flags: 0,
                name: 'get /api/cart',
                kind: SpanKind.SERVER,
                startTimeUnixNano: BigInt(TS) * 1000n,
                endTimeUnixNano: BigInt(TS + 2500) * 1000n,
                attributes: [
                  str('http.method', 'GET'),
                  str('http.path', '/api/cart'),
                  str('network.local.address', '10.0.0.7'),
                  { key: 'network.local.port', value: { type: 'int', value: 8080n } },
                  str('service.peer.name', 'frontend'),
                  str('network.peer.address', '2001:db8::c001'),
                  { key: 'network.peer.port', value: { type: 'int', value: 51234n } },
                ],
                droppedAttributesCount: 0,
                events: [{ timeUnixNano: BigInt(TS + 100) * 1000n, name: 'ws', attributes: [], droppedAttributesCount: 0 }],
                droppedEventsCount: 0,
                links: [],
                droppedLinksCount: 0,
                status: { code: StatusCode.UNSET, message: '' },
              },
            ],
          },
        ],
      },
    ]);
  });

  test('a 64-bit trace ID is left-padded with zeros to 128 bits; uppercase hex is read', () => {
    const s = decodeOne({ traceId: 'A3CE929D0E0E4736', id: '00F067AA0BA902B7' });
    assert.equal(toHex(s.span.traceId), '0000000000000000a3ce929d0e0e4736');
    assert.equal(toHex(s.span.spanId), SPAN_ID);
  });

  test('no parent: parentId absent, empty, all zeros, or equal to the span ID', () => {
    for (const parentId of [undefined, '', '0000000000000000', SPAN_ID]) {
      assert.equal(decodeOne({ parentId }).span.parentSpanId.length, 0, `parentId ${parentId}`);
    }
  });

  test('kinds: CLIENT, SERVER, PRODUCER, CONSUMER; none (or an unknown one) is UNSPECIFIED, as the collector maps it', () => {
    const cases: Array<[unknown, SpanKind]> = [
      ['CLIENT', SpanKind.CLIENT],
      ['SERVER', SpanKind.SERVER],
      ['PRODUCER', SpanKind.PRODUCER],
      ['CONSUMER', SpanKind.CONSUMER],
      ['client', SpanKind.CLIENT],
      [undefined, SpanKind.UNSPECIFIED],
      ['LOCAL', SpanKind.UNSPECIFIED],
    ];
    for (const [kind, expected] of cases) assert.equal(decodeOne({ kind }).span.kind, expected, String(kind));
  });

  test('a span.kind tag gives the kind of a span without one, and is consumed', () => {
    const internal = decodeOne({ tags: { 'span.kind': 'internal' } });
    assert.equal(internal.span.kind, SpanKind.INTERNAL);
    assert.deepStrictEqual(attrs(internal.span), {});
    assert.equal(decodeOne({ tags: { 'span.kind': 'producer' } }).span.kind, SpanKind.PRODUCER);
    const unknown = decodeOne({ tags: { 'span.kind': 'weird' } });
    assert.equal(unknown.span.kind, SpanKind.UNSPECIFIED);
    assert.deepStrictEqual(attrs(unknown.span), { 'span.kind': 'weird' });
    // With a Zipkin kind, the tag is just an attribute.
    const both = decodeOne({ kind: 'CLIENT', tags: { 'span.kind': 'internal' } });
    assert.equal(both.span.kind, SpanKind.CLIENT);
    assert.deepStrictEqual(attrs(both.span), { 'span.kind': 'internal' });
  });

  test('microseconds become nanoseconds, fractions included (OpenTelemetry JS sends them)', () => {
    const s = decodeOne({ timestamp: TS + 0.5, duration: 1.25 });
    assert.equal(s.span.startTimeUnixNano, BigInt(TS) * 1000n + 500n);
    assert.equal(s.span.endTimeUnixNano, BigInt(TS) * 1000n + 500n + 1250n);
  });

  test('no timestamp (or 0): the span starts at the epoch and an attribute says the start was absent', () => {
    for (const timestamp of [undefined, 0]) {
      const s = decodeOne({ timestamp, duration: 300 });
      assert.equal(s.span.startTimeUnixNano, 0n);
      assert.equal(s.span.endTimeUnixNano, 300_000n);
      assert.deepStrictEqual(attrs(s.span), { 'otel.zipkin.absentField.startTime': true });
    }
  });

  test('no duration: the span ends where it starts', () => {
    const s = decodeOne({ timestamp: TS });
    assert.equal(s.span.endTimeUnixNano, s.span.startTimeUnixNano);
  });

  test('endpoints: addresses, ports and the peer service; IPv6 wins over IPv4 as in the collector; they override same-named tags', () => {
    const s = decodeOne({
      localEndpoint: { serviceName: 'svc', ipv4: '192.168.1.2', ipv6: '::1' },
      remoteEndpoint: { ipv4: '10.1.2.3', port: 0 },
      tags: { 'network.peer.address': 'from-tag', other: 'x' },
    });
    assert.deepStrictEqual(attrs(s.span), { other: 'x', 'network.local.address': '::1', 'network.peer.address': '10.1.2.3' });
    assert.deepStrictEqual(attrs(decodeOne({ localEndpoint: {}, remoteEndpoint: {} }).span), {});
  });

  test('annotations become events; the collector encoding name|{attributes}|dropped is read back', () => {
    const s = decodeOne({
      annotations: [
        { timestamp: TS, value: 'cache.miss' },
        { timestamp: TS + 1, value: 'exception|{"exception.type":"Timeout","attempt":2,"ratio":0.5,"final":true,"nested":{"a":1}}|3' },
        { timestamp: TS + 2, value: 'a|b|c' },
        { timestamp: TS + 3, value: 'x|{"k":"with | bar"}|0' },
      ],
    });
    assert.deepStrictEqual(
      s.span.events.map((e) => ({ time: e.timeUnixNano, name: e.name, attributes: plainAttributes(e.attributes), dropped: e.droppedAttributesCount })),
      [
        { time: BigInt(TS) * 1000n, name: 'cache.miss', attributes: {}, dropped: 0 },
        {
          time: BigInt(TS + 1) * 1000n,
          name: 'exception',
          attributes: { 'exception.type': 'Timeout', attempt: { int: '2' }, ratio: 0.5, final: true },
          dropped: 3,
        },
        { time: BigInt(TS + 2) * 1000n, name: 'a|b|c', attributes: {}, dropped: 0 },
        { time: BigInt(TS + 3) * 1000n, name: 'x', attributes: { k: 'with | bar' }, dropped: 0 },
      ],
    );
  });

  test('tags stay strings by default; parseStringTags types them by the collector rules', () => {
    const tags = { int: '-42', big: '99999999999999999999', double: '3.25', bool: 'true', no: 'false', text: '1e5', empty: '' };
    assert.deepStrictEqual(attrs(decodeOne({ tags }).span), tags);
    assert.deepStrictEqual(attrs(decodeOne({ tags }, { parseStringTags: true }).span), {
      int: { int: '-42' },
      big: '99999999999999999999',
      double: 3.25,
      bool: true,
      no: false,
      text: '1e5',
      empty: '',
    });
  });

  test('w3c.tracestate becomes the trace state', () => {
    const s = decodeOne({ tags: { 'w3c.tracestate': 'vendor=opaque', keep: 'me' } });
    assert.equal(s.span.traceState, 'vendor=opaque');
    assert.deepStrictEqual(attrs(s.span), { keep: 'me' });
  });

  test('otlp.link.N tags become links; one that does not parse stays an attribute', () => {
    const linkedTrace = '0af7651916cd43dd8448eb211c80319c';
    const s = decodeOne({
      tags: {
        'otlp.link.0': `${linkedTrace}|b9c7c989f97918e1|vendor=x|{"link.reason":"retry","n":1}|2`,
        'otlp.link.1': `"${linkedTrace}"|"00f067aa0ba902b8"||{}|0`,
        'otlp.link.2': 'garbage',
        'otlp.link.4': `${linkedTrace}|b9c7c989f97918e1||{}|0`,
      },
    });
    assert.deepStrictEqual(
      s.span.links.map((l) => ({ traceId: toHex(l.traceId), spanId: toHex(l.spanId), traceState: l.traceState, attributes: plainAttributes(l.attributes), dropped: l.droppedAttributesCount })),
      [
        { traceId: linkedTrace, spanId: 'b9c7c989f97918e1', traceState: 'vendor=x', attributes: { 'link.reason': 'retry', n: { int: '1' } }, dropped: 2 },
        { traceId: linkedTrace, spanId: '00f067aa0ba902b8', traceState: '', attributes: {}, dropped: 0 },
      ],
    );
    // Index 3 is missing, so the collector (and Skein) reads no further than 2.
    assert.deepStrictEqual(Object.keys(attrs(s.span)), ['otlp.link.2', 'otlp.link.4']);
  });

  test('otel.dropped_*_count tags become the dropped counts', () => {
    const s = decodeOne({
      tags: { 'otel.dropped_attributes_count': '4', 'otel.dropped_events_count': '5', 'otel.dropped_links_count': '6', keep: 'x' },
    });
    assert.equal(s.span.droppedAttributesCount, 4);
    assert.equal(s.span.droppedEventsCount, 5);
    assert.equal(s.span.droppedLinksCount, 6);
    assert.deepStrictEqual(attrs(s.span), { keep: 'x' });
    assert.deepStrictEqual(attrs(decodeOne({ tags: { 'otel.dropped_events_count': 'many' } }).span), { 'otel.dropped_events_count': 'many' });
  });

  test('debug is accepted and has no OTLP counterpart', () => {
    const s = decodeOne({ debug: true });
    assert.deepStrictEqual(attrs(s.span), {});
    assert.equal(s.span.flags, 0);
  });
});

describe('Zipkin v2 JSON → OTLP: status', () => {
  const cases: Array<[Record<string, string>, { code: StatusCode; message: string }, Record<string, unknown>]> = [
    [{ 'otel.status_code': 'ERROR', error: 'db timed out' }, { code: StatusCode.ERROR, message: 'db timed out' }, {}],
    [{ 'otel.status_code': 'STATUS_CODE_ERROR', 'otel.status_description': 'boom' }, { code: StatusCode.ERROR, message: 'boom' }, {}],
    [{ 'otel.status_code': 'Error' }, { code: StatusCode.ERROR, message: '' }, {}],
    [{ 'otel.status_code': 'OK' }, { code: StatusCode.OK, message: '' }, {}],
    [{ 'otel.status_code': 'STATUS_CODE_UNSET' }, { code: StatusCode.UNSET, message: '' }, {}],
    [{ error: 'true' }, { code: StatusCode.ERROR, message: '' }, {}],
    [{ error: '' }, { code: StatusCode.ERROR, message: '' }, {}],
    [{ 'otel.status_code': 'OK', error: 'late failure' }, { code: StatusCode.ERROR, message: 'late failure' }, {}],
    [{ 'otel.status_code': 'ERROR', 'otel.status_description': 'desc', error: 'msg' }, { code: StatusCode.ERROR, message: 'desc' }, {}],
    // An unknown code is no status: both tags are kept as attributes.
    [{ 'otel.status_code': 'BROKEN', 'otel.status_description': 'd' }, { code: StatusCode.UNSET, message: '' }, { 'otel.status_code': 'BROKEN', 'otel.status_description': 'd' }],
  ];
  for (const [tags, status, rest] of cases) {
    test(JSON.stringify(tags), () => {
      const s = decodeOne({ tags });
      assert.deepStrictEqual(s.span.status, status);
      assert.deepStrictEqual(attrs(s.span), rest);
    });
  }
});

describe('Zipkin v2 JSON → OTLP: resources and scopes', () => {
  test('spans are grouped by local service; resource tags go to the resource, not the span', () => {
    const sdk = { 'telemetry.sdk.language': 'nodejs', 'service.name': 'cart', 'host.name': 'h1' };
    const batch = decode([
      { traceId: TRACE_ID, id: '0000000000000001', localEndpoint: { serviceName: 'cart' }, tags: { ...sdk, 'http.method': 'GET' } },
      { traceId: TRACE_ID, id: '0000000000000002', localEndpoint: { serviceName: 'db' } },
      { traceId: TRACE_ID, id: '0000000000000003', localEndpoint: { serviceName: 'cart' }, tags: { 'host.name': 'h1', 'telemetry.sdk.language': 'nodejs' } },
      { traceId: TRACE_ID, id: '0000000000000004', localEndpoint: { serviceName: 'cart' }, tags: { 'host.name': 'h2', 'telemetry.sdk.language': 'nodejs' } },
      { traceId: TRACE_ID, id: '0000000000000005' },
    ]);
    assert.deepStrictEqual(
      batch.map((rs) => ({
        resource: plainAttributes(rs.resource.attributes),
        spans: rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ id: toHex(s.spanId).slice(-1), attributes: attrs(s) }))),
      })),
      [
        {
          resource: { 'service.name': 'cart', 'telemetry.sdk.language': 'nodejs', 'host.name': 'h1' },
          spans: [
            { id: '1', attributes: { 'http.method': 'GET' } },
            { id: '3', attributes: {} },
          ],
        },
        { resource: { 'service.name': 'db' }, spans: [{ id: '2', attributes: {} }] },
        { resource: { 'service.name': 'cart', 'host.name': 'h2', 'telemetry.sdk.language': 'nodejs' }, spans: [{ id: '4', attributes: {} }] },
        { resource: {}, spans: [{ id: '5', attributes: {} }] },
      ],
    );
  });

  test('the endpoint names the service over a service.name tag; without an endpoint the tag does', () => {
    const both = decodeOne({ localEndpoint: { serviceName: 'from-endpoint' }, tags: { 'service.name': 'from-tag' } });
    assert.deepStrictEqual(plainAttributes(both.resource.attributes), { 'service.name': 'from-endpoint' });
    const tagOnly = decodeOne({ tags: { 'service.name': 'from-tag' } });
    assert.deepStrictEqual(plainAttributes(tagOnly.resource.attributes), { 'service.name': 'from-tag' });
  });

  test('otlp.service.name.source names the resource attribute that holds the service name', () => {
    const s = decodeOne({ localEndpoint: { serviceName: 'svc' }, tags: { 'otlp.service.name.source': 'faas.name' } });
    assert.deepStrictEqual(plainAttributes(s.resource.attributes), { 'faas.name': 'svc' });
    assert.deepStrictEqual(attrs(s.span), {});
  });

  test('otel.scope.* (or the older otel.library.*) names the scope; spans are grouped by it', () => {
    const batch = decode([
      { traceId: TRACE_ID, id: '0000000000000001', localEndpoint: { serviceName: 'a' }, tags: { 'otel.scope.name': 'http', 'otel.scope.version': '1.2.0' } },
      { traceId: TRACE_ID, id: '0000000000000002', localEndpoint: { serviceName: 'a' }, tags: { 'otel.library.name': 'pg', 'otel.library.version': '0.9' } },
      { traceId: TRACE_ID, id: '0000000000000003', localEndpoint: { serviceName: 'a' }, tags: { 'otel.scope.name': 'http', 'otel.scope.version': '1.2.0' } },
      { traceId: TRACE_ID, id: '0000000000000004', localEndpoint: { serviceName: 'a' }, tags: { 'otel.scope.version': '3' } },
    ]);
    assert.equal(batch.length, 1);
    assert.deepStrictEqual(
      batch[0]!.scopeSpans.map((ss) => ({ name: ss.scope.name, version: ss.scope.version, spans: ss.spans.map((s) => toHex(s.spanId).slice(-1)), attributes: ss.spans.map(attrs) })),
      [
        { name: 'http', version: '1.2.0', spans: ['1', '3'], attributes: [{}, {}] },
        { name: 'pg', version: '0.9', spans: ['2'], attributes: [{}] },
        { name: '', version: '', spans: ['4'], attributes: [{}] },
      ],
    );
  });

  test('an empty list is an empty batch', () => {
    assert.deepStrictEqual(decode([]), []);
  });
});

describe('Zipkin v2 JSON → OTLP: shared spans', () => {
  // One RPC in B3's single-span model: the client (frontend) and the server
  // (cart) both report span 0xaa…; the server's child names 0xaa… as parent.
  const SHARED = 'aaaaaaaaaaaaaaaa';
  const spans = [
    { traceId: TRACE_ID, id: SHARED, parentId: PARENT_ID, kind: 'CLIENT', name: 'call', localEndpoint: { serviceName: 'frontend' } },
    { traceId: TRACE_ID, id: SHARED, parentId: PARENT_ID, kind: 'SERVER', name: 'serve', shared: true, localEndpoint: { serviceName: 'cart' } },
    { traceId: TRACE_ID, id: 'cccccccccccccccc', parentId: SHARED, name: 'query', localEndpoint: { serviceName: 'cart' } },
  ];

  test('the server half gets its own ID and becomes the client span’s child; its children follow it', () => {
    const byName = new Map(flattenBatch(decode(spans)).map((s) => [s.span.name, s.span]));
    const client = byName.get('call')!;
    const server = byName.get('serve')!;
    const child = byName.get('query')!;
    assert.equal(toHex(client.spanId), SHARED);
    assert.equal(toHex(client.parentSpanId), PARENT_ID);
    assert.notEqual(toHex(server.spanId), SHARED);
    assert.equal(server.spanId.length, 8);
    assert.equal(toHex(server.parentSpanId), SHARED);
    assert.equal(toHex(child.parentSpanId), toHex(server.spanId));
  });

  test('the new ID is the same every time, so a retried request de-duplicates', () => {
    const first = flattenBatch(decode([spans[1]!])).map((s) => toHex(s.span.spanId));
    const again = flattenBatch(decode([spans[1]!])).map((s) => toHex(s.span.spanId));
    assert.deepStrictEqual(first, again);
  });
});

describe('Zipkin v2 JSON: malformed input names what is wrong and where', () => {
  const ok = { traceId: TRACE_ID, id: SPAN_ID };
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '[{', /^invalid JSON: /],
    ['an object (OTLP/JSON sent to Zipkin)', '{"resourceSpans":[]}', /^expected a JSON array of Zipkin v2 spans, got an object$/],
    ['a null span', '[null]', /^\[0\]: expected an object, got null$/],
    ['a short trace ID', JSON.stringify([ok, { ...ok, traceId: 'abc' }]), /^\[1\]\.traceId: expected 16 or 32 hex characters, got "abc"$/],
    ['a non-hex trace ID', JSON.stringify([{ ...ok, traceId: 'zz' + TRACE_ID.slice(2) }]), /^\[0\]\.traceId: expected 16 or 32 hex characters, got "zz/],
    ['a numeric trace ID', JSON.stringify([{ ...ok, traceId: 12 }]), /^\[0\]\.traceId: expected 16 or 32 hex characters, got 12$/],
    ['no span ID', JSON.stringify([{ traceId: TRACE_ID }]), /^\[0\]\.id: expected 16 hex characters, got nothing$/],
    ['a 32-character span ID', JSON.stringify([{ ...ok, id: TRACE_ID }]), /^\[0\]\.id: expected 16 hex characters/],
    ['a bad parent ID', JSON.stringify([{ ...ok, parentId: 'xyz' }]), /^\[0\]\.parentId: expected 16 hex characters, got "xyz"$/],
    ['a string timestamp', JSON.stringify([{ ...ok, timestamp: '1700000000000000' }]), /^\[0\]\.timestamp: expected a non-negative number of microseconds, got "1700/],
    ['a negative duration', JSON.stringify([{ ...ok, duration: -1 }]), /^\[0\]\.duration: expected a non-negative number of microseconds, got -1$/],
    ['a timestamp past 2^53', '[{"traceId":"' + TRACE_ID + '","id":"' + SPAN_ID + '","timestamp":1e300}]', /^\[0\]\.timestamp: expected a non-negative number/],
    ['a numeric kind', JSON.stringify([{ ...ok, kind: 2 }]), /^\[0\]\.kind: expected a string, got 2$/],
    ['a numeric name', JSON.stringify([{ ...ok, name: 7 }]), /^\[0\]\.name: expected a string, got 7$/],
    ['a numeric tag', JSON.stringify([{ ...ok, tags: { 'http.status_code': 200 } }]), /^\[0\]\.tags\["http\.status_code"\]: expected a string, got 200$/],
    ['tags as an array', JSON.stringify([{ ...ok, tags: [] }]), /^\[0\]\.tags: expected an object, got an array$/],
    ['annotations as an object', JSON.stringify([{ ...ok, annotations: {} }]), /^\[0\]\.annotations: expected an array, got an object$/],
    ['an annotation without a time', JSON.stringify([{ ...ok, annotations: [{ timestamp: TS, value: 'a' }, { value: 'b' }] }]), /^\[0\]\.annotations\[1\]\.timestamp: required/],
    ['an annotation without a value', JSON.stringify([{ ...ok, annotations: [{ timestamp: TS }] }]), /^\[0\]\.annotations\[0\]\.value: expected a string, got nothing$/],
    ['a bad IPv4 address', JSON.stringify([{ ...ok, localEndpoint: { ipv4: '300.1.1.1' } }]), /^\[0\]\.localEndpoint\.ipv4: expected an IPv4 address, got "300\.1\.1\.1"$/],
    ['a bad IPv6 address', JSON.stringify([{ ...ok, remoteEndpoint: { ipv6: '1.2.3.4' } }]), /^\[0\]\.remoteEndpoint\.ipv6: expected an IPv6 address/],
    ['a port out of range', JSON.stringify([{ ...ok, remoteEndpoint: { port: 70000 } }]), /^\[0\]\.remoteEndpoint\.port: expected a port number \(0–65535\), got 70000$/],
    ['an endpoint that is a string', JSON.stringify([{ ...ok, localEndpoint: 'svc' }]), /^\[0\]\.localEndpoint: expected an object, got "svc"$/],
    ['a string debug flag', JSON.stringify([{ ...ok, debug: 'true' }]), /^\[0\]\.debug: expected true or false, got "true"$/],
    ['a numeric shared flag', JSON.stringify([{ ...ok, shared: 1 }]), /^\[0\]\.shared: expected true or false, got 1$/],
  ];
  for (const [name, body, expected] of cases) {
    test(name, () => assert.match(decodeErrorOf(body), expected));
  }

  test('a byte body, with or without a BOM, reads like a string', () => {
    const text = JSON.stringify([{ ...ok, name: 'héllo' }]);
    const fromBytes = decodeZipkinV2Json(new TextEncoder().encode(`\ufeff${text}`));
    assert.deepStrictEqual(fromBytes, decodeZipkinV2Json(text));
    assert.equal(fromBytes[0]!.scopeSpans[0]!.spans[0]!.name, 'héllo');
  });

  test('an all-zero trace ID decodes: per-span validation at ingest refuses it, not the whole request', () => {
    const s = decodeOne({ traceId: '0'.repeat(32) });
    assert.equal(toHex(s.span.traceId), '0'.repeat(32));
  });
});
