// The trace index (trace-index.bin): its file round-trips and refuses what it cannot
// describe; lookups through it return exactly what the Parquet parts hold; blocks
// without one (older blocks, an unreadable file) are read as before; a trace in several
// blocks, compacted or not, is merged as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex, type StoredSpan, type TraceSpans } from '../../../src/otlp/model.js';
import type { BlockMeta } from '../../../src/store/blocks/meta.js';
import { readTraceSpans } from '../../../src/store/blocks/reader.js';
import { TRACE_HAS_DROPPED, TRACE_HAS_EVENTS, TRACE_HAS_LINKS, TRACE_HAS_SCOPE_ATTRS, TRACE_HAS_STATUS_MESSAGE_OR_STATE, TraceIndex, type TraceRows } from '../../../src/store/blocks/trace-index.js';
import { BASE_NS, basicSpan, canonical, everyFieldTrace, openHarness, sortTraces, stored, type Harness } from './fixtures.js';
import { generateTraces } from './workload.js';

const TENANT = 't';

/** Traces in block order laid out in parts of about `perPart` spans, as a block holds them. */
function layout(spanCounts: readonly number[], perPart: number, flags = (i: number) => i % 32): TraceRows[] {
  const ids = spanCounts.map(() => randomBytes(16).toString('hex')).sort();
  const rows: TraceRows[] = [];
  let part = 0;
  let row = 0;
  for (const [i, spans] of spanCounts.entries()) {
    if (row >= perPart) {
      part++;
      row = 0;
    }
    rows.push({ traceId: ids[i]!, part, firstRow: row, lastRow: row + spans - 1, spans, flags: flags(i) });
    row += spans;
  }
  return rows;
}

test('the index file round-trips and finds every trace with its part, rows and flags', () => {
  const rows = layout(
    Array.from({ length: 5000 }, (_, i) => 1 + ((i * 7919) % 300)),
    20_000,
  );
  const partCount = rows.at(-1)!.part + 1;
  assert.ok(partCount > 3);
  const built = TraceIndex.build(rows, partCount)!;
  const bytes = built.serialize();
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'SKTI');
  const parsed = TraceIndex.parse(bytes);
  assert.equal(parsed.size, rows.length);
  assert.deepEqual(parsed.serialize(), bytes);
  for (const r of rows) {
    const want = [{ part: r.part, firstRow: r.firstRow, spans: r.spans, flags: r.flags }];
    assert.deepEqual(built.find(r.traceId), want);
    assert.deepEqual(parsed.find(r.traceId), want);
  }
  // IDs it does not hold, below, between and above the ones it does.
  for (const id of ['0'.repeat(32), 'f'.repeat(32), ...Array.from({ length: 1000 }, () => randomBytes(16).toString('hex'))]) {
    if (!rows.some((r) => r.traceId === id)) assert.deepEqual(parsed.find(id), []);
  }
  // Span counts beyond one varint byte, and a one-trace block.
  const big = TraceIndex.parse(TraceIndex.build([{ traceId: 'ab'.repeat(16), part: 0, firstRow: 0, lastRow: 69_999, spans: 70_000, flags: 0 }], 1)!.serialize());
  assert.deepEqual(big.find('ab'.repeat(16)), [{ part: 0, firstRow: 0, spans: 70_000, flags: 0 }]);
});

test('traces sharing their first 8 bytes are all found; the exact ID filter is the reader\'s', () => {
  const prefix = 'aabbccdd00112233';
  const rows: TraceRows[] = [
    { traceId: `${prefix}${'0'.repeat(16)}`, part: 0, firstRow: 0, lastRow: 1, spans: 2, flags: TRACE_HAS_EVENTS },
    { traceId: `${prefix}${'1'.repeat(16)}`, part: 0, firstRow: 2, lastRow: 2, spans: 1, flags: 0 },
    { traceId: `${prefix}${'2'.repeat(16)}`, part: 1, firstRow: 0, lastRow: 4, spans: 5, flags: TRACE_HAS_LINKS },
  ];
  const index = TraceIndex.parse(TraceIndex.build(rows, 2)!.serialize());
  assert.deepEqual(index.find(`${prefix}${'f'.repeat(16)}`), [
    { part: 0, firstRow: 0, spans: 2, flags: TRACE_HAS_EVENTS },
    { part: 0, firstRow: 2, spans: 1, flags: 0 },
    { part: 1, firstRow: 0, spans: 5, flags: TRACE_HAS_LINKS },
  ]);
});

