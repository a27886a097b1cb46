// Two instances over one shared backend (two BlockStores over one directory, each
// through its own LocalBackend marked shared, as two processes over one bucket): the
// block list poll, the index the compactor writes and what a poll costs with it,
// compaction marking its inputs and the grace before they go, and blocks without
// meta.json that are another instance's write in progress. Grace periods and index
// ages are measured with a clock the test moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, type TraceSpans } from '../../../src/otlp/model.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import type { Backend } from '../../../src/store/backend/backend.js';
import { LocalBackend } from '../../../src/store/backend/local.js';
import { DuckEngine } from '../../../src/store/engine/duckdb.js';
import { BlockStore } from '../../../src/store/blocks/block-store.js';
import { parseBlockIndex } from '../../../src/store/blocks/block-index.js';
import { CountingBackend } from '../../helpers/backends.js';
import { BASE_NS, HOUR_NS, basicSpan, sortTraces, stored } from './fixtures.js';

const POLL_MS = 15_000;
const GRACE_MS = 2 * POLL_MS + 60_000;
const POLICY = { windowMs: 3_600_000, maxBlockBytes: 512 * 1024 * 1024, minInputBlocks: 3 };
const WINDOW_START = (BASE_NS / HOUR_NS) * HOUR_NS;

interface Cluster {
  dir: string;
  engine: DuckEngine;
  clock: { now: number };
  /** The compactor. */
  a: BlockStore;
  b: BlockStore;
  /** What b asks of the backend. */
  bBackend: CountingBackend;
  open(backend?: Backend): Promise<BlockStore>;
  dispose(): Promise<void>;
}

