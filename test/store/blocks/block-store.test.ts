// BlockStore against real DuckDB and real files: lossless round trips, merging
// across blocks, reopening, crash leftovers, time-range pruning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex, type StoredSpan } from '../../../src/otlp/model.js';
import { BASE_NS, HOUR_NS, basicSpan, canonical, everyFieldTrace, openHarness, sortTraces, stored } from './fixtures.js';

test('every field and value type round-trips losslessly through writeBlock and findTrace', async () => {
  const h = await openHarness();
  try {
    const trace = everyFieldTrace();
    const meta = await h.store.writeBlock('single-tenant', [trace]);
    assert.equal(meta.spanCount, 2);
    assert.equal(meta.traceCount, 1);
    const found = await h.store.findTrace('single-tenant', trace.traceId);
    assert.equal(found.blocksSearched, 1);
    assert.ok(found.inspectedBytes > 0);
    assert.deepStrictEqual(canonical(found.spans), canonical(trace.spans));
    // Upper-case and short forms of the ID find it too.
    assert.equal((await h.store.findTrace('single-tenant', trace.traceId.toUpperCase())).spans.length, 2);
  } finally {
    await h.dispose();
  }
});

test('meta.json describes the block; blocks() lists it', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const a = basicSpan(traceId, { start: BASE_NS + 10n, durationNs: 5n });
    const b = basicSpan(traceId, { start: BASE_NS + 3n, durationNs: 100n });
    const meta = await h.store.writeBlock('t1', [{ traceId: toHex(traceId), spans: [stored(a), stored(b)] }], { compactionLevel: 2 });
    assert.equal(meta.format, 'skein-parquet-v1');
    assert.match(meta.blockId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(meta.tenant, 't1');
    assert.equal(meta.minStartUnixNano, (BASE_NS + 3n).toString());
    assert.equal(meta.maxEndUnixNano, (BASE_NS + 103n).toString());
    assert.equal(meta.minTraceId, toHex(traceId));
    assert.equal(meta.maxTraceId, toHex(traceId));
    assert.equal(meta.compactionLevel, 2);
    assert.ok(!Number.isNaN(Date.parse(meta.createdAt)));
    for (const f of ['data-0000.parquet', 'bloom.bin', 'meta.json']) assert.ok(existsSync(join(h.dir, 't1', meta.blockId, f)), f);
    assert.deepEqual(h.store.tenants(), ['t1']);
    assert.deepEqual(h.store.blocks('t1'), [meta]);
    assert.deepEqual(h.store.blocks('other'), []);
    assert.ok(h.store.diskBytes('t1') > meta.sizeBytes);
    assert.equal(h.store.diskBytes(), h.store.diskBytes('t1'));
  } finally {
    await h.dispose();
  }
});

test('the writer de-duplicates spans by span ID and merges entries of the same trace', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const root = basicSpan(traceId, { name: 'root' });
    const child = basicSpan(traceId, { parent: root.spanId, name: 'child', start: BASE_NS + 1000n });
    const id = toHex(traceId);
    const meta = await h.store.writeBlock('t', [
      { traceId: id, spans: [stored(child), stored(root)] },
      { traceId: id, spans: [stored(root), stored(child)] },
    ]);
    assert.equal(meta.spanCount, 2);
    assert.equal((await h.store.findTrace('t', id)).spans.length, 2);
  } finally {
    await h.dispose();
  }
});

test('rows are written sorted by trace ID, then start time', async () => {
  const h = await openHarness({ rowGroupSpans: 100 });
  try {
    const traces = sortTraces(
      Array.from({ length: 600 }, () => {
        const traceId = randomBytes(16);
        // Spans handed over in reverse start order.
        const spans = Array.from({ length: 8 }, (_, i) => stored(basicSpan(traceId, { start: BASE_NS + BigInt(1000 - i * 7) })));
        return { traceId: toHex(traceId), spans };
      }),
    );
    const meta = await h.store.writeBlock('t', traces);
    // DuckDB cuts row groups at multiples of its 2048-row vectors.
    const rowGroups = meta.parts.flatMap((p) => p.rowGroups);
    assert.ok(rowGroups.length >= 2, 'several row groups');
    const file = join(h.dir, 't', meta.blockId, 'data-*.parquet');
    const [row] = await h.engine.all<{ out_of_order: bigint; n: bigint }>(
      `SELECT count(*) FILTER (WHERE pt > trace_id OR (pt = trace_id AND (ps > start_unix_nano OR (ps = start_unix_nano AND pi > span_id)))) AS out_of_order, count(*) AS n
       FROM (SELECT trace_id, start_unix_nano, span_id,
                    lag(trace_id) OVER w AS pt, lag(start_unix_nano) OVER w AS ps, lag(span_id) OVER w AS pi
             FROM read_parquet('${file}', file_row_number = true, filename = true) WINDOW w AS (ORDER BY filename, file_row_number))`,
    );
    assert.equal(row!.n, 4800n);
    assert.equal(row!.out_of_order, 0n);
    // Part and row-group ranges in meta.json follow the sort order; a trace lives in one part.
    for (const [i, g] of rowGroups.entries()) {
      assert.ok(g.minTraceId <= g.maxTraceId);
      if (i > 0) assert.ok(rowGroups[i - 1]!.maxTraceId <= g.minTraceId);
    }
    for (const [i, p] of meta.parts.entries()) {
      if (i > 0) assert.ok(meta.parts[i - 1]!.maxTraceId < p.minTraceId, 'parts do not share a trace');
    }
  } finally {
    await h.dispose();
  }
});

