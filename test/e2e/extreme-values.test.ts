// Values at and past the edge of what OTLP's wire types allow: whatever Skein
// acknowledges must cut into a block and read back, so one odd span can never
// stall its tenant's head (out-of-range enums are normalised, spans the block
// schema cannot hold are refused in partialSuccess).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyValue, KeyValue, ResourceSpans, Span } from '../../src/otlp/model.js';
import { toHex } from '../../src/otlp/model.js';
import { decodeTracesData, encodeTracesData } from '../../src/otlp/protobuf.js';
import { encodeOtlpJson } from '../../src/otlp/json.js';
import { join } from 'node:path';
import { Wal } from '../../src/lib/wal/wal.js';
import { DEFAULT_TENANT } from '../../src/lib/tenant.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { deeplyNestedArrays, delimited } from '../helpers/wire-bytes.js';
import { asDecoded, batchOf, newTraceId, span, str } from '../helpers/spans.js';

const UINT32_MAX = 0xffffffff;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const NOW_NANO = (): bigint => BigInt(Date.now()) * 1_000_000n;

interface Export {
  status: number;
  rejectedSpans: number;
  errorMessage: string;
  text: string;
}

async function exportJson(skein: SkeinProcess, body: unknown): Promise<Export> {
  return exportBody(skein, typeof body === 'string' ? body : JSON.stringify(body), 'application/json');
}

async function exportProtobuf(skein: SkeinProcess, batch: ResourceSpans[]): Promise<Export> {
  return exportBody(skein, Buffer.from(encodeTracesData(batch)), 'application/x-protobuf');
}

async function exportBody(skein: SkeinProcess, body: string | Buffer, contentType: string): Promise<Export> {
  const res = await fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json' }, body });
  const text = await res.text();
  let rejectedSpans = 0;
  let errorMessage = '';
  if (res.status === 200 && contentType === 'application/json' && text) {
    const partial = (JSON.parse(text) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } }).partialSuccess;
    rejectedSpans = Number(partial?.rejectedSpans ?? 0);
    errorMessage = partial?.errorMessage ?? '';
  }
  return { status: res.status, rejectedSpans, errorMessage, text };
}

async function flush(skein: SkeinProcess): Promise<void> {
  const res = await fetch(`${skein.url}/flush`, { method: 'POST' });
  assert.equal(res.status, 204, `/flush answered ${res.status}: ${await res.text()}`);
}

/** The trace as the query API returns it (protobuf), its spans by span ID. */
async function readTrace(skein: SkeinProcess, traceId: Uint8Array): Promise<Map<string, Span>> {
  const res = await fetch(`${skein.url}/api/traces/${toHex(traceId)}`, { headers: { accept: 'application/protobuf' } });
  assert.equal(res.status, 200, `trace ${toHex(traceId)}: ${res.status}`);
  const spans = new Map<string, Span>();
  for (const rs of decodeTracesData(new Uint8Array(await res.arrayBuffer()))) {
    for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.set(toHex(s.spanId), s);
  }
  return spans;
}

function spanJson(batch: ResourceSpans[]): { resourceSpans: unknown[] } {
  return encodeOtlpJson(batch, { ids: 'hex' });
}

/** The JSON of a one-span request with `patch` applied to the span object. */
function jsonWithSpan(s: Span, patch: Record<string, unknown>): string {
  const body = spanJson(batchOf('extreme', [s])) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
  Object.assign(body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!, patch);
  return JSON.stringify(body);
}

/** An export request whose one span has an attribute nested `depth` arrays deep (Skein's encoder, like any, would run out of stack). */
function deepProtobuf(depth: number): Buffer {
  const span = concat(delimited(1, newTraceId()), delimited(2, Buffer.alloc(8, 1)), delimited(5, 'deep'), delimited(9, concat(delimited(1, 'deep'), delimited(2, deeplyNestedArrays(depth)))));
  return Buffer.from(delimited(1, delimited(2, delimited(2, span))));
}

const concat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);

