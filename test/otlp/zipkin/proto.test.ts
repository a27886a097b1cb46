// Zipkin v2 protobuf, encoded by protobufjs from zipkin.proto as an
// independent reference: it decodes to exactly what the same spans in JSON do.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { decodeZipkinV2Json, decodeZipkinV2Proto } from '../../../src/otlp/zipkin.js';
import { OtlpDecodeError } from '../../../src/otlp/protobuf.js';

// openzipkin/zipkin-api zipkin.proto (package left out: it does not reach the wire).
const PROTO = `
syntax = "proto3";
message Span {
  bytes trace_id = 1;
  bytes parent_id = 2;
  bytes id = 3;
  enum Kind { SPAN_KIND_UNSPECIFIED = 0; CLIENT = 1; SERVER = 2; PRODUCER = 3; CONSUMER = 4; }
  Kind kind = 4;
  string name = 5;
  fixed64 timestamp = 6;
  uint64 duration = 7;
  Endpoint local_endpoint = 8;
  Endpoint remote_endpoint = 9;
  repeated Annotation annotations = 10;
  map<string, string> tags = 11;
  bool debug = 12;
  bool shared = 13;
}
message Endpoint {
  string service_name = 1;
  bytes ipv4 = 2;
  bytes ipv6 = 3;
  int32 port = 4;
}
message Annotation {
  fixed64 timestamp = 1;
  string value = 2;
}
message ListOfSpans { repeated Span spans = 1; }
`;
const ListOfSpans = protobuf.parse(PROTO).root.lookupType('ListOfSpans');

function encode(spans: Array<Record<string, unknown>>): Uint8Array {
  return ListOfSpans.encode(ListOfSpans.fromObject({ spans })).finish();
}

function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}