test('a trace split across two blocks is merged and de-duplicated', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const id = toHex(traceId);
    const root = basicSpan(traceId, { name: 'root' });
    const a = basicSpan(traceId, { parent: root.spanId, name: 'a', start: BASE_NS + 10n });
    const b = basicSpan(traceId, { parent: root.spanId, name: 'b', start: BASE_NS + 20n });
    const other = randomBytes(16);
    await h.store.writeBlock('t', sortTraces([{ traceId: id, spans: [stored(root), stored(a)] }, { traceId: toHex(other), spans: [stored(basicSpan(other))] }]));
    // The second block repeats `a` (a replayed WAL record) and adds `b`.
    await h.store.writeBlock('t', [{ traceId: id, spans: [stored(a), stored(b)] }]);
    const found = await h.store.findTrace('t', id);
    assert.equal(found.blocksSearched, 2);
    assert.deepEqual(found.spans.map((s) => s.span.name).sort(), ['a', 'b', 'root']);
  } finally {
    await h.dispose();
  }
});

test('tenants are kept apart', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    await h.store.writeBlock('tenant-a', [{ traceId: toHex(traceId), spans: [stored(basicSpan(traceId))] }]);
    assert.equal((await h.store.findTrace('tenant-a', toHex(traceId))).spans.length, 1);
    assert.deepEqual(await h.store.findTrace('tenant-b', toHex(traceId)), { spans: [], inspectedBytes: 0, blocksSearched: 0 });
  } finally {
    await h.dispose();
  }
});

test('unknown and malformed trace IDs find nothing and search no block', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    await h.store.writeBlock('t', [{ traceId: toHex(traceId), spans: [stored(basicSpan(traceId))] }]);
    assert.equal((await h.store.findTrace('t', toHex(randomBytes(16)))).spans.length, 0);
    assert.equal((await h.store.findTrace('t', "zz' OR 1=1 --")).blocksSearched, 0);
    assert.equal((await h.store.findTrace('t', '')).blocksSearched, 0);
  } finally {
    await h.dispose();
  }
});

test('findTrace with a time range skips blocks outside [start, end]', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const id = toHex(traceId);
    const early = basicSpan(traceId, { name: 'early', start: BASE_NS });
    const late = basicSpan(traceId, { name: 'late', parent: early.spanId, start: BASE_NS + 5n * HOUR_NS });
    await h.store.writeBlock('t', [{ traceId: id, spans: [stored(early)] }]);
    await h.store.writeBlock('t', [{ traceId: id, spans: [stored(late)] }]);
    const sec = (ns: bigint): number => Number(ns / 1_000_000_000n);

    const all = await h.store.findTrace('t', id);
    assert.equal(all.blocksSearched, 2);

    const first = await h.store.findTrace('t', id, { startUnixSec: sec(BASE_NS) - 60, endUnixSec: sec(BASE_NS) + 60 });
    assert.equal(first.blocksSearched, 1);
    assert.deepEqual(first.spans.map((s) => s.span.name), ['early']);

    const second = await h.store.findTrace('t', id, { startUnixSec: sec(BASE_NS + 4n * HOUR_NS) });
    assert.deepEqual(second.spans.map((s) => s.span.name), ['late']);

    const onlyEnd = await h.store.findTrace('t', id, { endUnixSec: sec(BASE_NS + HOUR_NS) });
    assert.deepEqual(onlyEnd.spans.map((s) => s.span.name), ['early']);

    // `end` is inclusive to the second: a span starting within that second is in range.
    const edge = await h.store.findTrace('t', id, { startUnixSec: sec(BASE_NS + 5n * HOUR_NS), endUnixSec: sec(BASE_NS + 5n * HOUR_NS) });
    assert.deepEqual(edge.spans.map((s) => s.span.name), ['late']);

    const none = await h.store.findTrace('t', id, { startUnixSec: sec(BASE_NS + 10n * HOUR_NS), endUnixSec: sec(BASE_NS + 11n * HOUR_NS) });
    assert.equal(none.blocksSearched, 0);
    assert.equal(none.spans.length, 0);
  } finally {
    await h.dispose();
  }
});

