import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  OtlpDecodeError,
  decodeResource,
  decodeScope,
  decodeSpan,
  decodeTraceByIdResponse,
  decodeTracesData,
  decodeTracesDataKeepingWire,
  encodeExportTraceServiceResponse,
  encodeResource,
  encodeRetryableStatus,
  encodeRpcStatus,
  encodeScope,
  encodeSpan,
  encodeTraceByIdResponse,
  encodeTracesData,
} from '../../src/otlp/protobuf.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { MAX_VALUE_DEPTH } from '../../src/otlp/wire.js';
import { wireFormOf, wireLayoutOf } from '../../src/otlp/wire-form.js';
import { toHex, type AnyValue, type KeyValue, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { defaultSpan, everyValueKind, kitchenSinkBatch, modelOfSdkSpan, sdkAttributes, sdkExport, spansOf } from './fixtures.js';
import { decodeWithReference, reference, referenceObject } from './reference-proto.js';
import { deeplyNestedArrays, delimited } from '../helpers/wire-bytes.js';

/** Runs `fn`, which must throw an OtlpDecodeError (and nothing else); returns its message. */
function decodeErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OtlpDecodeError, `expected OtlpDecodeError, got ${(err as Error)?.stack ?? String(err)}`);
    return err.message;
  }
  assert.fail('expected an OtlpDecodeError, but decoding succeeded');
}

/** Decoding may succeed or throw OtlpDecodeError, never anything else. */
function decodesOrRefuses(buf: Uint8Array): void {
  try {
    decodeTracesData(buf);
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) assert.fail(`non-OtlpDecodeError for ${Buffer.from(buf).toString('hex')}: ${(err as Error).stack}`);
  }
}

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

describe('decodeTracesData on what the OpenTelemetry SDK sends', () => {
  const sdk = sdkExport();

  test('the protobuf and the JSON serializations decode to the same batch', () => {
    const fromProtobuf = decodeTracesData(sdk.protobuf);
    const fromJson = decodeOtlpJson(sdk.json);
    assert.deepStrictEqual(fromProtobuf, fromJson);
  });

  test('every span field, resource and scope matches what the SDK recorded', () => {
    const batch = decodeTracesData(sdk.protobuf);
    assert.equal(batch.length, 2, 'two services, two resources');
    const decoded = new Map<string, { span: Span; rs: ResourceSpans; scope: ResourceSpans['scopeSpans'][number] }>();
    for (const rs of batch) for (const ss of rs.scopeSpans) for (const span of ss.spans) decoded.set(toHex(span.spanId), { span, rs, scope: ss });
    assert.equal(decoded.size, sdk.spans.length);
    for (const sdkSpan of sdk.spans) {
      const found = decoded.get(sdkSpan.spanContext().spanId);
      assert.ok(found, `span ${sdkSpan.name} decoded`);
      assert.deepStrictEqual(found.span, modelOfSdkSpan(sdkSpan), sdkSpan.name);
      assert.deepStrictEqual(found.rs.resource.attributes, sdkAttributes(sdkSpan.resource.attributes));
      assert.equal(found.scope.scope.name, sdkSpan.instrumentationScope.name);
      assert.equal(found.scope.scope.version, sdkSpan.instrumentationScope.version ?? '');
      assert.equal(found.scope.schemaUrl, sdkSpan.instrumentationScope.schemaUrl ?? '');
    }
    const query = [...decoded.values()].find((d) => d.span.name === 'SELECT carts')!.span;
    assert.equal(query.status.code, 2);
    assert.equal(query.status.message, 'db timed out');
    assert.equal(query.links.length, 1);
    assert.equal(query.links[0]!.flags, 0x101, 'link flags: sampled, and whether the context is remote is known');
    assert.deepStrictEqual(query.events.map((e) => e.name), ['exception', 'retry']);
  });

  test('IDs are copies that do not pin the request buffer', () => {
    const buf = Buffer.from(sdk.protobuf);
    const span = decodeTracesData(buf)[0]!.scopeSpans[0]!.spans[0]!;
    assert.notEqual(span.traceId.buffer, buf.buffer);
    assert.notEqual(span.spanId.buffer, buf.buffer);
    assert.equal(Object.getPrototypeOf(span.traceId), Uint8Array.prototype, 'a plain Uint8Array even from a Buffer');
    buf.fill(0);
    assert.notEqual(toHex(span.traceId), '0'.repeat(32));
  });

  test('re-encoding the SDK batch decodes to the same batch', () => {
    const batch = decodeTracesData(sdk.protobuf);
    assert.deepStrictEqual(decodeTracesData(encodeTracesData(batch)), batch);
  });
});

