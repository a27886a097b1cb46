// Compaction and retention on real blocks: what is merged, what is left alone,
// that reads see the same spans before and after, and that reads racing a
// compaction never fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, type StoredSpan, type TraceSpans } from '../../../src/otlp/model.js';
import { planCompaction } from '../../../src/store/blocks/compactor.js';
import type { BlockMeta } from '../../../src/store/blocks/meta.js';
import { BASE_NS, HOUR_NS, basicSpan, canonical, everyFieldTrace, openHarness, sortTraces, stored } from './fixtures.js';

const WINDOW_MS = 3_600_000;
const POLICY = { windowMs: WINDOW_MS, maxBlockBytes: 512 * 1024 * 1024, minInputBlocks: 3 };
/** Start of an hour-aligned window, so blocks land in the window the test means. */
const WINDOW_START = (BASE_NS / HOUR_NS) * HOUR_NS;

function tracesAt(start: bigint, count: number): TraceSpans[] {
  return sortTraces(
    Array.from({ length: count }, (_, i) => {
      const traceId = randomBytes(16);
      const root = basicSpan(traceId, { name: 'root', start: start + BigInt(i) * 1000n });
      const child = basicSpan(traceId, { name: 'child', parent: root.spanId, start: root.startTimeUnixNano + 10n });
      return { traceId: toHex(traceId), spans: [stored(root), stored(child)] };
    }),
  );
}