describe('out-of-range enums and future timestamps (default limits)', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein();
  });
  after(async () => {
    await skein.stop();
  });

  test('kind and status code outside their enums (300, negative, int32 extremes) are stored as UNSPECIFIED / UNSET, and the head still cuts', async () => {
    const traceId = newTraceId();
    const viaJson = [300, -1, INT32_MAX, INT32_MIN, 6].map((n, i) => ({ s: span({ traceId, name: `json-${i}` }), kind: n, code: n === 6 ? 3 : n }));
    for (const { s, kind, code } of viaJson) {
      const res = await exportJson(skein, jsonWithSpan(s, { kind, status: { code, message: 'odd' } }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.rejectedSpans, 0, res.errorMessage);
    }
    const viaProtobuf = [300, -1, INT32_MAX, INT32_MIN, 6].map((n, i) => {
      const s = span({ traceId, name: `protobuf-${i}` });
      s.kind = n as Span['kind'];
      s.status = { code: (n === 6 ? 3 : n) as Span['status']['code'], message: 'odd' };
      return s;
    });
    const res = await exportProtobuf(skein, batchOf('extreme', viaProtobuf));
    assert.equal(res.status, 200, res.text);
    // A valid kind and status pass through untouched.
    const valid = span({ traceId, name: 'valid' });
    valid.kind = 5;
    valid.status = { code: 2, message: 'boom' };
    assert.equal((await exportProtobuf(skein, batchOf('extreme', [valid]))).status, 200);

    await flush(skein);
    const stored = await readTrace(skein, traceId);
    assert.equal(stored.size, 11);
    for (const s of [...viaJson.map((x) => x.s), ...viaProtobuf]) {
      const back = stored.get(toHex(s.spanId));
      assert.ok(back, `span ${s.name} reads back`);
      assert.equal(back.kind, 0, `${s.name}: kind`);
      assert.equal(back.status.code, 0, `${s.name}: status code`);
      assert.equal(back.status.message, 'odd');
    }
    const back = stored.get(toHex(valid.spanId))!;
    assert.equal(back.kind, 5);
    assert.deepEqual(back.status, { code: 2, message: 'boom' });
  });

  test('a span ending more than limits.max_span_end_ahead (24h) in the future is refused in partialSuccess; one just inside, and one at time 0, are stored', async () => {
    const traceId = newTraceId();
    const hour = 3_600_000_000_000n;
    const farFuture = span({ traceId, name: 'far-future', startUnixNano: NOW_NANO() + 25n * hour });
    const maxTime = span({ traceId, name: 'max-time', startUnixNano: UINT64_MAX - 10n, durationNano: 10n });
    const nearFuture = span({ traceId, name: 'near-future', startUnixNano: NOW_NANO() + 23n * hour });
    const epoch = span({ traceId, name: 'epoch', startUnixNano: 0n, durationNano: 0n });
    const now = span({ traceId, name: 'now' });
    const res = await exportJson(skein, spanJson(batchOf('future', [farFuture, maxTime, nearFuture, epoch, now])));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.rejectedSpans, 2, res.errorMessage);
    assert.match(res.errorMessage, /future/);
    assert.match(res.errorMessage, /limits\.max_span_end_ahead/);
    assert.match(res.errorMessage, new RegExp(toHex(farFuture.spanId)));

    await flush(skein);
    const stored = await readTrace(skein, traceId);
    assert.deepEqual([...stored.values()].map((s) => s.name).sort(), ['epoch', 'near-future', 'now']);
    assert.equal(stored.get(toHex(epoch.spanId))!.startTimeUnixNano, 0n);
  });

  test('OTLP/JSON numbers the columns cannot hold are a 400 naming the field', async () => {
    const s = span({ traceId: newTraceId() });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ startTimeUnixNano: '-1' }, /startTimeUnixNano/],
      [{ endTimeUnixNano: (UINT64_MAX + 1n).toString() }, /endTimeUnixNano/],
      [{ flags: UINT32_MAX + 1 }, /flags/],
      [{ droppedAttributesCount: -1 }, /droppedAttributesCount/],
      [{ droppedEventsCount: '4294967296' }, /droppedEventsCount/],
      [{ events: [{ timeUnixNano: -5 }] }, /events\[0\]\.timeUnixNano/],
      [{ links: [{ traceId: toHex(s.traceId), spanId: toHex(s.spanId), flags: -1 }] }, /links\[0\]\.flags/],
      [{ attributes: [{ key: 'n', value: { intValue: (INT64_MAX + 1n).toString() } }] }, /intValue/],
      [{ kind: 1.5 }, /kind/],
      [{ kind: 2 ** 31 }, /kind/],
    ];
    for (const [patch, field] of cases) {
      const res = await exportJson(skein, jsonWithSpan(s, patch));
      assert.equal(res.status, 400, `${JSON.stringify(patch)}: ${res.text}`);
      assert.match(res.text, field);
    }
  });

  test('AnyValue nested thousands deep: 400 naming the depth limit (JSON and protobuf), not a crash', async () => {
    const depth = 5000;
    let json = '{"stringValue":"leaf"}';
    for (let i = 0; i < depth; i++) json = `{"kvlistValue":{"values":[{"key":"k","value":${json}}]}}`;
    const s = span({ traceId: newTraceId() });
    const res = await exportJson(skein, jsonWithSpan(s, {}).replace('"spans":[{', `"spans":[{"attributes":[{"key":"deep","value":${json}}],`));
    assert.equal(res.status, 400, res.text);
    assert.match(res.text, /nested deeper than/);

    const pb = await exportBody(skein, deepProtobuf(depth), 'application/x-protobuf');
    assert.equal(pb.status, 400);
    assert.match(pb.text, /nested deeper than/);
    // Still serving.
    const ok = span({ traceId: newTraceId() });
    assert.equal((await exportProtobuf(skein, batchOf('deep', [ok]))).status, 200);
  });
});