describe('decodeTracesDataKeepingWire keeps the bytes only when they say no more than the batch', () => {
  const sdk = sdkExport();
  const canonical = encodeTracesData(kitchenSinkBatch());
  /** A field of a message, as the wire has it. */
  const field = (no: number, body: Uint8Array): Buffer => Buffer.concat([Buffer.from([(no << 3) | 2, body.length]), body]);

  test('what the SDK sends and what Skein encodes: the very bytes are kept, and the batch is as decodeTracesData gives it', () => {
    for (const bytes of [sdk.protobuf, canonical]) {
      const batch = decodeTracesDataKeepingWire(bytes);
      assert.equal(wireFormOf(batch), bytes);
      assert.deepStrictEqual(batch, decodeTracesData(bytes));
    }
  });

  test('an unknown field, a value set twice, a resource or scope given twice: nothing is kept', () => {
    const value = (s: string) => field(1, Buffer.from(s));
    const keyValue = (...values: string[]) => Buffer.concat([field(1, Buffer.from('k')), ...values.map((v) => field(2, value(v)))]);
    const cases: Record<string, Buffer> = {
      'unknown TracesData field': Buffer.concat([Buffer.from(canonical), field(5, Buffer.from('x'))]),
      // TracesData { ResourceSpans { Resource { KeyValue … } } }
      'string_value twice': field(1, field(1, field(1, Buffer.concat([field(1, Buffer.from('k')), field(2, Buffer.concat([value('a'), value('b')]))])))),
      'KeyValue.value twice': field(1, field(1, field(1, keyValue('a', 'b')))),
      'resource twice': field(1, Buffer.concat([field(1, field(1, keyValue('a'))), field(1, field(1, keyValue('b')))])),
      'scope twice': field(1, field(2, Buffer.concat([field(1, field(1, Buffer.from('s1'))), field(1, field(1, Buffer.from('s2')))]))),
    };
    for (const [what, bytes] of Object.entries(cases)) {
      // Twice: what the decoder remembers of the first must not hide it the second time.
      for (let i = 0; i < 2; i++) {
        const batch = decodeTracesDataKeepingWire(bytes);
        assert.ok(batch.length > 0, `${what}: decodes`);
        assert.equal(wireFormOf(batch), undefined, what);
      }
    }
  });
});

describe('encode/decode round trips', () => {
  test('TracesData: every field, edge values, empty and default messages', () => {
    const batch = kitchenSinkBatch();
    const encoded = encodeTracesData(batch);
    assert.deepStrictEqual(decodeTracesData(encoded), batch);
    assert.deepStrictEqual(encodeTracesData(decodeTracesData(encoded)), encoded, 'canonical: re-encoding gives the same bytes');
  });

  test('Span, Resource and Scope bodies', () => {
    for (const span of spansOf(kitchenSinkBatch())) {
      assert.deepStrictEqual(decodeSpan(encodeSpan(span)), span);
    }
    assert.equal(encodeSpan(defaultSpan()).length, 0, 'a span of defaults encodes to nothing');
    for (const rs of kitchenSinkBatch()) {
      assert.deepStrictEqual(decodeResource(encodeResource(rs.resource)), rs.resource);
      for (const ss of rs.scopeSpans) assert.deepStrictEqual(decodeScope(encodeScope(ss.scope)), ss.scope);
    }
  });

  test('an empty batch is an empty message', () => {
    assert.equal(encodeTracesData([]).length, 0);
    assert.deepStrictEqual(decodeTracesData(new Uint8Array(0)), []);
  });

  test('strings: multi-byte UTF-8 at every length around the short-string paths; a lone surrogate becomes U+FFFD', () => {
    for (let n = 0; n < 80; n++) {
      for (const unit of ['a', 'é', '日', '🌍']) {
        const s = unit.repeat(n);
        const span = { ...defaultSpan(), name: s, attributes: [{ key: s, value: { type: 'string', value: s } as AnyValue }] };
        assert.deepStrictEqual(decodeSpan(encodeSpan(span)), span, `${n} × ${unit}`);
      }
    }
    const lone = { ...defaultSpan(), name: `a\ud800b` };
    assert.equal(decodeSpan(encodeSpan(lone)).name, 'a\ufffdb');
  });

});

