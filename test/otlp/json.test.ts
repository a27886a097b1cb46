import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOtlpJson, encodeOtlpJson } from '../../src/otlp/json.js';
import { OtlpDecodeError, decodeTracesData } from '../../src/otlp/protobuf.js';
import { MAX_VALUE_DEPTH } from '../../src/otlp/wire.js';
import type { ResourceSpans } from '../../src/otlp/model.js';
import { defaultSpan, kitchenSinkBatch, sdkExport } from './fixtures.js';

function decodeErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OtlpDecodeError, `expected OtlpDecodeError, got ${(err as Error)?.stack ?? String(err)}`);
    return err.message;
  }
  assert.fail('expected an OtlpDecodeError, but decoding succeeded');
}

/** One span inside the usual envelope. */
function withSpan(span: Record<string, unknown>): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('OTLP/JSON round trips', () => {
  test('hex IDs (OTLP/JSON): decode(stringify(encode(x))) is x, for every field and edge value', () => {
    const batch = kitchenSinkBatch();
    assert.deepStrictEqual(decodeOtlpJson(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' }))), batch);
  });

  test('base64 IDs (Tempo): the same, decoding with ids: base64', () => {
    const batch = kitchenSinkBatch();
    assert.deepStrictEqual(decodeOtlpJson(JSON.stringify(encodeOtlpJson(batch, { ids: 'base64' })), { ids: 'base64' }), batch);
  });

  test('the SDK\'s JSON re-encodes to JSON that decodes to the same batch as its protobuf', () => {
    const sdk = sdkExport();
    const batch = decodeOtlpJson(sdk.json);
    assert.deepStrictEqual(decodeOtlpJson(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' }))), decodeTracesData(sdk.protobuf));
  });

  test('a Uint8Array body, with or without a byte order mark', () => {
    const text = JSON.stringify(encodeOtlpJson(kitchenSinkBatch(), { ids: 'hex' }));
    assert.deepStrictEqual(decodeOtlpJson(new TextEncoder().encode(text)), kitchenSinkBatch());
    assert.deepStrictEqual(decodeOtlpJson(new TextEncoder().encode(`\ufeff${text}`)), kitchenSinkBatch());
  });
});

describe('decodeOtlpJson accepts every spelling the spec allows', () => {
  test('a kind or status code number outside its enum decodes as UNSPECIFIED / UNSET', () => {
    for (const n of [6, 300, 2147483647, -1, -2147483648]) {
      const [rs] = decodeOtlpJson(withSpan({ traceId: TRACE_ID, spanId: SPAN_ID, kind: n, status: { code: n === 6 ? 3 : n, message: 'm' } }));
      const span = rs!.scopeSpans[0]!.spans[0]!;
      assert.equal(span.kind, 0, String(n));
      assert.deepEqual(span.status, { code: 0, message: 'm' }, String(n));
    }
  });

  test('snake_case field names decode like lowerCamelCase ones', () => {
    const camel = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }], droppedAttributesCount: 1 },
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1.0', droppedAttributesCount: 2 },
              schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
              spans: [
                {
                  traceId: TRACE_ID,
                  spanId: SPAN_ID,
                  parentSpanId: '53995c3f42cd8ad8',
                  traceState: 'a=b',
                  name: 'op',
                  kind: 2,
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000000000001',
                  attributes: [
                    { key: 'i', value: { intValue: '7' } },
                    { key: 'd', value: { doubleValue: 1.5 } },
                    { key: 'b', value: { boolValue: true } },
                    { key: 'x', value: { bytesValue: 'AAEC' } },
                    { key: 'a', value: { arrayValue: { values: [{ stringValue: 's' }] } } },
                    { key: 'k', value: { kvlistValue: { values: [{ key: 'n', value: { intValue: 1 } }] } } },
                  ],
                  droppedAttributesCount: 3,
                  events: [{ timeUnixNano: '5', name: 'e', droppedAttributesCount: 1 }],
                  droppedEventsCount: 4,
                  links: [{ traceId: TRACE_ID, spanId: SPAN_ID, traceState: 'c=d', droppedAttributesCount: 1, flags: 256 }],
                  droppedLinksCount: 5,
                  status: { code: 2, message: 'bad' },
                  flags: 257,
                },
              ],
            },
          ],
        },
      ],
    };
    const snake = JSON.stringify(camel)
      .replace(/"([a-z]+(?:[A-Z][a-z]+)+)":/g, (_, name: string) => `"${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}":`);
    assert.match(snake, /"resource_spans".*"start_time_unix_nano".*"kvlist_value"/);
    assert.deepStrictEqual(decodeOtlpJson(snake), decodeOtlpJson(JSON.stringify(camel)));
  });

  test('enums as numbers or names; 64-bit integers as strings or numbers; uppercase hex', () => {
    const byName = decodeOtlpJson(
      withSpan({ traceId: TRACE_ID.toUpperCase(), spanId: SPAN_ID, kind: 'SPAN_KIND_CONSUMER', startTimeUnixNano: 10, endTimeUnixNano: '20', status: { code: 'STATUS_CODE_OK' }, attributes: [{ key: 'n', value: { intValue: -3 } }] }),
    );
    const span = byName[0]!.scopeSpans[0]!.spans[0]!;
    assert.equal(span.kind, 5);
    assert.equal(span.status.code, 1);
    assert.equal(span.startTimeUnixNano, 10n);
    assert.equal(span.endTimeUnixNano, 20n);
    assert.deepStrictEqual(span.attributes[0]!.value, { type: 'int', value: -3n });
    assert.equal(Buffer.from(span.traceId).toString('hex'), TRACE_ID);
  });

  test('missing and null fields take their defaults', () => {
    assert.deepStrictEqual(decodeOtlpJson('{}'), []);
    assert.deepStrictEqual(decodeOtlpJson('{"resourceSpans": null}'), []);
    assert.deepStrictEqual(decodeOtlpJson('{"resourceSpans": [{}]}'), [
      { resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [] },
    ]);
    assert.deepStrictEqual(decodeOtlpJson(withSpan({ name: null })), [
      {
        resource: { attributes: [], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: [defaultSpan()] }],
      },
    ]);
    const kv = decodeOtlpJson(withSpan({ attributes: [{ key: 'k' }, { key: 'e', value: {} }] }))[0]!.scopeSpans[0]!.spans[0]!.attributes;
    assert.deepStrictEqual(kv, [
      { key: 'k', value: { type: 'empty' } },
      { key: 'e', value: { type: 'empty' } },
    ]);
  });

  test('Tempo\'s older top-level "batches" is read as resourceSpans', () => {
    const batch = kitchenSinkBatch();
    const tempo = { batches: encodeOtlpJson(batch, { ids: 'base64' }).resourceSpans };
    assert.deepStrictEqual(decodeOtlpJson(JSON.stringify(tempo), { ids: 'base64' }), batch);
  });

  test('hex of the wrong length is passed through for validation to judge', () => {
    const span = decodeOtlpJson(withSpan({ traceId: 'abcd', spanId: '' }))[0]!.scopeSpans[0]!.spans[0]!;
    assert.deepStrictEqual(span.traceId, new Uint8Array([0xab, 0xcd]));
    assert.equal(span.spanId.length, 0);
  });
});