test('a layout the index cannot describe builds none; a damaged file is refused', () => {
  const rows = layout([3, 4, 5, 6], 7);
  assert.ok(TraceIndex.build(rows, 2));
  const broken: Array<[string, TraceRows[], number]> = [
    ['out of ID order', [rows[1]!, rows[0]!, ...rows.slice(2)], 2],
    ['a trace in two parts', [rows[0]!, rows[1]!, { ...rows[1]!, part: 1, firstRow: 0, lastRow: 3 }, { ...rows[2]!, firstRow: 4, lastRow: 8 }, { ...rows[3]!, firstRow: 9, lastRow: 14 }], 2],
    ['rows apart', rows.map((r, i) => (i === 1 ? { ...r, firstRow: r.firstRow + 1, lastRow: r.lastRow + 1 } : r)), 2],
    ['a part without traces', rows.map((r) => (r.part === 1 ? { ...r, part: 2 } : r)), 3],
    ['fewer parts than said', rows, 3],
    ['not a trace ID', rows.map((r, i) => (i === 0 ? { ...r, traceId: 'XYZ' } : r)), 2],
  ];
  for (const [why, bad, parts] of broken) assert.equal(TraceIndex.build(bad, parts), undefined, why);

  const bytes = TraceIndex.build(rows, 2)!.serialize();
  assert.throws(() => TraceIndex.parse(new Uint8Array(16)), /magic/);
  const v2 = Uint8Array.from(bytes);
  v2[4] = 2;
  assert.throws(() => TraceIndex.parse(v2), /version 2/);
  assert.throws(() => TraceIndex.parse(bytes.subarray(0, bytes.length - 1)), /corrupt/);
  assert.throws(() => TraceIndex.parse(Buffer.concat([bytes, Buffer.from([1])])), /corrupt/);
});

/** The spans of a trace as DuckDB reads them from the parts with every column (no index involved). */
async function scanned(h: Harness, meta: BlockMeta, traceId: string): Promise<StoredSpan[]> {
  const spans: StoredSpan[] = [];
  for (const p of meta.parts) spans.push(...(await readTraceSpans(h.engine, join(h.dir, meta.tenant, meta.blockId, p.file), traceId)));
  return spans;
}

/** Traces of every shape the flags tell apart: the shop workload, every field and value type, and each flag alone. */
function mixedTraces(): TraceSpans[] {
  const alone = (change: (s: StoredSpan) => void): TraceSpans => {
    const traceId = randomBytes(16);
    const root = stored(basicSpan(traceId, { name: 'root' }));
    const child = stored(basicSpan(traceId, { parent: root.span.spanId, name: 'child', start: BASE_NS + 5n }));
    change(child);
    return { traceId: toHex(traceId), spans: [root, child] };
  };
  return sortTraces([
    ...generateTraces(1200, { seed: 21 }),
    everyFieldTrace(),
    alone((s) => (s.span.events = [{ timeUnixNano: BASE_NS + 6n, name: 'e', attributes: [], droppedAttributesCount: 0 }])),
    alone((s) => (s.span.links = [{ traceId: randomBytes(16), spanId: randomBytes(8), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 }])),
    alone((s) => (s.scope = { name: 'sc', version: '1', attributes: [{ key: 'k', value: { type: 'int', value: 7n } }], droppedAttributesCount: 0 })),
    alone((s) => (s.span.status = { code: 2, message: 'only a message' })),
    alone((s) => (s.span.traceState = 'only=state')),
    alone((s) => (s.span.droppedAttributesCount = 1)),
    alone((s) => (s.span.droppedEventsCount = 2)),
    alone((s) => (s.span.droppedLinksCount = 3)),
  ]);
}

test('a trace found through the index is exactly the trace the parts hold, for every shape of trace', async () => {
  // Several parts of several row groups, so traces sit at part and row-group boundaries.
  const h = await openHarness({ rowGroupSpans: 2048 });
  try {
    const traces = mixedTraces();
    const meta = await h.store.writeBlock(TENANT, traces);
    assert.ok(meta.parts.length > 1, 'several parts');
    assert.ok(meta.traceIndex && meta.traceIndex.bytes > 0);
    const index = TraceIndex.parse(await readFile(join(h.dir, TENANT, meta.blockId, 'trace-index.bin')));
    assert.equal(index.size, traces.length);
    const flagsSeen = new Set<number>();
    for (const t of traces) {
      const [at, ...more] = index.find(t.traceId);
      assert.ok(at && more.length === 0);
      flagsSeen.add(at.flags);
      const found = await h.store.findTrace(TENANT, t.traceId);
      assert.equal(found.blocksSearched, 1);
      assert.equal(found.spans.length, at.spans);
      assert.deepStrictEqual(canonical(found.spans), canonical(await scanned(h, meta, t.traceId)), t.traceId);
      assert.deepStrictEqual(canonical(found.spans), canonical(t.spans), t.traceId);
    }
    for (const flag of [TRACE_HAS_EVENTS, TRACE_HAS_LINKS, TRACE_HAS_SCOPE_ATTRS, TRACE_HAS_STATUS_MESSAGE_OR_STATE, TRACE_HAS_DROPPED]) {
      assert.ok([...flagsSeen].some((f) => f === flag), `a trace with only flag ${flag}`);
    }
    assert.ok(flagsSeen.has(0), 'a trace with no flag');
  } finally {
    await h.dispose();
  }
});

