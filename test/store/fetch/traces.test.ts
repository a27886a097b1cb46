// The traces fetch mode over a real Store: heads and blocks merged newest first, the
// caller's floor, traces whose spans lie in several blocks, blocks released when the
// caller leaves, every trace in a range, and head traces ruled out before they are read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { toHex } from '../../../src/otlp/model.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import type { FetchedTrace, FetchTracesRequest, TraceFilter } from '../../../src/store/fetch/request.js';
import { batchOf, newTraceId, span } from '../../helpers/spans.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const TENANT = 'fetch';

let dir: string;
let store: Store;

async function openStore(path: string): Promise<Store> {
  const config = loadConfig({
    env: {},
    overrides: [
      { path: ['storage', 'path'], value: path },
      { path: ['storage', 'retention'], value: '36500d' },
    ],
  });
  return Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
}

/** A trace of two spans (root and child) starting `at` seconds after T0, in `service`. */
async function addTrace(s: Store, at: number, service = 'svc', name = 'op'): Promise<string> {
  const traceId = newTraceId();
  const root = span({ traceId, name, startUnixNano: T0 + BigInt(at) * S, durationNano: S / 2n });
  const child = span({ traceId, parentSpanId: root.spanId, name: 'child', startUnixNano: root.startTimeUnixNano + 1000n });
  await s.append(TENANT, batchOf(service, [root, child]));
  return toHex(traceId);
}

function request(over: Partial<FetchTracesRequest> = {}): FetchTracesRequest {
  return {
    kind: 'traces',
    conditions: [],
    allConditions: false,
    filter: null,
    secondPass: 'all',
    limit: 4,
    order: 'most-recent-first',
    maxBytesInspected: 0,
    overLimit: () => new Error('over the limit'),
    ...over,
  };
}

async function all(s: Store, req: FetchTracesRequest): Promise<FetchedTrace[]> {
  const out: FetchedTrace[] = [];
  for await (const t of s.fetch(TENANT, req)) out.push(t);
  return out;
}

const byService = (service: string): TraceFilter => ({
  type: 'some',
  filter: { type: 'condition', condition: { field: { type: 'attribute', scope: 'resource', name: 'service.name' }, op: '=', value: { t: 'string', v: service } } },
});

/** IDs added, oldest first: 0–14 in three blocks of five, 15–19 in the head. */
const ids: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-fetch-traces-'));
  store = await openStore(join(dir, 'store'));
  for (let block = 0; block < 3; block++) {
    for (let i = 0; i < 5; i++) ids.push(await addTrace(store, block * 5 + i));
    await store.flush(TENANT);
  }
  for (let i = 15; i < 20; i++) ids.push(await addTrace(store, i));
  assert.equal(store.blocks.blocks(TENANT).length, 3);
});

