// The block writer against real DuckDB and real Parquet files: what a part holds
// is exactly the spans given (every field and value type, 64-bit and non-finite
// numbers, empty and huge values, events, links, a 10k-span trace), in block order,
// with the nested sets and tag index of the spans, in the skein-parquet-v1 schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, type KeyValue, type Span, type StoredSpan, type TraceSpans } from '../../../src/otlp/model.js';
import { computeNestedSets } from '../../../src/otlp/nested-set.js';
import { rowToStoredSpan, SPAN_COLUMNS, type SpanRow } from '../../../src/store/blocks/row-codec.js';
import { COLUMNS, sqlString } from '../../../src/store/blocks/schema.js';
import { TagIndex } from '../../../src/store/blocks/tag-index.js';
import { spansPerPart, writeTracesParquet } from '../../../src/store/blocks/writer.js';
import { DuckEngine } from '../../../src/store/engine/duckdb.js';
import { BASE_NS, basicSpan, comparable, everyFieldTrace, everyValueAttributes, stored } from './fixtures.js';

const MiB = 1024 * 1024;

interface WrittenRow extends SpanRow {
  nested_set_left: number;
  nested_set_right: number;
  nested_set_parent: number;
  service_name: string | null;
}

async function withWriter(fn: (engine: DuckEngine, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-writer-test-'));
  const engine = await DuckEngine.open({ threads: 2, connections: 2 });
  try {
    await fn(engine, dir);
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every row of the parts, in file order. */
async function readParts(engine: DuckEngine, paths: readonly string[]): Promise<WrittenRow[]> {
  const rows: WrittenRow[] = [];
  for (const p of paths) {
    rows.push(
      ...(await engine.all<WrittenRow & Record<string, unknown>>(
        `SELECT ${SPAN_COLUMNS}, nested_set_left, nested_set_right, nested_set_parent, service_name FROM read_parquet(${sqlString(p)})`,
      )),
    );
  }
  return rows;
}

/** What a block must hold for these traces: spans de-duplicated by span ID (first wins), in block order. */
function blockOrder(traces: readonly TraceSpans[]): Array<{ traceId: string; spans: StoredSpan[] }> {
  return traces.map((t) => {
    const unique = new Map<string, StoredSpan>();
    for (const s of t.spans) if (!unique.has(toHex(s.span.spanId))) unique.set(toHex(s.span.spanId), s);
    const spans = [...unique.values()].sort((a, b) => {
      if (a.span.startTimeUnixNano !== b.span.startTimeUnixNano) return a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : 1;
      return toHex(a.span.spanId).localeCompare(toHex(b.span.spanId));
    });
    return { traceId: t.traceId, spans };
  });
}

/** Writes the traces and checks the parts hold exactly the spans, in order, with their nested sets and tags. */
async function assertRoundTrip(engine: DuckEngine, dir: string, traces: TraceSpans[], rowGroupSpans = 2048): Promise<string[]> {
  const written = await writeTracesParquet(engine, dir, traces, { rowGroupSpans });
  const expected = blockOrder(traces);
  const rows = await readParts(engine, written.paths);
  const spans = expected.flatMap((t) => t.spans);
  assert.equal(written.spanCount, spans.length);
  assert.equal(written.traceCount, traces.length);
  assert.equal(rows.length, spans.length);

  // Field by field, in block order: decoding a row gives back the span written.
  for (let i = 0; i < rows.length; i++) {
    assert.deepStrictEqual(comparable(rowToStoredSpan(rows[i]!)), comparable(spans[i]), `row ${i}`);
  }

  // The derived columns: nested sets as computeNestedSets numbers them over hex IDs, and service_name.
  let at = 0;
  for (const t of expected) {
    const nested = computeNestedSets(t.spans.map((s) => ({ spanId: toHex(s.span.spanId), parentSpanId: toHex(s.span.parentSpanId) })));
    for (let i = 0; i < t.spans.length; i++, at++) {
      const r = rows[at]!;
      assert.equal(r.trace_id, t.traceId);
      assert.deepEqual([r.nested_set_left, r.nested_set_right, r.nested_set_parent], [nested[i]!.left, nested[i]!.right, nested[i]!.parent], `nested set of row ${at}`);
      const service = t.spans[i]!.resource.attributes.find((a) => a.key === 'service.name' && a.value.type === 'string');
      assert.equal(r.service_name, service?.value.type === 'string' ? service.value.value : null);
    }
  }

  // The tag index is that of the spans written.
  const tags = new TagIndex();
  for (const s of spans) tags.addStoredSpan(s);
  assert.deepEqual(JSON.parse(Buffer.from(written.tags.serialize()).toString()), JSON.parse(Buffer.from(tags.serialize()).toString()));
  return written.paths;
}

test('a part holds exactly the spans given: every field and value type, empty values, events and links', async () => {
  await withWriter(async (engine, dir) => {
    const traces = [everyFieldTrace(), everyFieldTrace(BASE_NS)].sort((a, b) => a.traceId.localeCompare(b.traceId));
    const paths = await assertRoundTrip(engine, dir, traces);
    assert.equal(paths.length, 1);
    // The Parquet schema is skein-parquet-v1's, column for column.
    const schema = await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(paths[0]!)})`);
    assert.deepEqual(
      schema.map((c) => [c.column_name, c.column_type.replaceAll('"', '')]),
      COLUMNS.map((c) => [c.name, c.type]),
    );
  });
});

test('values over 1 MiB, long and non-ASCII strings at every length, and unusual IDs are written exactly', async () => {
  await withWriter(async (engine, dir) => {
    const traceId = randomBytes(16);
    const huge = 'x'.repeat(MiB + 17);
    const hugeUnicode = 'é✓🚀'.repeat(200_000);
    const lengths: KeyValue[] = [];
    // ASCII and multi-byte strings on both sides of the 12 bytes DuckDB keeps inline.
    for (let n = 0; n <= 20; n++) {
      lengths.push({ key: `ascii.${n}`, value: { type: 'string', value: 'a'.repeat(n) } });
      lengths.push({ key: `utf8.${n}`, value: { type: 'string', value: 'é'.repeat(n) } });
      lengths.push({ key: 'k'.repeat(n), value: { type: 'string', value: '✓'.repeat(n % 7) } });
    }
    const big: Span = {
      ...basicSpan(traceId, { name: hugeUnicode, start: BASE_NS }),
      attributes: [
        { key: 'huge', value: { type: 'string', value: huge } },
        { key: 'huge.bytes', value: { type: 'bytes', value: randomBytes(MiB + 3) } },
        { key: 'huge.array', value: { type: 'array', value: Array.from({ length: 50_000 }, (_, i) => ({ type: 'int' as const, value: BigInt(i) * 1_000_000_007n })) } },
        ...lengths,
        ...everyValueAttributes(),
      ],
      status: { code: 2, message: huge },
      traceState: 'k=v,'.repeat(1000),
    };
    // An all-zero parent is a root, as an empty one; IDs of other lengths than 8 bytes (which
    // decoding refuses) are still written as given, a long one past the 12 inline bytes.
    const zeroParent: Span = { ...basicSpan(traceId, { start: BASE_NS + 1n, parent: new Uint8Array(8) }), name: 'zero parent' };
    const child: Span = { ...basicSpan(traceId, { start: BASE_NS + 1n, parent: big.spanId }), name: 'child' };
    const odd: Span = { ...basicSpan(traceId, { start: BASE_NS + 2n, spanId: randomBytes(3), parent: randomBytes(16) }), name: 'odd IDs' };
    const traces = [{ traceId: toHex(traceId), spans: [stored(child), stored(big), stored(zeroParent), stored(odd)] }];
    await assertRoundTrip(engine, dir, traces);
  });
});

test('a 10k-span trace among others: de-duplicated (first wins), sorted by start then span ID, nested sets over the whole trace', async () => {
  await withWriter(async (engine, dir) => {
    const traceIds = Array.from({ length: 5 }, () => randomBytes(16)).sort(Buffer.compare);
    const traces: TraceSpans[] = traceIds.map((id, t) => {
      const count = t === 2 ? 10_000 : 50;
      const spans: Span[] = [];
      for (let i = 0; i < count; i++) {
        const parent = i === 0 ? new Uint8Array(0) : spans[Math.floor(Math.random() * i)]!.spanId;
        // Few distinct start times, so many spans tie on start and are ordered by span ID.
        const span = basicSpan(id, { parent, start: BASE_NS + BigInt(i % 7), name: `op-${i}` });
        span.attributes = [
          { key: 'i', value: { type: 'int', value: BigInt(i) } },
          { key: 'http.request.method', value: { type: 'string', value: i % 2 ? 'GET' : 'POST' } },
        ];
        spans.push(span);
      }
      // Resources and scopes as a batch shares them: a few objects over many spans, across chunks.
      const all = spans.map((s, i) => stored(s, `svc-${i % 3}`));
      const shared = all.map((s, i) => ({ ...s, resource: all[i % 3]!.resource, scope: all[i % 2]!.scope }));
      // Duplicates (a later copy with another name must lose), then a shuffle.
      for (let i = 0; i < count; i += 97) shared.push({ ...shared[i]!, span: { ...shared[i]!.span, name: 'duplicate' } });
      for (let i = shared.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [shared[i], shared[j]] = [shared[j]!, shared[i]!];
      }
      const dupesLast = [...shared.filter((s) => s.span.name !== 'duplicate'), ...shared.filter((s) => s.span.name === 'duplicate')];
      return { traceId: toHex(id), spans: dupesLast };
    });
    // Entries of one trace next to each other are merged.
    const split = [traces[0]!, traces[1]!, { traceId: traces[2]!.traceId, spans: traces[2]!.spans.slice(0, 4000) }, { traceId: traces[2]!.traceId, spans: traces[2]!.spans.slice(4000) }, traces[3]!, traces[4]!];
    const written = await writeTracesParquet(engine, dir, split, { rowGroupSpans: 2048 });
    assert.equal(written.traceCount, 5);
    assert.equal(written.spanCount, 10_000 + 4 * 50);
    for (const p of written.paths) await rm(p);
    await assertRoundTrip(engine, dir, traces);
  });
});

test('parts end at the first trace boundary after spansPerPart rows, and traces never straddle two', async () => {
  await withWriter(async (engine, dir) => {
    const opts = { rowGroupSpans: 2048 };
    const perPart = spansPerPart(opts);
    const traces: TraceSpans[] = Array.from({ length: 9 }, () => randomBytes(16))
      .sort(Buffer.compare)
      .map((id) => ({ traceId: toHex(id), spans: Array.from({ length: Math.ceil(perPart / 4) + 1 }, (_, i) => stored(basicSpan(id, { start: BASE_NS + BigInt(i) }))) }));
    const written = await writeTracesParquet(engine, dir, traces, opts);
    const perFile = await Promise.all(
      written.paths.map((p) => engine.all<{ traces: bigint; spans: bigint }>(`SELECT count(DISTINCT trace_id) AS traces, count(*) AS spans FROM read_parquet(${sqlString(p)})`)),
    );
    // 4 traces reach perPart + 4 rows: each part but the last holds 4 traces.
    assert.deepEqual(
      perFile.map(([r]) => Number(r!.traces)),
      [4, 4, 1],
    );
    const ranges = await Promise.all(written.paths.map((p) => engine.all<{ lo: string; hi: string }>(`SELECT min(trace_id) AS lo, max(trace_id) AS hi FROM read_parquet(${sqlString(p)})`)));
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i - 1]![0]!.hi < ranges[i]![0]!.lo, 'parts cover disjoint, increasing trace-ID ranges');
  });
});

test('a value no column can hold fails the write with a cast error and leaves no file behind', async () => {
  await withWriter(async (engine, dir) => {
    const id = randomBytes(16);
    const bad = basicSpan(id);
    bad.kind = 300 as Span['kind'];
    await assert.rejects(writeTracesParquet(engine, dir, [{ traceId: toHex(id), spans: [stored(basicSpan(id)), stored(bad)] }], { rowGroupSpans: 2048 }), /cast/i);
    const negative = basicSpan(id, { start: -1n });
    await assert.rejects(writeTracesParquet(engine, dir, [{ traceId: toHex(id), spans: [stored(negative)] }], { rowGroupSpans: 2048 }), /cast/i);
    assert.deepEqual(await readdir(dir), []);
    // Unsorted input and malformed trace IDs are refused as before.
    await assert.rejects(writeTracesParquet(engine, dir, [{ traceId: 'f'.repeat(32), spans: [] }, { traceId: '0'.repeat(32), spans: [] }], { rowGroupSpans: 2048 }), /sorted/);
    await assert.rejects(writeTracesParquet(engine, dir, [{ traceId: 'XYZ', spans: [] }], { rowGroupSpans: 2048 }), /invalid trace ID/);
    assert.deepEqual(await readdir(dir), []);
  });
});
