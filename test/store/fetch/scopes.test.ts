// Store.fetch and findTrace in the scopes a peer answers in (request.ts FetchScope): `head`
// reads no block, `recent` the blocks this process published lately (not those it loaded
// from disk), and traces found are still read whole from every block.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { toHex } from '../../../src/otlp/model.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import type { FetchAggregateRequest, FetchScope, FetchTagValuesRequest, FetchTracesRequest } from '../../../src/store/fetch/request.js';
import { batchOf, newTraceId, span } from '../../helpers/spans.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const TENANT = 'scopes';

let dir: string;

async function openStore(): Promise<Store> {
  const config = loadConfig({
    env: {},
    overrides: [
      { path: ['storage', 'path'], value: join(dir, 'store') },
      { path: ['storage', 'retention'], value: '36500d' },
    ],
  });
  return Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
}

const limits = { maxBytesInspected: 0, overLimit: () => new Error('over the limit') };

const traces = (): FetchTracesRequest => ({ kind: 'traces', conditions: [], allConditions: false, filter: null, secondPass: 'all', limit: 10, order: 'most-recent-first', ...limits });

async function traceIds(s: Store, scope: FetchScope): Promise<string[]> {
  const out: string[] = [];
  for await (const t of s.fetch(TENANT, traces(), scope)) out.push(t.traceId);
  return out.sort();
}

async function services(s: Store, scope: FetchScope): Promise<string[]> {
  const req: FetchTagValuesRequest = { kind: 'tag-values', target: { type: 'attribute', scope: 'resource', name: 'service.name' }, conditions: [], limit: 100, maxBytes: 1 << 20, ...limits };
  return (await s.fetch(TENANT, req, scope)).values.map((v) => v.value);
}

/** `service`'s trace of one span at `sec` seconds after T0, and its ID. */
async function add(s: Store, service: string, sec: number, traceId = newTraceId()): Promise<string> {
  await s.append(TENANT, batchOf(service, [span({ traceId, name: service, startUnixNano: T0 + BigInt(sec) * S })]));
  return toHex(traceId);
}

let loaded: string;
let split: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-fetch-scopes-'));
  const first = await openStore();
  loaded = await add(first, 'loaded', 1);
  split = await add(first, 'split-old', 2);
  // Closing cuts the head into a block; the next process loads it and did not publish it.
  await first.close();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('head reads no block, recent the blocks this process published, all every one', async () => {
  const s = await openStore();
  try {
    const published = await add(s, 'published', 3);
    await s.flush(TENANT);
    const head = await add(s, 'head', 4);
    // The other half of `split`: its candidate comes from the head, and it is read whole.
    const splitId = Buffer.from(split, 'hex');
    await s.append(TENANT, batchOf('split-new', [span({ traceId: splitId, name: 'late', startUnixNano: T0 + 5n * S })]));

    assert.deepEqual(await traceIds(s, 'all'), [loaded, split, published, head].sort());
    assert.deepEqual(await traceIds(s, 'recent'), [split, published, head].sort());
    assert.deepEqual(await traceIds(s, 'head'), [split, head].sort());
    for (const scope of ['head', 'recent', 'all'] as const) {
      let spans = 0;
      for await (const t of s.fetch(TENANT, traces(), scope)) if (t.traceId === split) spans = t.spans.length;
      assert.equal(spans, 2, `scope ${scope}: a trace found is read whole, from every block`);
    }

    assert.deepEqual(await services(s, 'all'), ['head', 'loaded', 'published', 'split-new', 'split-old']);
    assert.deepEqual(await services(s, 'recent'), ['head', 'published', 'split-new']);
    assert.deepEqual(await services(s, 'head'), ['head', 'split-new']);

    const found = async (id: string, scope: FetchScope) => (await s.findTrace(TENANT, id, {}, scope)).spans.length;
    assert.deepEqual([await found(loaded, 'all'), await found(loaded, 'recent'), await found(loaded, 'head')], [1, 0, 0]);
    assert.deepEqual([await found(published, 'all'), await found(published, 'recent'), await found(published, 'head')], [1, 1, 0]);
    assert.deepEqual([await found(split, 'all'), await found(split, 'recent'), await found(split, 'head')], [2, 1, 1]);

    // An aggregate's head part: no block rows, the head's traces whole for the engine.
    const agg: FetchAggregateRequest = {
      kind: 'aggregate',
      afterUnixNano: T0,
      atOrBeforeUnixNano: T0 + 60n * S,
      stepNano: 60n * S,
      filter: null,
      by: [],
      value: null,
      buckets: false,
      exemplars: false,
      ...limits,
    };
    const fromHead = await s.fetch(TENANT, agg, 'head');
    assert.deepEqual(fromHead.rows, []);
    assert.equal(fromHead.blockPath, 'none');
    const headTraces: string[] = [];
    for await (const t of fromHead.traces) headTraces.push(t.traceId);
    assert.deepEqual(headTraces.sort(), [split, head].sort());
    const all = await s.fetch(TENANT, agg);
    const counted = all.rows.reduce((n, r) => n + r.count, 0);
    let evaluated = 0;
    for await (const t of all.traces) evaluated += t.spans.length;
    assert.equal(counted + evaluated, 5, 'every span once, whatever holds it');
  } finally {
    await s.close();
  }
});