test('an ID the bloom filter lets through but the index does not hold costs no read', async () => {
  const h = await openHarness();
  try {
    const traces = generateTraces(300, { seed: 22 });
    await h.store.writeBlock(TENANT, traces);
    const held = new Set(traces.map((t) => t.traceId));
    // About 1 in 100 absent IDs passes a bloom filter sized for 1% false positives.
    let absent: string | undefined;
    while (absent === undefined) {
      const id = randomBytes(16).toString('hex');
      if (!held.has(id) && h.store.mayHoldTrace(TENANT, id)) absent = id;
    }
    assert.deepEqual(await h.store.findTrace(TENANT, absent), { spans: [], inspectedBytes: 0, blocksSearched: 0 });
  } finally {
    await h.dispose();
  }
});

/** Makes the block look as an older Skein wrote it: no trace index in meta.json or beside the parts. */
async function withoutTraceIndex(h: Harness, meta: BlockMeta): Promise<void> {
  const old = JSON.parse(JSON.stringify(meta)) as BlockMeta;
  delete old.traceIndex;
  await writeFile(join(h.dir, meta.tenant, meta.blockId, 'meta.json'), JSON.stringify(old));
  await rm(join(h.dir, meta.tenant, meta.blockId, 'trace-index.bin'));
}

test('a block without a trace index, or with an unreadable one, is read by its parts\' ID ranges as before', async () => {
  const h = await openHarness({ rowGroupSpans: 2048 });
  try {
    const traces = mixedTraces();
    const older = await h.store.writeBlock(TENANT, traces.filter((_, i) => i % 2 === 0));
    const damaged = await h.store.writeBlock(TENANT, traces.filter((_, i) => i % 2 === 1));
    await withoutTraceIndex(h, older);
    await writeFile(join(h.dir, TENANT, damaged.blockId, 'trace-index.bin'), Buffer.from('not an index'));
    const store = await h.reopen();
    assert.equal(store.blocks(TENANT).find((m) => m.blockId === older.blockId)!.traceIndex, undefined);
    for (const t of traces.filter((_, i) => i % 7 === 0)) {
      const found = await store.findTrace(TENANT, t.traceId);
      assert.deepStrictEqual(canonical(found.spans), canonical(t.spans), t.traceId);
      assert.ok(found.blocksSearched >= 1);
    }
  } finally {
    await h.dispose();
  }
});

test('a trace in several blocks, with and without indexes and after a compaction of some of them, is merged as before', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const id = toHex(traceId);
    const root = stored(basicSpan(traceId, { name: 'root' }));
    const parts = ['a', 'b', 'c', 'd'].map((name, i) => stored(basicSpan(traceId, { parent: root.span.spanId, name, start: BASE_NS + BigInt(10 * (i + 1)) })));
    const filler = (seed: number) => generateTraces(50, { seed, startUnixNano: BASE_NS });
    // Each block repeats a span of the one before (a replayed WAL record).
    await h.store.writeBlock(TENANT, sortTraces([{ traceId: id, spans: [root, parts[0]!] }, ...filler(31)]));
    await h.store.writeBlock(TENANT, sortTraces([{ traceId: id, spans: [parts[0]!, parts[1]!] }, ...filler(32)]));
    await h.store.writeBlock(TENANT, sortTraces([{ traceId: id, spans: [parts[1]!, parts[2]!] }, ...filler(33)]));
    const names = async () => (await h.store.findTrace(TENANT, id)).spans.map((s) => s.span.name).sort();
    assert.deepEqual(await names(), ['a', 'b', 'c', 'root']);

    // The three compacted into one (its index built from the merged parts), then a block
    // written after the compaction, and one from before trace indexes existed.
    const compacted = await h.store.compactOnce(TENANT, { windowMs: 24 * 3_600_000, maxBlockBytes: 1 << 30, minInputBlocks: 3 });
    assert.ok(compacted?.traceIndex);
    assert.equal(h.store.blocks(TENANT).length, 1);
    assert.deepEqual(await names(), ['a', 'b', 'c', 'root']);
    const later = await h.store.writeBlock(TENANT, [{ traceId: id, spans: [parts[2]!, parts[3]!] }]);
    const older = await h.store.writeBlock(TENANT, [{ traceId: id, spans: [root, parts[3]!] }]);
    await withoutTraceIndex(h, older);
    const store = await h.reopen();
    const found = await store.findTrace(TENANT, id);
    assert.equal(found.blocksSearched, 3);
    assert.deepEqual(found.spans.map((s) => s.span.name).sort(), ['a', 'b', 'c', 'd', 'root']);
    assert.ok(store.blocks(TENANT).find((m) => m.blockId === later.blockId)!.traceIndex);
  } finally {
    await h.dispose();
  }
});