describe('decodeOtlpJson errors name the JSON path and the problem', () => {
  const cases: Array<[string, string, string | RegExp]> = [
    ['not JSON at all', '{"resourceSpans": [', /^invalid JSON: /],
    ['a number where the ID goes', withSpan({ traceId: 12 }), 'resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a hex string, got number'],
    ['base64 where hex is expected', withSpan({ traceId: 'S/kvNXezTaajzpKdDg5HNg==' }), 'resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a hex string, got "S/kvNXezTaajzpKdDg5HNg=="'],
    ['odd-length hex', withSpan({ spanId: 'abc' }), 'resourceSpans[0].scopeSpans[0].spans[0].spanId: expected a hex string, got "abc"'],
    ['the root is an array', '[]', '(root): expected an object, got array'],
    ['resourceSpans is an object', '{"resourceSpans": {}}', 'resourceSpans: expected an array, got object'],
    ['a span is a string', JSON.stringify({ resourceSpans: [{ scopeSpans: [{}, { spans: [{}, {}, {}, 'x'] }] }] }), 'resourceSpans[0].scopeSpans[1].spans[3]: expected an object, got string'],
    ['a name is a number', withSpan({ name: 5 }), 'resourceSpans[0].scopeSpans[0].spans[0].name: expected a string, got number'],
    ['an unknown kind name', withSpan({ kind: 'SERVER' }), /spans\[0\]\.kind: unknown enum name "SERVER"; expected one of SPAN_KIND_UNSPECIFIED, .*SPAN_KIND_CONSUMER or its number$/],
    ['a fractional kind', withSpan({ kind: 1.5 }), 'resourceSpans[0].scopeSpans[0].spans[0].kind: expected an enum name or integer, got number'],
    ['a negative time', withSpan({ startTimeUnixNano: '-1' }), /spans\[0\]\.startTimeUnixNano: expected an unsigned 64-bit integer \(a decimal string or a number\), got "-1"$/],
    ['a time past 2^64', withSpan({ endTimeUnixNano: '18446744073709551616' }), /spans\[0\]\.endTimeUnixNano: expected an unsigned 64-bit integer/],
    ['a time with a fraction', withSpan({ endTimeUnixNano: 1.5 }), /spans\[0\]\.endTimeUnixNano: expected an unsigned 64-bit integer .*got number$/],
    ['a count that is negative', withSpan({ droppedEventsCount: -1 }), 'resourceSpans[0].scopeSpans[0].spans[0].droppedEventsCount: expected an unsigned 32-bit integer, got number'],
    ['an intValue that is not a number', withSpan({ attributes: [{ key: 'n', value: { intValue: '12abc' } }] }), 'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: expected a 64-bit integer (a decimal string or a number), got "12abc"'],
    ['an intValue past int64', withSpan({ attributes: [{ key: 'n', value: { intValue: '9223372036854775808' } }] }), /attributes\[0\]\.value\.intValue: expected a 64-bit integer/],
    ['a doubleValue that is text', withSpan({ attributes: [{ key: 'n', value: { doubleValue: 'fast' } }] }), /attributes\[0\]\.value\.doubleValue: expected a number, got "fast"$/],
    ['a boolValue that is a string', withSpan({ attributes: [{ key: 'b', value: { boolValue: 'true' } }] }), /attributes\[0\]\.value\.boolValue: expected true or false, got string$/],
    ['bytes that are not base64', withSpan({ attributes: [{ key: 'x', value: { bytesValue: 'not base64!' } }] }), /attributes\[0\]\.value\.bytesValue: expected a base64 string, got "not base64!"$/],
    ['a key that is a number', withSpan({ events: [{ attributes: [{ key: 1 }] }] }), 'resourceSpans[0].scopeSpans[0].spans[0].events[0].attributes[0].key: expected a string, got number'],
    ['nested arrays with a bad element', withSpan({ attributes: [{ key: 'a', value: { arrayValue: { values: [{}, { kvlistValue: { values: [{ key: 'k', value: { intValue: true } }] } }] } } }] }),
      'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values[1].kvlistValue.values[0].value.intValue: expected a 64-bit integer (a decimal string or a number), got boolean'],
    ['a link span ID of the wrong type', withSpan({ links: [{ spanId: [] }] }), 'resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId: expected a hex string, got array'],
    ['a status that is a string', withSpan({ status: 'ERROR' }), 'resourceSpans[0].scopeSpans[0].spans[0].status: expected an object, got string'],
    ['a resource attribute list that is an object', JSON.stringify({ resourceSpans: [{ resource: { attributes: {} } }] }), 'resourceSpans[0].resource.attributes: expected an array, got object'],
  ];
  for (const [what, body, expected] of cases) {
    test(what, () => {
      const message = decodeErrorOf(() => decodeOtlpJson(body));
      if (typeof expected === 'string') assert.equal(message, expected);
      else assert.match(message, expected);
    });
  }

  test('base64 mode refuses hex that is not base64', () => {
    assert.equal(
      decodeErrorOf(() => decodeOtlpJson(withSpan({ spanId: '00f067aa0ba902b7!' }), { ids: 'base64' })),
      'resourceSpans[0].scopeSpans[0].spans[0].spanId: expected a base64 string, got "00f067aa0ba902b7!"',
    );
  });

  test('AnyValue nesting past the limit', () => {
    let value: unknown = { intValue: '1' };
    for (let i = 0; i <= MAX_VALUE_DEPTH; i++) value = { arrayValue: { values: [value] } };
    assert.match(decodeErrorOf(() => decodeOtlpJson(withSpan({ attributes: [{ key: 'deep', value }] }))), /nested deeper than 100 levels$/);
  });

  test('random corruptions of valid JSON throw OtlpDecodeError only', () => {
    const text = JSON.stringify(encodeOtlpJson(kitchenSinkBatch(), { ids: 'hex' }));
    const replacements = ['1', '"x"', 'null', 'true', '[]', '{}', '-1', '"ZZ"', '1e400', '""'];
    for (let i = 0; i < 2000; i++) {
      // Replace one JSON value (after a colon or in an array) with something else.
      const positions = [...text.matchAll(/[:[,]/g)].map((m) => m.index!);
      const at = positions[i % positions.length]! + 1;
      const end = at + Math.max(1, Math.floor(Math.random() * 12));
      const corrupt = text.slice(0, at) + replacements[i % replacements.length]! + text.slice(end);
      try {
        decodeOtlpJson(corrupt);
      } catch (err) {
        assert.ok(err instanceof OtlpDecodeError, `${(err as Error).stack}\n${corrupt.slice(Math.max(0, at - 40), at + 40)}`);
      }
    }
  });
});

describe('encodeOtlpJson with base64 IDs has Grafana Tempo\'s shape', () => {
  const batch: ResourceSpans[] = [
    {
      resource: { attributes: [{ key: 'service.name', value: { type: 'string', value: 'checkout' } }], droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [
        {
          scope: { name: 'lib', version: '', attributes: [], droppedAttributesCount: 0 },
          schemaUrl: '',
          spans: [
            {
              ...defaultSpan(),
              traceId: new Uint8Array(Buffer.from(TRACE_ID, 'hex')),
              spanId: new Uint8Array(Buffer.from(SPAN_ID, 'hex')),
              name: 'GET /',
              kind: 2,
              startTimeUnixNano: 1_700_000_000_000_000_001n,
              endTimeUnixNano: 1_700_000_000_500_000_000n,
              attributes: [
                { key: 'http.status_code', value: { type: 'int', value: 42n } },
                { key: 'ratio', value: { type: 'double', value: 0.5 } },
                { key: 'blob', value: { type: 'bytes', value: new Uint8Array([1, 2, 3]) } },
                { key: 'empty', value: { type: 'string', value: '' } },
              ],
              events: [{ timeUnixNano: 1_700_000_000_100_000_000n, name: 'e', attributes: [], droppedAttributesCount: 0 }],
              status: { code: 2, message: '' },
            },
          ],
        },
      ],
    },
  ];

  test('exact shape: enum names, int64 as strings, base64 IDs and bytes, empties omitted', () => {
    assert.deepStrictEqual(encodeOtlpJson(batch, { ids: 'base64' }), {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'lib' },
              spans: [
                {
                  traceId: 'S/kvNXezTaajzpKdDg5HNg==',
                  spanId: 'APBnqgupArc=',
                  name: 'GET /',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000500000000',
                  attributes: [
                    { key: 'http.status_code', value: { intValue: '42' } },
                    { key: 'ratio', value: { doubleValue: 0.5 } },
                    { key: 'blob', value: { bytesValue: 'AQID' } },
                    { key: 'empty', value: { stringValue: '' } },
                  ],
                  events: [{ timeUnixNano: '1700000000100000000', name: 'e' }],
                  status: { code: 'STATUS_CODE_ERROR' },
                },
              ],
            },
          ],
        },
      ],
    });
  });

  test('as text: the fields Grafana reads', () => {
    const text = JSON.stringify(encodeOtlpJson(batch, { ids: 'base64' }));
    assert.match(text, /"kind":"SPAN_KIND_SERVER"/);
    assert.match(text, /"startTimeUnixNano":"1700000000000000001"/);
    assert.match(text, /"traceId":"S\/kvNXezTaajzpKdDg5HNg=="/);
    assert.match(text, /"intValue":"42"/);
    assert.doesNotMatch(text, /parentSpanId|traceState|droppedAttributesCount|"flags"|"message"|schemaUrl/);
  });

  test('hex form (OTLP/JSON): hex IDs and enums as integers, as the OTLP spec requires', () => {
    const span = (encodeOtlpJson(batch, { ids: 'hex' }).resourceSpans[0] as { scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }).scopeSpans[0]!.spans[0]!;
    assert.equal(span['traceId'], TRACE_ID);
    assert.equal(span['spanId'], SPAN_ID);
    assert.equal(span['kind'], 2);
    assert.deepStrictEqual(span['status'], { code: 2 });
  });

  test('doubles JSON cannot hold are written as proto3 JSON strings', () => {
    const values = [NaN, Infinity, -Infinity, -0].map((value) => ({ key: String(value), value: { type: 'double' as const, value } }));
    const out = encodeOtlpJson([{ ...batch[0]!, scopeSpans: [{ ...batch[0]!.scopeSpans[0]!, spans: [{ ...defaultSpan(), attributes: values }] }] }], { ids: 'hex' });
    assert.match(JSON.stringify(out), /"doubleValue":"NaN".*"doubleValue":"Infinity".*"doubleValue":"-Infinity".*"doubleValue":"-0"/);
  });
});