after(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('traces come newest first from heads and blocks alike, each once, keyed no earlier than its start', async () => {
  const got = await all(store, request());
  assert.deepEqual(
    got.map((t) => t.traceId),
    [...ids].reverse(),
  );
  for (let i = 1; i < got.length; i++) assert.ok(got[i]!.key <= got[i - 1]!.key);
  for (const t of got) assert.ok(t.key >= t.spans.reduce((m, s) => (s.span.startTimeUnixNano < m ? s.span.startTimeUnixNano : m), t.key));
});

test('the caller\'s floor ends the iteration before anything older is read', async () => {
  const floor = T0 + 13n * S;
  const fetched = store.fetch(TENANT, request({ limit: 2, keyFloor: () => floor }));
  const got: string[] = [];
  for await (const t of fetched) got.push(t.traceId);
  assert.deepEqual(got, ids.slice(13).reverse());
  assert.equal(fetched.stats.inspectedTraces, 7);
  assert.equal(fetched.stats.totalBlocks, 3);
});

test('a trace whose spans meet the filter only together, in two blocks, is found', async () => {
  const s = await openStore(join(dir, 'split'));
  try {
    const traceId = newTraceId();
    const a = span({ traceId, name: 'a', startUnixNano: T0, durationNano: S });
    await s.append(TENANT, batchOf('left', [a]));
    await addTrace(s, 1);
    await s.flush(TENANT);
    for (let i = 2; i < 6; i++) await addTrace(s, i);
    await s.flush(TENANT);
    await s.append(TENANT, batchOf('right', [span({ traceId, parentSpanId: a.spanId, name: 'b', startUnixNano: T0 + 1000n })]));
    for (let i = 6; i < 10; i++) await addTrace(s, i);
    await s.flush(TENANT);
    assert.equal(s.blocks.blocks(TENANT).length, 3);
    const got = await all(s, request({ filter: { type: 'and', args: [byService('left'), byService('right')] } }));
    assert.deepEqual(
      got.map((t) => t.traceId),
      [toHex(traceId)],
    );
    assert.equal(got[0]!.spans.length, 2);
  } finally {
    await s.close();
  }
});

test('leaving the iteration early lets the blocks it read go', async () => {
  const s = await openStore(join(dir, 'leave'));
  try {
    for (let i = 0; i < 4; i++) await addTrace(s, i);
    await s.flush(TENANT);
    for await (const t of s.fetch(TENANT, request({ limit: 1 }))) {
      assert.ok(t.traceId);
      break;
    }
    // Retention waits for the block's readers: it would wait forever for an iteration that kept it.
    const deleted = await s.blocks.applyRetention(TENANT, BigInt(Date.now()) * 1_000_000n);
    assert.equal(deleted.length, 1);
  } finally {
    await s.close();
  }
});

test('order none yields every trace overlapping the range once', async () => {
  const got = await all(store, request({ order: 'none', startUnixNano: T0 + 7n * S, endUnixNano: T0 + 17n * S }));
  assert.deepEqual(got.map((t) => t.traceId).sort(), ids.slice(7, 17).sort());
});

test('head traces whose bytes cannot meet the filter are never read', async () => {
  const s = await openStore(join(dir, 'bytes'));
  try {
    const wanted = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const id = await addTrace(s, i, 'svc', i % 10 === 3 ? 'GET /wanted' : 'GET /other');
      if (i % 10 === 3) wanted.add(id);
    }
    const filter: TraceFilter = { type: 'some', filter: { type: 'condition', condition: { field: { type: 'intrinsic', name: 'name' }, op: '=~', value: { t: 'string', v: 'GET /w.*' } } } };
    const fetched = s.fetch(TENANT, request({ filter }));
    const got: string[] = [];
    for await (const t of fetched) got.push(t.traceId);
    assert.deepEqual(new Set(got), wanted);
    assert.equal(fetched.stats.inspectedTraces, wanted.size);
  } finally {
    await s.close();
  }
});

test('a per-trace aggregate narrows block candidates to the traces meeting it, boundaries included', async () => {
  const s = await openStore(join(dir, 'aggregate'));
  try {
    // Server spans lasting 100ms, 150ms and 200ms on average; one trace's average sits exactly on the bound.
    const want: string[] = [];
    for (let i = 0; i < 12; i++) {
      const traceId = newTraceId();
      const ms = i % 4 === 0 ? 150n : i % 4 === 1 ? 100n : 20n;
      const root = span({ traceId, name: 'root', startUnixNano: T0 + BigInt(i) * S, durationNano: ms * 1_000_000n });
      const other = span({ traceId, parentSpanId: root.spanId, name: 'srv', startUnixNano: root.startTimeUnixNano + 1n, durationNano: ms * 1_000_000n });
      await s.append(TENANT, batchOf('svc', [root, other]));
      if (ms >= 100n) want.push(toHex(traceId));
    }
    await s.flush(TENANT);
    const filter: TraceFilter = {
      type: 'aggregate',
      filter: { type: 'condition', condition: { field: { type: 'intrinsic', name: 'kind' }, op: '=', value: { t: 'kind', v: 'server' } } },
      fn: 'avg',
      field: { type: 'intrinsic', name: 'duration' },
      op: '>=',
      value: { t: 'duration', v: 100_000_000n },
    };
    const fetched = s.fetch(TENANT, request({ filter, limit: 20 }));
    const got: string[] = [];
    for await (const t of fetched) got.push(t.traceId);
    assert.deepEqual(new Set(got), new Set(want));
    assert.equal(fetched.stats.inspectedTraces, want.length);
  } finally {
    await s.close();
  }
});