describe('decoding shares what it can without sharing what may change', () => {
  test('many distinct short strings of one length decode each as itself, however they meet in the string cache', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `op-${i.toString(36).padStart(5, '0')}`);
    for (let round = 0; round < 2; round++) {
      for (const name of names) assert.equal(decodeSpan(encodeSpan({ ...defaultSpan(), name })).name, name);
    }
  });

  test('thousands of spans in one request, with their parents and traces: each ID decodes as itself, however IDs meet in the reader\'s table', () => {
    const spans: Span[] = [];
    for (let i = 0; i < 5000; i++) {
      const traceId = new Uint8Array(randomBytes(16));
      spans.push({ ...defaultSpan(), traceId, spanId: new Uint8Array(randomBytes(8)), parentSpanId: i % 3 === 0 ? new Uint8Array(0) : spans[i - 1]!.spanId });
      if (i % 2 === 0) spans.push({ ...defaultSpan(), traceId, spanId: new Uint8Array(randomBytes(8)), parentSpanId: spans[spans.length - 1]!.spanId });
    }
    const batch: ResourceSpans[] = [{ resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }] }];
    assert.deepStrictEqual(decodeTracesData(encodeTracesData(batch)), batch);
  });

  test('many distinct attributes of every kind decode each as itself, however they meet in the KeyValue cache; lists and maps are never shared', () => {
    const attributes = (i: number): KeyValue[] => [
      { key: `k${i % 97}`, value: { type: 'string', value: `v${i}` } },
      { key: 'n', value: { type: 'int', value: BigInt(i) } },
      { key: 'd', value: { type: 'double', value: i / 7 } },
      { key: 'b', value: { type: 'bool', value: i % 2 === 0 } },
      { key: 'e', value: { type: 'empty' } },
      { key: 'a', value: { type: 'array', value: [{ type: 'int', value: 1n }] } },
      { key: 'm', value: { type: 'kvlist', value: [{ key: 'x', value: { type: 'string', value: 'y' } }] } },
      { key: 'y', value: { type: 'bytes', value: new Uint8Array([1, 2]) } },
    ];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20_000; i += 7) {
        const span = decodeSpan(encodeSpan({ ...defaultSpan(), attributes: attributes(i) }));
        assert.deepStrictEqual(span.attributes, attributes(i));
      }
    }
    const [first, second] = [0, 1].map(() => decodeSpan(encodeSpan({ ...defaultSpan(), attributes: attributes(5) })).attributes);
    assert.equal(first![0], second![0], 'a scalar attribute met again is the same KeyValue');
    for (const i of [5, 6, 7]) assert.notEqual(first![i], second![i], 'an array, a kvlist or bytes is each span\'s own');
  });

  test('IDs are copies: reusing the request buffer afterwards changes no decoded span', () => {
    const bytes = new Uint8Array(encodeTracesData(kitchenSinkBatch()));
    const batch = decodeTracesData(bytes);
    const expected = decodeTracesData(new Uint8Array(bytes));
    bytes.fill(0);
    assert.deepStrictEqual(batch, expected);
  });

  test('shared string values, their KeyValues and statuses are frozen: a stage can replace them but not change them for every span', () => {
    const span = decodeSpan(encodeSpan({ ...defaultSpan(), attributes: [{ key: 'k', value: { type: 'string', value: 'v' } }] }));
    assert.throws(() => {
      (span.attributes[0]!.value as { value: string }).value = 'changed';
    }, TypeError);
    assert.throws(() => {
      span.status.message = 'changed';
    }, TypeError);
    assert.throws(() => {
      span.attributes[0]!.key = 'changed';
    }, TypeError);
    const counted = decodeSpan(encodeSpan({ ...defaultSpan(), attributes: [{ key: 'n', value: { type: 'int', value: 200n } }] }));
    assert.throws(() => {
      (counted.attributes[0]!.value as { value: bigint }).value = 1n;
    }, TypeError);
    assert.equal(decodeSpan(encodeSpan({ ...defaultSpan(), attributes: [{ key: 'k', value: { type: 'string', value: 'v' } }] })).attributes[0]!.value.type, 'string');
  });
});