test('compaction merges the blocks of one window, leaves other windows alone, and reads are unchanged', async () => {
  const h = await openHarness({ rowGroupSpans: 50 });
  try {
    const tenant = 't';
    // A trace split across two blocks of the same window, with one span in both.
    const splitId = randomBytes(16);
    const root = basicSpan(splitId, { name: 'root', start: WINDOW_START + 100n });
    const mid = basicSpan(splitId, { name: 'mid', parent: root.spanId, start: WINDOW_START + 200n });
    const leaf = basicSpan(splitId, { name: 'leaf', parent: mid.spanId, start: WINDOW_START + 300n });
    const split = toHex(splitId);
    // Every field and value type, split across two inputs with its root in both: it is rewritten by the merge.
    const every = everyFieldTrace(WINDOW_START + 400n);
    const [everyRoot, everyChild] = every.spans as [StoredSpan, StoredSpan];

    const windowA = [
      await h.store.writeBlock(
        tenant,
        sortTraces([...tracesAt(WINDOW_START, 30), { traceId: split, spans: [stored(root), stored(mid)] }, { traceId: every.traceId, spans: [everyRoot] }]),
      ),
      await h.store.writeBlock(
        tenant,
        sortTraces([...tracesAt(WINDOW_START + 1000n, 30), { traceId: split, spans: [stored(mid), stored(leaf)] }, { traceId: every.traceId, spans: [everyRoot, everyChild] }]),
      ),
      await h.store.writeBlock(tenant, sortTraces([...tracesAt(WINDOW_START + HOUR_NS / 2n, 30)])),
    ];
    const windowB = await h.store.writeBlock(tenant, tracesAt(WINDOW_START + 2n * HOUR_NS, 30));
    // Alone in a window far in the future.
    const far = await h.store.writeBlock(tenant, tracesAt(WINDOW_START + 1000n * HOUR_NS, 2));

    const ids = new Set<string>([split, every.traceId]);
    for (const m of [...windowA, windowB]) {
      const rows = await h.engine.all<{ trace_id: string }>(`SELECT DISTINCT trace_id FROM read_parquet('${join(h.dir, tenant, m.blockId, 'data-*.parquet')}')`);
      for (const r of rows) ids.add(r.trace_id);
    }
    const before = new Map<string, unknown>();
    for (const id of ids) before.set(id, canonical((await h.store.findTrace(tenant, id)).spans));
    assert.equal((before.get(split) as unknown[]).length, 3);
    assert.deepStrictEqual(before.get(every.traceId), canonical(every.spans));

    const out = await h.store.compactOnce(tenant, POLICY);
    assert.ok(out, 'window A qualified');
    assert.equal(out.compactionLevel, 1);
    assert.equal(out.spanCount, windowA.reduce((n, m) => n + m.spanCount, 0) - 2, 'spans in two inputs are stored once');
    assert.equal(out.traceCount, 92);
    assert.equal(out.minStartUnixNano, windowA[0]!.minStartUnixNano);

    const remaining = h.store.blocks(tenant).map((m) => m.blockId).sort();
    assert.deepEqual(remaining, [out.blockId, windowB.blockId, far.blockId].sort());
    for (const m of windowA) assert.equal(existsSync(join(h.dir, tenant, m.blockId)), false, 'inputs deleted');

    for (const id of ids) {
      const found = await h.store.findTrace(tenant, id);
      assert.deepStrictEqual(canonical(found.spans), before.get(id), `trace ${id} reads the same after compaction`);
    }
    // The split trace now lives in the compacted block alone. (Counted in the files: findTrace's
    // blocksSearched also counts a block whose bloom filter gives a false positive, about 1 in 100.)
    const holding: string[] = [];
    for (const m of h.store.blocks(tenant)) {
      const [row] = await h.engine.all<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet('${join(h.dir, tenant, m.blockId, 'data-*.parquet')}') WHERE trace_id = '${split}'`);
      if (Number(row!.n) > 0) holding.push(m.blockId);
    }
    assert.deepEqual(holding, [out.blockId]);
    assert.deepStrictEqual(canonical((await h.store.findTrace(tenant, every.traceId)).spans), canonical(every.spans));

    // Nested sets of the merged trace are recomputed over all its spans.
    const nested = await h.engine.all<{ name: string; nested_set_left: number; nested_set_right: number; nested_set_parent: number }>(
      `SELECT name, nested_set_left, nested_set_right, nested_set_parent FROM read_parquet('${join(h.dir, tenant, out.blockId, 'data-*.parquet')}')
       WHERE trace_id = '${split}' ORDER BY nested_set_left`,
    );
    assert.deepEqual(nested, [
      { name: 'root', nested_set_left: 1, nested_set_right: 6, nested_set_parent: -1 },
      { name: 'mid', nested_set_left: 2, nested_set_right: 5, nested_set_parent: 1 },
      { name: 'leaf', nested_set_left: 3, nested_set_right: 4, nested_set_parent: 2 },
    ]);

    // Nothing else qualifies: window A has one block, window B one, the far one is alone.
    assert.equal(await h.store.compactOnce(tenant, POLICY), undefined);

    // Reopen: the output is a normal block.
    const reopened = await h.reopen();
    assert.deepEqual(reopened.blocks(tenant).map((m) => m.blockId).sort(), remaining);
  } finally {
    await h.dispose();
  }
});

test('compaction output level is one above the highest input; it repeats until nothing qualifies', async () => {
  const h = await openHarness();
  try {
    for (let i = 0; i < 4; i++) await h.store.writeBlock('t', tracesAt(WINDOW_START + BigInt(i) * 1_000_000n, 5), { compactionLevel: i === 0 ? 3 : 0 });
    const policy = { ...POLICY, minInputBlocks: 2 };
    const first = await h.store.compactOnce('t', policy);
    assert.ok(first);
    let last = first;
    let passes = 1;
    for (let next = await h.store.compactOnce('t', policy); next; next = await h.store.compactOnce('t', policy)) {
      last = next;
      passes++;
    }
    assert.ok(passes <= 3);
    assert.equal(h.store.blocks('t').length, 1);
    assert.equal(last.spanCount, 40);
    assert.equal(last.compactionLevel, 4, 'max(inputs) + 1, and the level-3 input is merged last');
  } finally {
    await h.dispose();
  }
});

test('planCompaction respects maxBlockBytes and minInputBlocks and takes the oldest window first', () => {
  const meta = (id: string, startNs: bigint, sizeBytes: number, level = 0): BlockMeta => ({
    format: 'skein-parquet-v1',
    blockId: id,
    tenant: 't',
    minStartUnixNano: startNs.toString(),
    maxEndUnixNano: (startNs + 1n).toString(),
    spanCount: 1,
    traceCount: 1,
    sizeBytes,
    minTraceId: '0',
    maxTraceId: 'f',
    compactionLevel: level,
    createdAt: new Date(0).toISOString(),
    parts: [{ file: 'data-0000.parquet', minTraceId: '0', maxTraceId: 'f', spans: 1, bytes: sizeBytes, rowGroups: [] }],
  });
  const w0 = WINDOW_START;
  const w1 = WINDOW_START + HOUR_NS;
  const blocks = [meta('big', w0, 1000), meta('a', w0 + 1n, 100), meta('b', w0 + 2n, 200), meta('c', w1, 10), meta('d', w1 + 5n, 10), meta('e', w1 + 9n, 10)];
  const ids = (p: BlockMeta[] | undefined): string[] | undefined => p?.map((m) => m.blockId).sort();
  // Window 0 has only two blocks under the size limit, so window 1 goes.
  assert.deepEqual(ids(planCompaction(blocks, { windowMs: WINDOW_MS, maxBlockBytes: 1000, minInputBlocks: 3 })), ['c', 'd', 'e']);
  // With two inputs enough, the older window goes first.
  assert.deepEqual(ids(planCompaction(blocks, { windowMs: WINDOW_MS, maxBlockBytes: 1000, minInputBlocks: 2 })), ['a', 'b']);
  // Inputs that would not fit together under maxBlockBytes are not merged.
  assert.deepEqual(ids(planCompaction(blocks, { windowMs: WINDOW_MS, maxBlockBytes: 250, minInputBlocks: 2 })), ['c', 'd', 'e']);
  assert.equal(planCompaction(blocks, { windowMs: WINDOW_MS, maxBlockBytes: 25, minInputBlocks: 3 }), undefined);
  // One big window holds everything.
  assert.equal(planCompaction(blocks, { windowMs: 24 * WINDOW_MS, maxBlockBytes: 10_000, minInputBlocks: 6 })?.length, 6);
});

test('reads racing a compaction never fail and always see the whole trace', async () => {
  const h = await openHarness({ rowGroupSpans: 100 });
  try {
    const all: TraceSpans[] = [];
    for (let i = 0; i < 4; i++) {
      const traces = tracesAt(WINDOW_START + BigInt(i) * 1_000_000n, 200);
      all.push(...traces);
      await h.store.writeBlock('t', traces);
    }
    let stop = false;
    let reads = 0;
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const t = all[Math.floor(Math.random() * all.length)]!;
        const found = await h.store.findTrace('t', t.traceId);
        assert.equal(found.spans.length, 2, `trace ${t.traceId}`);
        reads++;
      }
    });
    const out = await h.store.compactOnce('t', { ...POLICY, minInputBlocks: 4 });
    stop = true;
    await Promise.all(readers);
    assert.ok(out);
    assert.ok(reads > 0);
    assert.equal(h.store.blocks('t').length, 1);
  } finally {
    await h.dispose();
  }
});

test('retention deletes exactly the blocks whose newest span ended before the cutoff', async () => {
  const h = await openHarness();
  try {
    const old1 = await h.store.writeBlock('t', tracesAt(WINDOW_START, 3));
    const old2 = await h.store.writeBlock('t', tracesAt(WINDOW_START + HOUR_NS, 3));
    const recent = await h.store.writeBlock('t', tracesAt(WINDOW_START + 5n * HOUR_NS, 3));
    const other = await h.store.writeBlock('other', tracesAt(WINDOW_START, 3));
    const cutoff = BigInt(old2.maxEndUnixNano) + 1n;

    assert.deepEqual((await h.store.applyRetention('t', cutoff)).sort(), [old1.blockId, old2.blockId].sort());
    assert.deepEqual(h.store.blocks('t').map((m) => m.blockId), [recent.blockId]);
    for (const m of [old1, old2]) assert.equal(existsSync(join(h.dir, 't', m.blockId)), false);
    assert.ok(existsSync(join(h.dir, 't', recent.blockId, 'meta.json')));
    assert.deepEqual(h.store.blocks('other').map((m) => m.blockId), [other.blockId], 'other tenants are untouched');

    // A block whose newest span ends exactly at the cutoff is kept.
    assert.deepEqual(await h.store.applyRetention('t', BigInt(recent.maxEndUnixNano)), []);
    assert.deepEqual(await h.store.applyRetention('t', BigInt(recent.maxEndUnixNano) + 1n), [recent.blockId]);
    assert.deepEqual(h.store.tenants(), ['other']);

    const reopened = await h.reopen();
    assert.deepEqual(reopened.blocks('t'), []);
    assert.equal(reopened.blocks('other').length, 1);
  } finally {
    await h.dispose();
  }
});