describe('every field at its extremes', () => {
  let skein: SkeinProcess;
  before(async () => {
    // 0 turns the future-time check off, so a span may end at the largest time the wire allows.
    skein = await startSkein({ configYaml: 'limits:\n  max_span_end_ahead: 0s\n  max_attribute_value_length: 70000\n' });
  });
  after(async () => {
    await skein.stop();
  });

  function nested(depth: number, kind: 'array' | 'kvlist'): AnyValue {
    let v: AnyValue = { type: 'int', value: INT64_MIN };
    for (let i = 0; i < depth; i++) v = kind === 'array' ? { type: 'array', value: [v, { type: 'empty' }] } : { type: 'kvlist', value: [{ key: `level-${i}`, value: v }] };
    return v;
  }

  const attributes = (): KeyValue[] => [
    { key: 'int.min', value: { type: 'int', value: INT64_MIN } },
    { key: 'int.max', value: { type: 'int', value: INT64_MAX } },
    { key: 'int.zero', value: { type: 'int', value: 0n } },
    { key: 'int.minus-one', value: { type: 'int', value: -1n } },
    { key: 'dbl.nan', value: { type: 'double', value: NaN } },
    { key: 'dbl.inf', value: { type: 'double', value: Infinity } },
    { key: 'dbl.-inf', value: { type: 'double', value: -Infinity } },
    // Both zeros in one block: Parquet's dictionary would make the second one the first.
    { key: 'dbl.0', value: { type: 'double', value: 0 } },
    { key: 'dbl.-0', value: { type: 'double', value: -0 } },
    { key: 'dbl.max', value: { type: 'double', value: Number.MAX_VALUE } },
    { key: 'dbl.denormal', value: { type: 'double', value: Number.MIN_VALUE } },
    { key: 'bool.false', value: { type: 'bool', value: false } },
    { key: 'str.empty', value: { type: 'string', value: '' } },
    { key: 'str.huge', value: { type: 'string', value: 'é'.repeat(32_000) } },
    { key: 'str.odd', value: { type: 'string', value: 'nul\u0000tab\tnewline\n"quote"\\ 🙂 \u2028 \uffff' } },
    { key: 'bytes.empty', value: { type: 'bytes', value: new Uint8Array(0) } },
    { key: 'bytes.all', value: { type: 'bytes', value: Uint8Array.from({ length: 256 }, (_, i) => i) } },
    { key: 'empty.value', value: { type: 'empty' } },
    { key: '', value: { type: 'string', value: 'empty key' } },
    { key: 'array.empty', value: { type: 'array', value: [] } },
    { key: 'kvlist.empty', value: { type: 'kvlist', value: [] } },
    { key: 'array.deep', value: nested(99, 'array') },
    { key: 'kvlist.deep', value: nested(99, 'kvlist') },
  ];

  function extremeSpans(traceId: Uint8Array, tag: string): Span[] {
    const full = span({ traceId, spanId: new Uint8Array(8).fill(0xff), name: `${tag}-full`, attributes: attributes() });
    Object.assign(full, {
      flags: UINT32_MAX,
      kind: 5,
      traceState: 'k=v,'.repeat(500),
      droppedAttributesCount: UINT32_MAX,
      droppedEventsCount: UINT32_MAX,
      droppedLinksCount: UINT32_MAX,
      status: { code: 2, message: 'x'.repeat(10_000) },
      events: [
        { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 },
        { timeUnixNano: UINT64_MAX, name: 'max', attributes: attributes(), droppedAttributesCount: UINT32_MAX },
      ],
      links: [
        { traceId: new Uint8Array(16).fill(0xff), spanId: new Uint8Array(8).fill(0xff), traceState: '', attributes: attributes(), droppedAttributesCount: UINT32_MAX, flags: UINT32_MAX },
        { traceId: new Uint8Array(16), spanId: new Uint8Array(8), traceState: 'x', attributes: [], droppedAttributesCount: 0, flags: 0 },
      ],
    } satisfies Partial<Span>);
    const zero = span({ traceId, spanId: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1), name: '', startUnixNano: 0n, durationNano: 0n });
    Object.assign(zero, { kind: 0, flags: 0, parentSpanId: new Uint8Array(8).fill(0xff) });
    const longest = span({ traceId, name: `${tag}-longest`, startUnixNano: 0n, durationNano: UINT64_MAX });
    const latest = span({ traceId, name: `${tag}-latest`, startUnixNano: UINT64_MAX, durationNano: 0n });
    return [full, zero, longest, latest];
  }

  /** Spans whose kind and status code are outside their enums, and what they read back as. */
  function outOfRangeSpans(traceId: Uint8Array): Array<{ sent: Span; expected: Span }> {
    return ([[INT32_MIN, INT32_MAX], [-1, 300], [6, 3], [INT32_MAX, -1]] as const).map(([kind, code], i) => {
      const sent = span({ traceId, name: `out-of-range-${i}` });
      sent.kind = kind as Span['kind'];
      sent.status = { code: code as Span['status']['code'], message: `kind ${kind}, code ${code}` };
      const expected = asDecoded([{ ...sent, kind: 0, status: { code: 0, message: sent.status.message } }])[0]!;
      return { sent, expected };
    });
  }

  function assertSameSpan(back: Span | undefined, sent: Span): void {
    assert.ok(back, `span ${sent.name} reads back`);
    // deepStrictEqual compares NaN and -0 exactly (Object.is), and bigints by value.
    assert.deepEqual(back, sent, `span ${sent.name}`);
  }

  test('sent as protobuf and as OTLP/JSON, every span cuts to a block and reads back exactly', async () => {
    const viaProtobuf = newTraceId().fill(0xff, 0, 15);
    const viaJson = newTraceId();
    const pbOdd = outOfRangeSpans(viaProtobuf);
    const jsonOdd = outOfRangeSpans(viaJson);
    const pbSpans = asDecoded(extremeSpans(viaProtobuf, 'pb'));
    const jsonSpans = asDecoded(extremeSpans(viaJson, 'json'));
    const pb = await exportProtobuf(skein, batchOf('extreme', [...pbSpans, ...pbOdd.map((x) => x.sent)]));
    assert.equal(pb.status, 200, pb.text);
    const json = await exportJson(skein, spanJson(batchOf('extreme', [...jsonSpans, ...jsonOdd.map((x) => x.sent)])));
    assert.equal(json.status, 200, json.text);
    assert.equal(json.rejectedSpans, 0, json.errorMessage);

    await flush(skein);
    for (const [traceId, spans, odd] of [[viaProtobuf, pbSpans, pbOdd], [viaJson, jsonSpans, jsonOdd]] as const) {
      const stored = await readTrace(skein, traceId);
      assert.equal(stored.size, spans.length + odd.length);
      for (const s of spans) assertSameSpan(stored.get(toHex(s.spanId)), s);
      for (const { expected } of odd) assertSameSpan(stored.get(toHex(expected.spanId)), expected);
    }
  });

  test('protobuf varints at their widest (10 bytes, all ones) in every varint field of a span: enums normalised, counts keep their low 32 bits', async () => {
    const allOnes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const traceId = newTraceId();
    const spanId = Buffer.alloc(8, 0xfe);
    const span = Buffer.concat([
      delimited(1, traceId),
      delimited(2, spanId),
      delimited(5, 'widest'),
      Buffer.from([0x30, ...allOnes]), // kind = 6
      Buffer.from([0x39, ...Buffer.alloc(8, 0xff)]), // start_time_unix_nano = 7 (fixed64)
      Buffer.from([0x41, ...Buffer.alloc(8, 0xff)]), // end_time_unix_nano = 8 (fixed64)
      Buffer.from([0x50, ...allOnes]), // dropped_attributes_count = 10
      Buffer.from([0x60, ...allOnes]), // dropped_events_count = 12
      Buffer.from([0x70, ...allOnes]), // dropped_links_count = 14
      delimited(15, Buffer.from([0x18, ...allOnes])), // status = 15 { code = 3 }
      Buffer.from([0x85, 0x01, 0xff, 0xff, 0xff, 0xff]), // flags = 16 (fixed32)
      delimited(11, Buffer.concat([Buffer.from([0x09, ...Buffer.alloc(8, 0xff)]), Buffer.from([0x20, ...allOnes])])), // event { time = 1, dropped = 4 }
      delimited(13, Buffer.concat([delimited(1, traceId), delimited(2, spanId), Buffer.from([0x28, ...allOnes, 0x35, 0xff, 0xff, 0xff, 0xff])])), // link { dropped = 5, flags = 6 }
      delimited(9, Buffer.concat([delimited(1, 'int'), delimited(2, Buffer.from([0x18, ...allOnes]))])), // attribute { int_value = 3 }
    ]);
    const res = await exportBody(skein, Buffer.from(delimited(1, delimited(2, delimited(2, span)))), 'application/x-protobuf');
    assert.equal(res.status, 200, res.text);
    await flush(skein);
    const back = (await readTrace(skein, traceId)).get(toHex(spanId));
    assert.ok(back, 'the span reads back');
    assert.equal(back.kind, 0);
    assert.equal(back.status.code, 0);
    assert.equal(back.startTimeUnixNano, UINT64_MAX);
    assert.equal(back.endTimeUnixNano, UINT64_MAX);
    assert.deepEqual([back.droppedAttributesCount, back.droppedEventsCount, back.droppedLinksCount, back.flags], [UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX]);
    assert.deepEqual(back.events.map((e) => [e.timeUnixNano, e.droppedAttributesCount]), [[UINT64_MAX, UINT32_MAX]]);
    assert.deepEqual(back.links.map((l) => [l.droppedAttributesCount, l.flags]), [[UINT32_MAX, UINT32_MAX]]);
    assert.deepEqual(back.attributes, [{ key: 'int', value: { type: 'int', value: -1n } }]);
  });

  test('a double attribute keeps the sign of zero, however many zeros of each sign a block holds', async () => {
    const traceId = newTraceId();
    const zero = (n: number): KeyValue => ({ key: 'zero', value: { type: 'double', value: n } });
    const spans = Array.from({ length: 64 }, (_, i) => span({ traceId, name: `zero-${i}`, attributes: [zero(i % 3 ? 0 : -0), zero(i % 2 ? -0 : 0)] }));
    assert.equal((await exportProtobuf(skein, batchOf('zeros', spans))).status, 200);
    await flush(skein);
    const stored = await readTrace(skein, traceId);
    for (const s of spans) assert.deepStrictEqual(stored.get(toHex(s.spanId))?.attributes, s.attributes, s.name);
  });

  test('a string with a lone UTF-16 surrogate (valid JSON, not valid UTF-8) is stored with U+FFFD in its place', async () => {
    const s = span({ traceId: newTraceId(), name: 'surrogate', attributes: [str('lone', 'a\ud800b')] });
    const body = jsonWithSpan(s, { name: 'lone \udfff name' });
    const res = await exportJson(skein, body);
    assert.equal(res.status, 200, res.text);
    await flush(skein);
    const back = (await readTrace(skein, s.traceId)).get(toHex(s.spanId));
    assert.equal(back?.name, 'lone \ufffd name');
    assert.deepEqual(back?.attributes, [str('lone', 'a\ufffdb')]);
  });
});

