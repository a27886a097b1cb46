// BlockStore over the S3 backend (a real S3-protocol server on loopback, real DuckDB):
// a store with an empty cache finds what another store wrote to the bucket; a trace
// lookup fetches the parts' footers and the row groups it reads, not whole parts; scans
// through the held engine fetch whole parts; blocks written before byte spans and trace
// indexes were recorded are read whole; compaction reads and replaces blocks in the bucket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import type { Counter } from 'prom-client';
import type { TraceSpans } from '../../../src/otlp/model.js';
import { BlockStore } from '../../../src/store/blocks/block-store.js';
import { groupsAdmitting, type BlockMeta } from '../../../src/store/blocks/meta.js';
import { normalize, subtract } from '../../../src/store/backend/intervals.js';
import { backendMetrics } from '../../../src/store/backend/metrics.js';
import { DuckEngine } from '../../../src/store/engine/duckdb.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { startS3Server, type S3Server } from '../../helpers/s3.js';
import { openS3Backend, type S3BackendFixture } from '../backend/fixtures.js';
import { canonical } from './fixtures.js';
import { generateTraces } from './workload.js';

const TENANT = 'single-tenant';
/** DuckDB's row groups are multiples of 2048 rows: several per part, several parts per block. */
const ROW_GROUP_SPANS = 2048;

let server: S3Server;
let engine: DuckEngine;
const opened: Array<{ store: BlockStore; fixture: S3BackendFixture }> = [];

before(async () => {
  server = await startS3Server();
  engine = await DuckEngine.open({ threads: 2, connections: 3 });
});
after(async () => {
  for (const { store, fixture } of opened) {
    await store.close();
    await fixture.dispose();
  }
  await engine.close();
  await server.stop();
});

/** A block store on the bucket under `prefix`, with a cache of its own (empty). */
async function openStore(prefix?: string, now?: () => number): Promise<{ store: BlockStore; prefix: string }> {
  const fixture = await openS3Backend(server, prefix === undefined ? {} : { prefix });
  const store = await BlockStore.open({ backend: fixture.backend, engine, rowGroupSpans: ROW_GROUP_SPANS, logger: silentLogger, ...(now && { now }) });
  opened.push({ store, fixture });
  return { store, prefix: fixture.prefix };
}

async function receivedBytes(fn: () => Promise<unknown>): Promise<number> {
  const value = async (c: Counter) => (await c.get()).values[0]?.value ?? 0;
  const before = await value(backendMetrics.receivedBytes);
  await fn();
  return (await value(backendMetrics.receivedBytes)) - before;
}

function spansOf(traces: readonly TraceSpans[], id: string): unknown {
  return canonical(traces.find((t) => t.traceId === id)!.spans);
}

test('a store with an empty cache reads what another wrote: a lookup fetches footers and the row groups it reads', async () => {
  const writer = await openStore();
  const traces = generateTraces(3000, { seed: 7 });
  const meta = await writer.store.writeBlock(TENANT, traces);
  assert.ok(meta.parts.length > 1 && meta.parts.every((p) => p.rowGroups.length > 2), 'several parts of several row groups');
  const keys = await server.keys(`${writer.prefix}/${TENANT}/${meta.blockId}/`);
  assert.deepEqual(
    keys.map((k) => k.slice(k.lastIndexOf('/') + 1)),
    ['bloom.bin', ...meta.parts.map((p) => p.file), 'meta.json', 'tags.json', 'trace-index.bin'].sort(),
  );

  const reader = await openStore(writer.prefix);
  assert.deepEqual(reader.store.blocks(TENANT), [meta]);
  const id = traces[1234]!.traceId;
  let found: Awaited<ReturnType<BlockStore['findTrace']>> | undefined;
  const fetched = await receivedBytes(async () => (found = await reader.store.findTrace(TENANT, id)));
  assert.deepEqual(canonical(found!.spans), spansOf(traces, id));
  // The block's trace index (read once, then kept in memory), and of the parts that may
  // hold the ID their footer regions and the row groups admitting it.
  const parts = meta.parts.filter((p) => p.minTraceId <= id && id <= p.maxTraceId);
  const needed = meta.traceIndex!.bytes + parts.reduce((n, p) => n + (p.bytes - p.footerOffset!) + groupsAdmitting(p, [id]).reduce((m, j) => m + p.rowGroups[j]!.length!, 0), 0);
  assert.ok(fetched >= needed, `fetched ${fetched} bytes, fewer than the ${needed} the lookup reads`);
  // Missing pieces less than 64 KiB apart are fetched together.
  assert.ok(fetched <= needed + 64 * 1024 * parts.length, `fetched ${fetched} bytes for a lookup that reads ${needed}`);
  assert.ok(fetched < parts.reduce((n, p) => n + p.bytes, 0) / 2, 'far less than the parts');

  // The same lookup again: all on disk.
  assert.equal(await receivedBytes(() => reader.store.findTrace(TENANT, id)), 0);

  // DuckDB reads nothing but those ranges: garbage everywhere else in the cached files
  // (the Parquet magic at the start included) changes nothing.
  const backend = opened.at(-1)!.fixture.backend;
  for (const p of parts) {
    const wanted = normalize([[p.footerOffset!, p.bytes], ...groupsAdmitting(p, [id]).map((j) => [p.rowGroups[j]!.offset!, p.rowGroups[j]!.offset! + p.rowGroups[j]!.length!] as const)]);
    const file = await backend.readable(`${TENANT}/${meta.blockId}/${p.file}`, { size: p.bytes, ranges: [] });
    const fh = await open(file.path, 'r+');
    for (const [start, end] of subtract([[0, p.bytes]], wanted)) await fh.write(Buffer.alloc(end - start, 0xab), 0, end - start, start);
    await fh.close();
    file.release();
  }
  assert.deepEqual(canonical((await reader.store.findTrace(TENANT, id)).spans), spansOf(traces, id));

  // Many traces at once, in every column set, across the parts.
  const ids = traces.filter((_, i) => i % 97 === 0).map((t) => t.traceId);
  for (const opts of [{}, { slim: true }, { noEvents: true }]) {
    const many = await reader.store.findTraces(TENANT, ids, opts);
    assert.equal(many.traces.size, ids.length);
    if (Object.keys(opts).length === 0) for (const t of ids) assert.deepEqual(canonical(many.traces.get(t)!), spansOf(traces, t));
  }
});