describe('decodeTracesDataKeepingWire records where each message lies', () => {
  test('each resource, scope and span of the layout decodes to the batch\'s own, in order', () => {
    const sdk = sdkExport();
    for (const bytes of [sdk.protobuf, encodeTracesData(kitchenSinkBatch())]) {
      const batch = decodeTracesDataKeepingWire(bytes);
      const known = wireLayoutOf(batch)!;
      assert.equal(known.bytes, bytes);
      const { resources, scopes, spans } = known.layout;
      const at = (list: number[], i: number) => bytes.subarray(list[2 * i]!, list[2 * i + 1]!);
      assert.equal(resources.length, 2 * batch.length);
      let s = 0;
      let k = 0;
      for (const [i, rs] of batch.entries()) {
        assert.deepStrictEqual(decodeResource(at(resources, i)), rs.resource);
        for (const ss of rs.scopeSpans) {
          assert.deepStrictEqual(decodeScope(at(scopes, s++)), ss.scope);
          for (const span of ss.spans) assert.deepStrictEqual(decodeSpan(at(spans, k++)), span);
        }
      }
      assert.equal(scopes.length, 2 * s);
      assert.equal(spans.length, 2 * k);
    }
  });
});

describe('differential check against protobufjs', () => {
  test('protobufjs decodes our encoding to the same values', () => {
    const batch = kitchenSinkBatch();
    assert.deepStrictEqual(decodeWithReference(reference.TracesData, encodeTracesData(batch)), referenceObject(batch));
    const sdkBatch = decodeTracesData(sdkExport().protobuf);
    assert.deepStrictEqual(decodeWithReference(reference.TracesData, encodeTracesData(sdkBatch)), referenceObject(sdkBatch));
  });

  test('we decode protobufjs\'s encoding to the same batch', () => {
    const batch = kitchenSinkBatch();
    const message = reference.TracesData.fromObject(referenceObject(batch));
    assert.deepStrictEqual(decodeTracesData(reference.TracesData.encode(message).finish()), batch);
  });

  test('ExportTraceServiceResponse: empty when all was accepted, else partial_success', () => {
    assert.equal(encodeExportTraceServiceResponse().length, 0);
    assert.deepStrictEqual(decodeWithReference(reference.ExportTraceServiceResponse, encodeExportTraceServiceResponse({ rejectedSpans: 3, errorMessage: '3 spans rejected: …' })), {
      partialSuccess: { rejectedSpans: '3', errorMessage: '3 spans rejected: …' },
    });
    assert.deepStrictEqual(decodeWithReference(reference.ExportTraceServiceResponse, encodeExportTraceServiceResponse({ rejectedSpans: 0, errorMessage: '' })), {
      partialSuccess: {},
    });
  });

  test('google.rpc.Status, plain and with RetryInfo', () => {
    assert.deepStrictEqual(decodeWithReference(reference.RpcStatus, encodeRpcStatus(3, 'truncated message: ü')), { code: 3, message: 'truncated message: ü' });
    assert.deepStrictEqual(decodeWithReference(reference.RpcStatus, encodeRpcStatus(0, '')), {});
    const status = decodeWithReference(reference.RpcStatus, encodeRetryableStatus(8, 'overloaded', 2.5)) as {
      code: number;
      message: string;
      details: Array<{ typeUrl: string; value: string }>;
    };
    assert.equal(status.code, 8);
    assert.equal(status.message, 'overloaded');
    assert.equal(status.details.length, 1);
    assert.equal(status.details[0]!.typeUrl, 'type.googleapis.com/google.rpc.RetryInfo');
    assert.deepStrictEqual(decodeWithReference(reference.RetryInfo, Buffer.from(status.details[0]!.value, 'base64')), {
      retryDelay: { seconds: '2', nanos: 500_000_000 },
    });
  });

  test('tempopb.TraceByIDResponse: trace, metrics, PARTIAL status and message', () => {
    const batch = kitchenSinkBatch();
    const trace = encodeTracesData(batch);
    const partial = encodeTraceByIdResponse({ trace, inspectedBytes: 123_456, partial: true, message: 'trace exceeds max size' });
    assert.deepStrictEqual(decodeWithReference(reference.TraceByIDResponse, partial), {
      trace: referenceObject(batch),
      metrics: { inspectedBytes: '123456' },
      status: 1, // PARTIAL
      message: 'trace exceeds max size',
    });
    assert.deepStrictEqual(decodeTraceByIdResponse(partial), { trace: batch, inspectedBytes: 123_456, partial: true, message: 'trace exceeds max size' });

    const complete = encodeTraceByIdResponse({ trace: new Uint8Array(0), inspectedBytes: 0, partial: false, message: '' });
    assert.deepStrictEqual(complete, hex('0a00 1200'), 'an empty trace and metrics are still present; COMPLETE and no message are omitted');
    assert.deepStrictEqual(decodeTraceByIdResponse(complete), { trace: [], inspectedBytes: 0, partial: false, message: '' });
  });
});

