// Stores sharing one backend as instances of a cluster share a bucket (each with its
// own data directory for the WAL, the blocks in one directory through LocalBackends
// marked shared): the block list poll on its timer, compaction on the compactor only
// (StoreOptions.isCompactor), the querier role, and the lease refusing a store without
// conditional writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { toHex } from '../../src/otlp/model.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { LocalBackend } from '../../src/store/backend/local.js';
import { Store, type StoreOptions } from '../../src/store/store.js';
import { BendingBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/poll.js';
import { batchOf, newTraceId, span } from '../helpers/spans.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const TENANT = 'cluster';

interface Bucket {
  root: string;
  /** Opens an instance with a data directory of its own over the shared blocks directory. */
  open(name: string, opts?: Partial<StoreOptions>, storage?: Array<{ path: string[]; value: string | number }>): Promise<Store>;
  dispose(): Promise<void>;
}

async function bucket(): Promise<Bucket> {
  const root = await mkdtemp(join(tmpdir(), 'skein-cluster-store-test-'));
  const stores: Store[] = [];
  return {
    root,
    async open(name, opts = {}, storage = []) {
      const config = loadConfig({
        env: {},
        overrides: [
          { path: ['storage', 'path'], value: join(root, name) },
          { path: ['storage', 'retention'], value: '36500d' },
          { path: ['storage', 'compaction', 'min_input_blocks'], value: 2 },
          ...storage.map((o) => ({ path: ['storage', ...o.path], value: o.value })),
        ],
      });
      const store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger, backend: new LocalBackend(join(root, 'bucket'), { shared: true }), ...opts });
      stores.push(store);
      return store;
    },
    async dispose() {
      for (const s of stores) await s.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Appends a two-span trace starting `at` seconds after T0 and cuts it into a block; returns its ID. */
async function writeTrace(s: Store, at: number): Promise<string> {
  const traceId = newTraceId();
  const root = span({ traceId, name: 'root', startUnixNano: T0 + BigInt(at) * S, durationNano: S / 2n });
  const child = span({ traceId, parentSpanId: root.spanId, name: 'child', startUnixNano: root.startTimeUnixNano + 1000n });
  await s.append(TENANT, batchOf('svc', [root, child]));
  await s.flush(TENANT);
  return toHex(traceId);
}

test('an instance polls the block list on its timer and reads the blocks another wrote', async () => {
  const b = await bucket();
  try {
    const writer = await b.open('writer');
    const reader = await b.open('reader', {}, [{ path: ['blocklist_poll_interval'], value: '50ms' }]);
    reader.start();
    const id = await writeTrace(writer, 1);
    const found = await waitFor('the reader to poll the new block', async () => {
      const t = await reader.findTrace(TENANT, id);
      return t.spans.length > 0 && t;
    });
    assert.equal(found.spans.length, 2);
  } finally {
    await b.dispose();
  }
});

test('only the compactor compacts; the others drop the inputs and read the output', async () => {
  const b = await bucket();
  try {
    const ingester = await b.open('ingester', { isCompactor: () => false });
    const compactor = await b.open('compactor', { isCompactor: async () => true });
    const ids = [await writeTrace(ingester, 1), await writeTrace(ingester, 2), await writeTrace(ingester, 3)];
    await ingester.runMaintenance();
    assert.equal(ingester.blocks.blocks(TENANT).length, 3, 'not the compactor: nothing merged');

    await compactor.pollBlocks();
    await compactor.runMaintenance();
    const [out] = compactor.blocks.blocks(TENANT);
    assert.equal(compactor.blocks.blocks(TENANT).length, 1);
    assert.equal(out!.spanCount, 6);

    await ingester.pollBlocks();
    assert.deepEqual(
      ingester.blocks.blocks(TENANT).map((m) => m.blockId),
      [out!.blockId],
    );
    for (const id of ids) assert.equal((await ingester.findTrace(TENANT, id)).spans.length, 2);
  } finally {
    await b.dispose();
  }
});

test('a querier has no WAL or head, refuses spans, never compacts, and reads what others write', async () => {
  const b = await bucket();
  try {
    const writer = await b.open('writer', { isCompactor: () => false });
    const first = await writeTrace(writer, 1);
    await writeTrace(writer, 2);
    const querier = await b.open('querier', { role: 'querier' });
    assert.equal(existsSync(join(b.root, 'querier', 'wal')), false, 'no WAL directory');
    await assert.rejects(querier.append(TENANT, batchOf('svc', [span({ traceId: newTraceId(), name: 'x', startUnixNano: T0 })])), /querier.*stores no spans/);
    assert.deepEqual(querier.tenantIds(), []);
    assert.deepEqual(await querier.heads(TENANT), []);
    assert.equal((await querier.findTrace(TENANT, first)).spans.length, 2, 'the blocks written before it opened');

    const later = await writeTrace(writer, 3);
    await querier.pollBlocks();
    assert.equal((await querier.findTrace(TENANT, later)).spans.length, 2, 'and those written after, once polled');
    await querier.runMaintenance();
    assert.equal(querier.blocks.blocks(TENANT).length, 3, 'a querier never compacts');
    await querier.flush();
  } finally {
    await b.dispose();
  }
});

test('cluster.compactor: lease over a store that ignores conditional writes is a start-up error', async () => {
  const b = await bucket();
  try {
    const ignoring = new BendingBackend(new LocalBackend(join(b.root, 'bucket'), { shared: true }));
    ignoring.ignoreConditions = true;
    await assert.rejects(b.open('a', { backend: ignoring, compactionLease: { holder: '10.1.2.3:4317', durationMs: 60_000 } }), (err: Error) => {
      assert.match(err.message, /does not honour conditional writes/);
      assert.match(err.message, /cluster\.compactor: "10\.1\.2\.3:4317"/);
      return true;
    });
    // With conditional writes honoured, the holder of the lease compacts.
    const holder = await b.open('holder', { compactionLease: { holder: 'holder:4317', durationMs: 60_000 } });
    holder.start();
    await writeTrace(holder, 1);
    await writeTrace(holder, 2);
    await waitFor('the lease holder to compact', async () => {
      await holder.runMaintenance();
      return holder.blocks.blocks(TENANT).length === 1;
    });
  } finally {
    await b.dispose();
  }
});