test('scans through the held engine fetch the parts they name, whole', async () => {
  const writer = await openStore();
  const traces = generateTraces(2000, { seed: 8 });
  const meta = await writer.store.writeBlock(TENANT, traces);
  const reader = await openStore(writer.prefix);
  const fetched = await receivedBytes(() =>
    reader.store.withBlocks(TENANT, {}, async (blocks, held) => {
      const names = blocks.flatMap((b) => b.parts.map((p) => `'${p.path}'`));
      const [row] = await held.all<{ spans: bigint; traces: bigint }>(`SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces FROM read_parquet([${names.join(', ')}])`);
      assert.equal(Number(row!.spans), meta.spanCount);
      assert.equal(Number(row!.traces), meta.traceCount);
    }),
  );
  assert.equal(fetched, meta.sizeBytes, 'every part, once');
  // Search's own path: candidates from a scan, then their spans.
  const names = await reader.store.withParts(TENANT, {}, (parts, held) =>
    held.all<{ name: string }>(`SELECT DISTINCT name FROM read_parquet([${parts.map((p) => `'${p.path}'`).join(', ')}]) ORDER BY name`),
  );
  assert.deepEqual(
    names.map((r) => r.name),
    [...new Set(traces.flatMap((t) => t.spans.map((s) => s.span.name)))].sort(),
  );
});

test('a block written before row-group byte spans and trace indexes were recorded is fetched whole, and read right', async () => {
  const writer = await openStore();
  const traces = generateTraces(1500, { seed: 9 });
  const meta = await writer.store.writeBlock(TENANT, traces);
  // Its meta.json as an older Skein wrote it, without its trace index.
  const old = JSON.parse(JSON.stringify(meta)) as BlockMeta;
  delete old.traceIndex;
  await opened.at(-1)!.fixture.backend.delete(`${TENANT}/${meta.blockId}/trace-index.bin`);
  for (const p of old.parts) {
    delete p.footerOffset;
    for (const g of p.rowGroups) {
      delete g.offset;
      delete g.length;
    }
  }
  const fixture = opened.at(-1)!.fixture;
  await fixture.backend.write(`${TENANT}/${meta.blockId}/meta.json`, Buffer.from(JSON.stringify(old)));

  const reader = await openStore(writer.prefix);
  const id = traces[700]!.traceId;
  let spans: unknown;
  const fetched = await receivedBytes(async () => (spans = canonical((await reader.store.findTrace(TENANT, id)).spans)));
  assert.deepEqual(spans, spansOf(traces, id));
  const part = meta.parts.find((p) => p.minTraceId <= id && id <= p.maxTraceId)!;
  assert.equal(fetched, part.bytes);
});

test('compaction reads its inputs from the bucket, marks them compacted there, and the sweep deletes them after the grace', async () => {
  const clock = { now: Date.now() };
  const { store, prefix } = await openStore(undefined, () => clock.now);
  const batches = [1, 2, 3].map((seed) => generateTraces(300, { seed: 100 + seed }));
  for (const b of batches) await store.writeBlock(TENANT, b);
  const before = store.blocks(TENANT).map((m) => m.blockId);
  const out = await store.compactOnce(TENANT, { windowMs: 24 * 3_600_000, maxBlockBytes: 1 << 30, minInputBlocks: 3 });
  assert.ok(out);
  assert.equal(out.spanCount, batches.reduce((n, b) => n + b.reduce((m, t) => m + t.spans.length, 0), 0));
  const blocksInBucket = async () => new Set((await server.keys(`${prefix}/${TENANT}/`)).map((k) => k.split('/')[2]).filter((name) => !name!.startsWith('~')));
  // Other instances may still read the inputs until their next poll: each is marked, not deleted.
  assert.deepEqual([...(await blocksInBucket())].sort(), [out.blockId, ...before].sort());
  for (const id of before) assert.ok((await server.keys(`${prefix}/${TENANT}/${id}/compacted.json`)).length === 1, `${id} is marked compacted`);
  clock.now += 24 * 3_600_000;
  await store.sweep(TENANT);
  assert.deepEqual([...(await blocksInBucket())], [out.blockId], `inputs ${before.join(', ')} are gone from the bucket`);
  const reader = await openStore(prefix);
  const id = batches[1]![17]!.traceId;
  assert.deepEqual(canonical((await reader.store.findTrace(TENANT, id)).spans), spansOf(batches[1]!, id));
});