function decodeErrorOf(buf: Uint8Array): string {
  try {
    decodeZipkinV2Proto(buf);
  } catch (err) {
    assert.ok(err instanceof OtlpDecodeError, `expected OtlpDecodeError, got ${(err as Error)?.stack ?? String(err)}`);
    return err.message;
  }
  assert.fail('expected an OtlpDecodeError, but decoding succeeded');
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TS = 1_700_000_000_123_456;

describe('Zipkin v2 protobuf', () => {
  test('decodes to what the same spans in JSON decode to, field for field', () => {
    const json = [
      {
        traceId: TRACE_ID,
        id: '00f067aa0ba902b7',
        parentId: 'b7ad6b7169203331',
        name: 'get /cart',
        kind: 'SERVER',
        timestamp: TS,
        duration: 2500,
        localEndpoint: { serviceName: 'cart', ipv4: '10.0.0.7', port: 8080 },
        remoteEndpoint: { serviceName: 'frontend', ipv6: '2001:db8::c001', port: 51234 },
        annotations: [
          { timestamp: TS + 1, value: 'ws' },
          { timestamp: TS + 2, value: 'wr' },
        ],
        tags: { 'http.method': 'GET', 'otel.status_code': 'ERROR', error: 'boom', 'host.name': 'h1' },
        debug: true,
      },
      { traceId: 'a3ce929d0e0e4736', id: '00000000000000aa', kind: 'CLIENT', timestamp: TS, localEndpoint: { serviceName: 'web' } },
      { traceId: TRACE_ID, id: '00000000000000bb', kind: 'PRODUCER', timestamp: TS, shared: true, localEndpoint: { serviceName: 'web' } },
      { traceId: TRACE_ID, id: '00000000000000cc', kind: 'CONSUMER', tags: { 'span.kind': 'internal' } },
    ];
    const proto = encode([
      {
        traceId: hex(TRACE_ID),
        id: hex('00f067aa0ba902b7'),
        parentId: hex('b7ad6b7169203331'),
        name: 'get /cart',
        kind: 'SERVER',
        timestamp: String(TS),
        duration: 2500,
        localEndpoint: { serviceName: 'cart', ipv4: Buffer.from([10, 0, 0, 7]), port: 8080 },
        remoteEndpoint: { serviceName: 'frontend', ipv6: hex('20010db8' + '0000'.repeat(5) + 'c001'), port: 51234 },
        annotations: [
          { timestamp: String(TS + 1), value: 'ws' },
          { timestamp: String(TS + 2), value: 'wr' },
        ],
        tags: { 'http.method': 'GET', 'otel.status_code': 'ERROR', error: 'boom', 'host.name': 'h1' },
        debug: true,
      },
      { traceId: hex('a3ce929d0e0e4736'), id: hex('00000000000000aa'), kind: 'CLIENT', timestamp: String(TS), localEndpoint: { serviceName: 'web' } },
      { traceId: hex(TRACE_ID), id: hex('00000000000000bb'), kind: 'PRODUCER', timestamp: String(TS), shared: true, localEndpoint: { serviceName: 'web' } },
      { traceId: hex(TRACE_ID), id: hex('00000000000000cc'), kind: 'CONSUMER', tags: { 'span.kind': 'internal' } },
    ]);
    assert.deepStrictEqual(decodeZipkinV2Proto(proto), decodeZipkinV2Json(JSON.stringify(json)));
  });

  test('parseStringTags applies as for JSON', () => {
    const proto = encode([{ traceId: hex(TRACE_ID), id: hex('00000000000000aa'), timestamp: String(TS), tags: { n: '7' } }]);
    const attr = decodeZipkinV2Proto(proto, { parseStringTags: true })[0]!.scopeSpans[0]!.spans[0]!.attributes[0];
    assert.deepStrictEqual(attr, { key: 'n', value: { type: 'int', value: 7n } });
  });

  test('an empty list is an empty batch', () => {
    assert.deepStrictEqual(decodeZipkinV2Proto(new Uint8Array(0)), []);
  });

  const ok = { traceId: hex(TRACE_ID), id: hex('00000000000000aa'), timestamp: String(TS) };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a 5-byte trace ID', encode([ok, { ...ok, traceId: hex('0102030405') }]), /^\[1\]\.trace_id: expected 8 or 16 bytes, got 5$/],
    ['no span ID', encode([{ traceId: hex(TRACE_ID) }]), /^\[0\]\.id: expected 8 bytes, got 0$/],
    ['a 4-byte parent ID', encode([{ ...ok, parentId: hex('01020304') }]), /^\[0\]\.parent_id: expected 8 bytes, got 4$/],
    ['a 3-byte IPv4 address', encode([{ ...ok, localEndpoint: { ipv4: hex('0a0000') } }]), /^\[0\]\.local_endpoint\.ipv4: expected 4 bytes, got 3$/],
    ['a 4-byte IPv6 address', encode([{ ...ok, remoteEndpoint: { ipv6: hex('0a000001') } }]), /^\[0\]\.remote_endpoint\.ipv6: expected 16 bytes, got 4$/],
    ['a negative port', encode([{ ...ok, localEndpoint: { port: -1 } }]), /^\[0\]\.local_endpoint\.port: expected a port number \(0–65535\), got -1$/],
    ['an annotation without a time', encode([{ ...ok, annotations: [{ value: 'x' }] }]), /^\[0\]\.annotations\[0\]\.timestamp: required/],
    ['a timestamp past 2^53 microseconds', encode([{ ...ok, timestamp: '18446744073709551615' }]), /^\[0\]\.timestamp: 18446744073709551615 microseconds is out of range$/],
    ['a truncated body', encode([ok]).subarray(0, 10), /^length past end: field 1 \(spans\) of ListOfSpans/],
    ['JSON sent as protobuf', new TextEncoder().encode('[{"traceId":"x"}]'), /ListOfSpans|Span/],
  ];
  for (const [name, body, expected] of cases) {
    test(`malformed: ${name}`, () => assert.match(decodeErrorOf(body), expected));
  }
});