async function openCluster(): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-blocklist-test-'));
  const engine = await DuckEngine.open({ threads: 2, connections: 3 });
  const clock = { now: Date.now() };
  const stores: BlockStore[] = [];
  const open = async (backend: Backend = new LocalBackend(dir, { shared: true })): Promise<BlockStore> => {
    const s = await BlockStore.open({ backend, engine, rowGroupSpans: 1000, logger: silentLogger, pollIntervalMs: POLL_MS, now: () => clock.now });
    stores.push(s);
    return s;
  };
  const bBackend = new CountingBackend(new LocalBackend(dir, { shared: true }));
  return {
    dir,
    engine,
    clock,
    a: await open(),
    b: await open(bBackend),
    bBackend,
    open,
    async dispose() {
      for (const s of stores) await s.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

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

function ids(store: BlockStore, tenant: string): string[] {
  return store.blocks(tenant).map((m) => m.blockId).sort();
}

test('a block one instance writes is read by another after its next poll, and goes there once deleted', async () => {
  const c = await openCluster();
  try {
    const traces = tracesAt(WINDOW_START, 5);
    const meta = await c.b.writeBlock('t', traces);
    assert.deepEqual(ids(c.b, 't'), [meta.blockId], 'the writer sees its block at once');
    assert.equal((await c.a.findTrace('t', traces[0]!.traceId)).spans.length, 0, 'the other has not polled yet');

    await c.a.refresh();
    assert.deepEqual(c.a.blocks('t'), [meta]);
    for (const t of traces) assert.equal((await c.a.findTrace('t', t.traceId)).spans.length, 2);

    // Retention on the compactor deletes at once; the other drops the block at its poll.
    assert.deepEqual(await c.a.applyRetention('t', BigInt(meta.maxEndUnixNano) + 1n), [meta.blockId]);
    assert.deepEqual(ids(c.b, 't'), [meta.blockId]);
    await c.b.refresh();
    assert.deepEqual(ids(c.b, 't'), []);
    assert.equal((await c.b.findTrace('t', traces[0]!.traceId)).spans.length, 0);
  } finally {
    await c.dispose();
  }
});

test('the compactor writes each tenant’s index; a poll with a fresh index reads one object per tenant', async () => {
  const c = await openCluster();
  try {
    const m1 = await c.a.writeBlock('t1', tracesAt(WINDOW_START, 3));
    const m2 = await c.a.writeBlock('t2', tracesAt(WINDOW_START, 3));
    await c.a.refresh({ compactor: true });
    const index1 = parseBlockIndex(await new LocalBackend(c.dir).read('t1/~index.json'));
    assert.deepEqual(index1.blocks, [m1]);
    assert.deepEqual(index1.compacted, []);
    assert.ok(existsSync(join(c.dir, 't2', '~index.json')));

    // An instance starting now takes the metas from the indexes: no meta.json is read.
    const fresh = new CountingBackend(new LocalBackend(c.dir, { shared: true }));
    const late = await c.open(fresh);
    assert.deepEqual(late.blocks('t1'), [m1]);
    assert.deepEqual(late.blocks('t2'), [m2]);
    assert.deepEqual(fresh.reads.filter((k) => k.endsWith('meta.json')), []);
    assert.equal(fresh.listObjectsCalls, 0);

    // Nothing new: one read per tenant (its index), and a listing of its block IDs.
    await c.b.refresh();
    c.bBackend.reset();
    await c.b.refresh();
    assert.deepEqual(c.bBackend.reads.sort(), ['t1/~index.json', 't2/~index.json']);
    assert.equal(c.bBackend.listObjectsCalls, 0);

    // A block newer than the index is found by the listing: its meta.json and bloom are read.
    const m3 = await c.a.writeBlock('t1', tracesAt(WINDOW_START + 10n, 3));
    c.bBackend.reset();
    await c.b.refresh();
    assert.deepEqual(ids(c.b, 't1'), [m1.blockId, m3.blockId].sort());
    assert.deepEqual(c.bBackend.reads.sort(), ['t1/~index.json', `t1/${m3.blockId}/bloom.bin`, `t1/${m3.blockId}/meta.json`, 't2/~index.json'].sort());

    // The compactor indexes it at its next poll: one read per tenant again.
    await c.a.refresh({ compactor: true });
    assert.deepEqual(
      parseBlockIndex(await new LocalBackend(c.dir).read('t1/~index.json')).blocks.map((m) => m.blockId).sort(),
      [m1.blockId, m3.blockId].sort(),
    );
    c.bBackend.reset();
    await c.b.refresh();
    assert.deepEqual(c.bBackend.reads.sort(), ['t1/~index.json', 't2/~index.json']);

    // An index older than three poll intervals (its compactor gone) is not trusted: the tenant is listed in full.
    c.clock.now += 3 * POLL_MS + 1;
    c.bBackend.reset();
    await c.b.refresh();
    assert.equal(c.bBackend.listObjectsCalls, 2);
    assert.deepEqual(ids(c.b, 't1'), [m1.blockId, m3.blockId].sort(), 'the same blocks, found by listing');
    // A compactor rewrites an unchanged index as it ages, so it never goes stale.
    await c.a.refresh({ compactor: true });
    c.bBackend.reset();
    await c.b.refresh();
    assert.equal(c.bBackend.listObjectsCalls, 0);
  } finally {
    await c.dispose();
  }
});

test('compaction on a shared backend: inputs are marked, the other instance drops them and reads the output, and they go after the grace', async () => {
  const c = await openCluster();
  try {
    const all: TraceSpans[] = [];
    const inputs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const traces = tracesAt(WINDOW_START + BigInt(i) * 1_000_000n, 10);
      all.push(...traces);
      inputs.push((await c.b.writeBlock('t', traces)).blockId);
    }
    await c.a.refresh({ compactor: true });
    await c.b.refresh();
    assert.deepEqual(ids(c.a, 't'), [...inputs].sort());

    // A lookup on the compactor still holding the inputs when the grace has passed.
    const held = c.a.acquire('t', {});
    assert.equal(held.blocks.length, 3);
    const out = await c.a.compactOnce('t', POLICY);
    assert.ok(out);
    assert.deepEqual(ids(c.a, 't'), [out.blockId], 'the compactor drops the inputs at once');
    for (const id of inputs) assert.ok(existsSync(join(c.dir, 't', id, 'compacted.json')), 'each input is marked');
    const index = parseBlockIndex(await new LocalBackend(c.dir).read('t/~index.json'));
    assert.deepEqual(index.blocks.map((m) => m.blockId), [out.blockId]);
    assert.deepEqual([...index.compacted].sort(), [...inputs].sort());

    await c.b.refresh();
    assert.deepEqual(ids(c.b, 't'), [out.blockId], 'the other drops the inputs and sees the output');
    for (const t of all.slice(0, 10)) assert.equal((await c.b.findTrace('t', t.traceId)).spans.length, 2);

    // Not before the grace: other instances may still be reading them.
    assert.deepEqual(await c.a.sweep('t'), []);
    c.clock.now += GRACE_MS - 1;
    assert.deepEqual(await c.a.sweep('t'), []);
    for (const id of inputs) assert.ok(existsSync(join(c.dir, 't', id, 'meta.json')));
    c.clock.now += 1;
    assert.deepEqual(await c.a.sweep('t'), [], 'a lookup here still holds them');
    held.release();
    assert.deepEqual((await c.a.sweep('t')).sort(), [...inputs].sort());
    for (const id of inputs) assert.equal(existsSync(join(c.dir, 't', id)), false, 'deleted');
    assert.deepEqual(parseBlockIndex(await new LocalBackend(c.dir).read('t/~index.json')).compacted, []);

    // The other instance and a new one see the output only.
    await c.b.refresh();
    assert.deepEqual(ids(c.b, 't'), [out.blockId]);
    const late = await c.open();
    assert.deepEqual(ids(late, 't'), [out.blockId]);
    for (const t of all) assert.equal((await late.findTrace('t', t.traceId)).spans.length, 2);
  } finally {
    await c.dispose();
  }
});

test('a poller without an index skips blocks marked compacted', async () => {
  const c = await openCluster();
  try {
    for (let i = 0; i < 3; i++) await c.a.writeBlock('t', tracesAt(WINDOW_START + BigInt(i) * 1_000_000n, 4));
    const out = await c.a.compactOnce('t', POLICY);
    assert.ok(out);
    await new LocalBackend(c.dir).delete('t/~index.json');
    const late = await c.open();
    assert.deepEqual(ids(late, 't'), [out.blockId]);
  } finally {
    await c.dispose();
  }
});

test('a block without meta.json is left alone by other instances until an hour old; other names are not blocks', async () => {
  const c = await openCluster();
  try {
    const kept = await c.a.writeBlock('t', tracesAt(WINDOW_START, 2));
    // Another instance's write in progress: parts there, meta.json not yet.
    const writing = randomUUID();
    const raw = new LocalBackend(c.dir);
    await raw.write(`t/${writing}/data-0000.parquet`, Buffer.from('half a parquet file'));
    await raw.write('t/notes/readme.txt', Buffer.from('not a block'));
    await raw.write('t/stray.txt', Buffer.from('not a block either'));

    const started = await c.open();
    assert.deepEqual(ids(started, 't'), [kept.blockId]);
    assert.ok(existsSync(join(c.dir, 't', writing, 'data-0000.parquet')), 'a starting instance leaves it');
    await started.refresh({ compactor: true });
    assert.deepEqual(await started.sweep('t'), [], 'young: not swept');
    assert.ok(existsSync(join(c.dir, 't', writing)));

    c.clock.now += 2 * 3_600_000;
    await started.refresh({ compactor: true });
    assert.deepEqual(await started.sweep('t'), [writing]);
    assert.equal(existsSync(join(c.dir, 't', writing)), false);
    assert.ok(existsSync(join(c.dir, 't', 'notes', 'readme.txt')), 'names that are not block IDs are never touched');
    assert.ok(existsSync(join(c.dir, 't', 'stray.txt')));
    assert.deepEqual(ids(started, 't'), [kept.blockId]);
  } finally {
    await c.dispose();
  }
});

test('a block finished after the listing that found it incomplete is not swept', async () => {
  const c = await openCluster();
  try {
    const raw = new LocalBackend(c.dir);
    const late = randomUUID();
    await raw.write(`t/${late}/data-0000.parquet`, Buffer.from('x'));
    await c.a.refresh({ compactor: true });
    // Its writer finishes (it stalled for over an hour) before the sweep runs.
    await raw.write(`t/${late}/meta.json`, Buffer.from('{}'));
    c.clock.now += 2 * 3_600_000;
    assert.deepEqual(await c.a.sweep('t'), []);
    assert.ok(existsSync(join(c.dir, 't', late, 'meta.json')));
  } finally {
    await c.dispose();
  }
});

test('a read-only store polls but writes nothing', async () => {
  const c = await openCluster();
  try {
    const m = await c.a.writeBlock('t', tracesAt(WINDOW_START, 2));
    const reader = await BlockStore.open({ backend: new LocalBackend(c.dir, { shared: true }), engine: c.engine, rowGroupSpans: 1000, logger: silentLogger, readOnly: true });
    try {
      assert.deepEqual(reader.blocks('t'), [m]);
      await assert.rejects(reader.writeBlock('t', tracesAt(WINDOW_START, 1)), /read-only/);
      await assert.rejects(reader.compactOnce('t', POLICY), /read-only/);
      await assert.rejects(reader.applyRetention('t', 0n), /read-only/);
    } finally {
      await reader.close();
    }
  } finally {
    await c.dispose();
  }
});
