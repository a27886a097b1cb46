// Retention by size and for the disk (src/store/blocks/retention.ts): which blocks go,
// oldest first by their newest span's end, then by when they were written; and on real
// blocks, that the size limit deletes a tenant's oldest blocks and counts them by reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, type TraceSpans } from '../../../src/otlp/model.js';
import type { BlockMeta } from '../../../src/store/blocks/meta.js';
import { blocksOverSize, blocksToFree, byAge, type SizedBlock } from '../../../src/store/blocks/retention.js';
import { registry } from '../../../src/telemetry/metrics.js';
import { metricValue } from '../../helpers/metrics-text.js';
import { BASE_NS, HOUR_NS, basicSpan, openHarness, sortTraces, stored } from './fixtures.js';

function sized(id: string, maxEnd: bigint, bytes: number, createdAtMs = 0): SizedBlock {
  const meta: BlockMeta = {
    format: 'skein-parquet-v1',
    blockId: id,
    tenant: 't',
    minStartUnixNano: '0',
    maxEndUnixNano: maxEnd.toString(),
    spanCount: 1,
    traceCount: 1,
    sizeBytes: bytes,
    minTraceId: '0',
    maxTraceId: 'f',
    compactionLevel: 0,
    createdAt: new Date(createdAtMs).toISOString(),
    parts: [{ file: 'data-0000.parquet', minTraceId: '0', maxTraceId: 'f', spans: 1, bytes, rowGroups: [] }],
  };
  return { meta, bytes };
}

const ids = (blocks: readonly SizedBlock[]): string[] => blocks.map((b) => b.meta.blockId);

test('oldest first: by the newest span\'s end, then by when the block was written', () => {
  const blocks = [sized('late', 30n, 1), sized('tie-newer', 20n, 1, 2000), sized('early', 10n, 1), sized('tie-older', 20n, 1, 1000)];
  assert.deepEqual(
    [...blocks].sort((a, b) => byAge(a.meta, b.meta)).map((b) => b.meta.blockId),
    ['early', 'tie-older', 'tie-newer', 'late'],
  );
});

test('blocksOverSize deletes the oldest blocks until the rest fit, and nothing at 0 (no limit)', () => {
  const blocks = [sized('c', 30n, 100), sized('a', 10n, 100), sized('d', 40n, 100), sized('b', 20n, 100)];
  assert.deepEqual(ids(blocksOverSize(blocks, 250)), ['a', 'b']);
  assert.deepEqual(ids(blocksOverSize(blocks, 400)), []);
  assert.deepEqual(ids(blocksOverSize(blocks, 399)), ['a']);
  // A limit below the newest block deletes every block: it is a limit, not a hint.
  assert.deepEqual(ids(blocksOverSize(blocks, 50)), ['a', 'b', 'c', 'd']);
  assert.deepEqual(ids(blocksOverSize(blocks, 0)), []);
});

test('blocksToFree takes the oldest blocks until their bytes cover the need, never one at or past the floor', () => {
  const blocks = [sized('c', 30n, 100), sized('a', 10n, 100), sized('d', 40n, 100), sized('b', 20n, 100)];
  assert.deepEqual(ids(blocksToFree(blocks, 150, 1000n)), ['a', 'b']);
  assert.deepEqual(ids(blocksToFree(blocks, 100, 1000n)), ['a']);
  assert.deepEqual(ids(blocksToFree(blocks, 0, 1000n)), []);
  // The floor: blocks whose newest span ended at 30 or later stay, however much is needed.
  assert.deepEqual(ids(blocksToFree(blocks, 10_000, 30n)), ['a', 'b']);
  assert.deepEqual(ids(blocksToFree(blocks, 10_000, 0n)), []);
});

function tracesAt(start: bigint, count: number): TraceSpans[] {
  return sortTraces(
    Array.from({ length: count }, (_, i) => {
      const traceId = randomBytes(16);
      return { traceId: toHex(traceId), spans: [stored(basicSpan(traceId, { name: 'op', start: start + BigInt(i) * 1000n }))] };
    }),
  );
}

test('applySizeRetention deletes a tenant\'s oldest blocks until the rest fit, whatever order they were written in, and counts them as size', async () => {
  const h = await openHarness();
  try {
    // Written out of age order: the middle one first.
    const middle = await h.store.writeBlock('t', tracesAt(BASE_NS + 2n * HOUR_NS, 5));
    const oldest = await h.store.writeBlock('t', tracesAt(BASE_NS, 5));
    const newest = await h.store.writeBlock('t', tracesAt(BASE_NS + 4n * HOUR_NS, 5));
    const other = await h.store.writeBlock('other', tracesAt(BASE_NS, 5));
    const bytesOf = (m: BlockMeta): number => h.store.sizedBlocks(m.tenant).find((b) => b.meta.blockId === m.blockId)!.bytes;
    assert.equal(h.store.diskBytes('t'), bytesOf(middle) + bytesOf(oldest) + bytesOf(newest), 'a tenant\'s bytes are its blocks\' bytes');
    const before = metricValue(await registry.metrics(), 'skein_retention_deleted_blocks_total', { tenant: 't', reason: 'size' });

    assert.deepEqual(await h.store.applySizeRetention('t', h.store.diskBytes('t')), [], 'at the limit nothing goes');
    assert.deepEqual(await h.store.applySizeRetention('t', bytesOf(middle) + bytesOf(newest)), [oldest.blockId]);
    assert.deepEqual(await h.store.applySizeRetention('t', bytesOf(newest)), [middle.blockId]);
    assert.deepEqual(await h.store.applySizeRetention('t', 0), [], '0 is no limit');
    assert.deepEqual(h.store.blocks('t').map((m) => m.blockId), [newest.blockId]);
    for (const m of [oldest, middle]) assert.equal(existsSync(join(h.dir, 't', m.blockId)), false);
    assert.deepEqual(h.store.blocks('other').map((m) => m.blockId), [other.blockId], 'other tenants are untouched');

    const text = await registry.metrics();
    assert.equal(metricValue(text, 'skein_retention_deleted_blocks_total', { tenant: 't', reason: 'size' }) - before, 2);
    assert.equal(metricValue(text, 'skein_block_bytes', { tenant: 't' }), bytesOf(newest));
  } finally {
    await h.dispose();
  }
});