describe('a WAL written before enums were normalised', () => {
  test('its span with kind 300 and status code -1 replays as UNSPECIFIED / UNSET, so the head cuts after the upgrade and nothing is quarantined', async () => {
    // The record an older Skein appended: the request's own bytes, kind and code as sent.
    const dataDir = tempDir();
    const traceId = newTraceId();
    const old = span({ traceId, name: 'from-an-old-wal' });
    old.kind = 300 as Span['kind'];
    old.status = { code: -1 as Span['status']['code'], message: 'kept' };
    const wal = await Wal.open({ dir: join(dataDir, 'wal', DEFAULT_TENANT), syncPolicy: 'batch', syncIntervalMs: 0, segmentMaxBytes: 1 << 20, logger: silentLogger }, () => undefined);
    await wal.append(encodeTracesData(batchOf('old', [old])));
    await wal.close();

    const skein = await startSkein({ dataDir });
    try {
      await flush(skein);
      const back = (await readTrace(skein, traceId)).get(toHex(old.spanId));
      assert.equal(back?.name, 'from-an-old-wal');
      assert.equal(back.kind, 0);
      assert.deepEqual(back.status, { code: 0, message: 'kept' });
      // Whole into a block: no span of it needed the quarantine (docs/block-format.md).
      assert.deepEqual(await (await fetch(`${skein.url}/api/skein/quarantine`)).json(), { tenant: DEFAULT_TENANT, total: 0, objects: [] });
    } finally {
      await skein.stop();
    }
  });
});