describe('malformed protobuf throws OtlpDecodeError, and only that', () => {
  test('truncated at every length', () => {
    // One ResourceSpans: every proper prefix cuts a message short.
    const whole = encodeTracesData(kitchenSinkBatch().slice(0, 1));
    for (let n = 1; n < whole.length; n++) decodeErrorOf(() => decodeTracesData(whole.subarray(0, n)));
    const sdkWhole = sdkExport().protobuf;
    for (let n = 0; n < sdkWhole.length; n++) decodesOrRefuses(sdkWhole.subarray(0, n));
    const span = encodeSpan(spansOf(kitchenSinkBatch())[0]!);
    for (let n = 0; n < span.length; n++) {
      try {
        decodeSpan(span.subarray(0, n));
      } catch (err) {
        assert.ok(err instanceof OtlpDecodeError, String(err));
      }
    }
  });

  test('random bytes and random corruptions of a valid message', () => {
    for (let i = 0; i < 3000; i++) decodesOrRefuses(randomBytes(1 + (i % 200)));
    const valid = encodeTracesData(kitchenSinkBatch());
    for (let i = 0; i < 3000; i++) {
      const corrupt = Uint8Array.from(valid);
      for (let k = 0; k < 1 + (i % 4); k++) corrupt[Math.floor(Math.random() * corrupt.length)] = Math.floor(Math.random() * 256);
      decodesOrRefuses(corrupt);
    }
  });

  test('messages name what is wrong and where', () => {
    // ResourceSpans { scope_spans as a varint }
    assert.equal(
      decodeErrorOf(() => decodeTracesData(hex('0a02 1005'))),
      'wire type 2 expected for ResourceSpans.scope_spans, got 0 (varint) at offset 2',
    );
    // Span { start_time_unix_nano (fixed64) with 3 bytes }
    assert.equal(
      decodeErrorOf(() => decodeSpan(hex('39 010203'))),
      'truncated message: field 7 (start_time_unix_nano) of Span needs 8 bytes at offset 1, 3 left',
    );
    // ResourceSpans declared 5 bytes long, 1 present
    assert.equal(
      decodeErrorOf(() => decodeTracesData(hex('0a05 00'))),
      'length past end: field 1 (resource_spans) of TracesData declares 5 bytes at offset 1, 1 left',
    );
    assert.match(decodeErrorOf(() => decodeSpan(hex('50 ffffffffffffffffffff01'))), /^bad varint: field 10 \(dropped_attributes_count\) of Span at offset 1 does not fit in 64 bits$/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('50 ffff'))), /^truncated message: varint of field 10 \(dropped_attributes_count\) of Span/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('80'))), /^truncated message: tag in Span/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('00'))), /^invalid field number 0 in Span/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('a306'))), /unsupported wire type 3 \(group\) for field 100 of Span/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('a706'))), /invalid wire type 7 for field 100 of Span/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('8501 0102'))), /field 16 \(flags\) of Span needs 4 bytes/);
    assert.match(decodeErrorOf(() => decodeSpan(hex('7a03 1a0100'))), /wire type 0 expected for Status.code, got 2/);
  });

  test('unknown fields of every wire type are skipped', () => {
    const span = spansOf(kitchenSinkBatch())[0]!;
    const body = encodeSpan(span);
    // field 100 varint (300), 101 fixed64, 102 length-delimited, 103 fixed32 — before, between and after known fields.
    const unknown = hex('a006 ac02  a906 0102030405060708  b206 03 616263  bd06 01020304');
    const mixed = new Uint8Array([...unknown, ...body, ...unknown]);
    assert.deepStrictEqual(decodeSpan(mixed), span);
    // Unknown fields in TracesData (e.g. a newer ExportTraceServiceRequest) and in Resource (entity_refs = 3).
    const batch = kitchenSinkBatch();
    const withExtra = new Uint8Array([...hex('1203 616263'), ...encodeTracesData(batch)]);
    assert.deepStrictEqual(decodeTracesData(withExtra), batch);
    assert.deepStrictEqual(decodeResource(hex('1a02 0a00 0a0a 0a01 6b 1205 0a03 616263')), {
      attributes: [{ key: 'k', value: { type: 'string', value: 'abc' } }],
      droppedAttributesCount: 0,
    });
  });

  test('a message field that appears twice is merged', () => {
    // Span { status { message "a" } status { code 2 } }
    assert.deepStrictEqual(decodeSpan(hex('7a03 120161  7a02 1802')).status, { code: 2, message: 'a' });
  });

  test('AnyValue nesting deeper than the limit is refused without overflowing the stack', () => {
    let v: AnyValue = { type: 'int', value: 1n };
    for (let i = 0; i < MAX_VALUE_DEPTH; i++) v = { type: 'array', value: [v] };
    const ok = { ...defaultSpan(), attributes: [{ key: 'deep', value: v }] };
    assert.deepStrictEqual(decodeSpan(encodeSpan(ok)), ok);
    const tooDeep = { ...defaultSpan(), attributes: [{ key: 'deep', value: { type: 'array', value: [v] } as AnyValue }] };
    assert.match(decodeErrorOf(() => decodeSpan(encodeSpan(tooDeep))), /nested deeper than 100 levels/);
    // A hostile body: 100k levels of AnyValue { array_value { values { … } } }, 4-6 bytes per level.
    const keyValue = new Uint8Array([...hex('0a01 6b'), ...delimited(2, deeplyNestedArrays(100_000))]);
    assert.match(decodeErrorOf(() => decodeSpan(delimited(9, keyValue))), /nested deeper than 100 levels/);
  });
});