test('reopening the same directory sees the same blocks and their data', async () => {
  const h = await openHarness();
  try {
    const traces = sortTraces(
      Array.from({ length: 20 }, () => {
        const traceId = randomBytes(16);
        return { traceId: toHex(traceId), spans: [stored(basicSpan(traceId)), stored(basicSpan(traceId, { start: BASE_NS + 5n }))] };
      }),
    );
    const m1 = await h.store.writeBlock('a', traces.slice(0, 10));
    const m2 = await h.store.writeBlock('b', traces.slice(10));
    const before = await h.store.findTrace('b', traces[15]!.traceId);
    const bytes = h.store.diskBytes();

    const reopened = await h.reopen();
    assert.deepEqual(reopened.tenants(), ['a', 'b']);
    assert.deepEqual(reopened.blocks('a'), [m1]);
    assert.deepEqual(reopened.blocks('b'), [m2]);
    assert.equal(reopened.diskBytes(), bytes);
    const after = await reopened.findTrace('b', traces[15]!.traceId);
    assert.deepStrictEqual(canonical(after.spans), canonical(before.spans));
    for (const t of traces.slice(0, 10)) assert.equal((await reopened.findTrace('a', t.traceId)).spans.length, 2, 'bloom reloaded without false negatives');
  } finally {
    await h.dispose();
  }
});

test('open deletes leftover block directories without meta.json and stale staging files', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const kept = await h.store.writeBlock('t', [{ traceId: toHex(traceId), spans: [stored(basicSpan(traceId))] }]);
    const leftover = join(h.dir, 't', randomUUID());
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, 'data.parquet'), 'half a parquet file');
    await writeFile(join(leftover, 'bloom.bin'), 'x');
    const staging = await h.backend.stagingDir();
    await writeFile(join(staging, 'orphan.spans.ndjson'), '{}');

    const reopened = await h.reopen();
    assert.equal(existsSync(leftover), false, 'the incomplete block is gone');
    assert.deepEqual(await readdir(staging), [], 'staging is emptied');
    assert.deepEqual(reopened.blocks('t'), [kept]);
    assert.deepEqual(await readdir(join(h.dir, 't')), [kept.blockId]);
  } finally {
    await h.dispose();
  }
});

test('a lost bloom.bin is rebuilt from the block on open', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const meta = await h.store.writeBlock('t', [{ traceId: toHex(traceId), spans: [stored(basicSpan(traceId))] }]);
    await h.backend.delete(`t/${meta.blockId}/bloom.bin`);
    const reopened = await h.reopen();
    assert.equal((await reopened.findTrace('t', toHex(traceId))).spans.length, 1);
    assert.ok(existsSync(join(h.dir, 't', meta.blockId, 'bloom.bin')));
  } finally {
    await h.dispose();
  }
});

test('writeBlock refuses unsorted input and leaves nothing behind', async () => {
  const h = await openHarness();
  try {
    const t1 = randomBytes(16);
    const t2 = randomBytes(16);
    const traces = sortTraces([
      { traceId: toHex(t1), spans: [stored(basicSpan(t1))] },
      { traceId: toHex(t2), spans: [stored(basicSpan(t2))] },
    ]).reverse();
    await assert.rejects(h.store.writeBlock('t', traces), /sorted by trace ID/);
    await assert.rejects(h.store.writeBlock('t', []), /no spans/);
    assert.deepEqual(h.store.blocks('t'), []);
    assert.deepEqual(await readdir(await h.backend.stagingDir()), []);
    assert.deepEqual(await h.backend.list('t'), []);
  } finally {
    await h.dispose();
  }
});

test('writeBlock accepts an async iterable', async () => {
  const h = await openHarness();
  try {
    const ids = Array.from({ length: 5 }, () => randomBytes(16)).sort(Buffer.compare);
    async function* traces(): AsyncGenerator<{ traceId: string; spans: StoredSpan[] }> {
      for (const id of ids) {
        await new Promise((r) => setTimeout(r, 1));
        yield { traceId: toHex(id), spans: [stored(basicSpan(id))] };
      }
    }
    const meta = await h.store.writeBlock('t', traces());
    assert.equal(meta.traceCount, 5);
  } finally {
    await h.dispose();
  }
});