describe('int64 and varint edge values', () => {
  test('a kind or status code outside its enum decodes as UNSPECIFIED / UNSET, and the bytes are not kept as the batch\'s', () => {
    for (const n of [6, 300, 0x7fffffff, -1, -0x80000000]) {
      const span = { ...defaultSpan(), kind: n, status: { code: n === 6 ? 3 : n, message: 'm' } } as unknown as Span;
      const bytes = encodeTracesData([{ resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: [span] }] }]);
      const batch = decodeTracesDataKeepingWire(bytes);
      const decoded = spansOf(batch)[0]!;
      assert.equal(decoded.kind, 0, String(n));
      assert.deepEqual(decoded.status, { code: 0, message: 'm' }, String(n));
      assert.equal(wireFormOf(batch), undefined, `${n}: the stored form must be the normalised one`);
    }
    const valid = { ...defaultSpan(), kind: 5, status: { code: 2, message: '' } } as Span;
    assert.deepStrictEqual(decodeSpan(encodeSpan(valid)), valid);
  });

  test('int_value keeps its sign and full 64-bit range', () => {
    const values = [0n, 1n, 127n, 128n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -128n, -(2n ** 31n), -(2n ** 32n), -(2n ** 63n)];
    for (const value of values) {
      const span = { ...defaultSpan(), attributes: [{ key: 'n', value: { type: 'int', value } as AnyValue }] };
      assert.deepStrictEqual(decodeSpan(encodeSpan(span)), span, String(value));
      const viaReference = decodeWithReference(reference.Span, encodeSpan(span)) as { attributes: Array<{ value: { intValue: string } }> };
      assert.equal(viaReference.attributes[0]!.value.intValue, String(value));
    }
  });

  test('the every-kind attribute list survives protobufjs in both directions', () => {
    const span = { ...defaultSpan(), attributes: everyValueKind() };
    const viaReference = reference.Span.encode(reference.Span.fromObject(decodeWithReference(reference.Span, encodeSpan(span)))).finish();
    assert.deepStrictEqual(decodeSpan(viaReference), span);
  });
});
