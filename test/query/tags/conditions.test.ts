// q's conditions mean for tag values what they mean for a search (the engine's
// comparison): ints compared as integers, durations as integers, array attributes
// element by element. The head answers exactly; blocks never answer less.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyValue, ResourceSpans, Span } from '../../../src/otlp/model.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import { conditionsOf, tagValues } from '../../../src/query/tags/index.js';

const TENANT = 'single-tenant';
const T0 = 1_700_000_000_000_000_000n;
let seq = 1;

function bytes(n: number, v: number): Uint8Array {
  const out = new Uint8Array(n);
  out[n - 1] = v & 255;
  out[n - 2] = (v >> 8) & 255;
  return out;
}

function span(name: string, durationNano: bigint, attrs: Record<string, AnyValue>): Span {
  const i = seq++;
  return {
    traceId: bytes(16, i),
    spanId: bytes(8, i),
    traceState: '',
    parentSpanId: new Uint8Array(0),
    flags: 0,
    name,
    kind: 2,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + durationNano,
    attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

const str = (value: string): AnyValue => ({ type: 'string', value });

function batch(): ResourceSpans[] {
  const spans = [
    span('big-even', 1_000_000n, { big: { type: 'int', value: 9007199254740992n } }),
    span('big-odd', 1_000_001n, { big: { type: 'int', value: 9007199254740993n } }),
    span('tagged-a', 2_000_000n, { tags: { type: 'array', value: [str('a'), str('b')] } }),
    span('tagged-c', 2_000_000n, { tags: { type: 'array', value: [str('c')] } }),
    span('tag-scalar', 2_000_000n, { tags: str('z') }),
  ];
  return [
    {
      resource: { attributes: [{ key: 'service.name', value: str('svc') }], droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'lib', version: '1', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }],
    },
  ];
}

async function names(store: Store, q: string): Promise<string[]> {
  const r = await tagValues(store, TENANT, { type: 'intrinsic', name: 'name' }, { conditions: conditionsOf(q), limit: 100, maxBytes: 1 << 20 });
  return r.values.map((v) => v.value);
}

describe('tag values narrowed by q, as the engine compares', () => {
  let dir: string;
  let store: Store;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skein-tag-conditions-test-'));
    const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: dir }] });
    store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
    await store.append(TENANT, batch());
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('from the head: integers beyond 2^53 and durations exactly, arrays by their elements', async () => {
    assert.deepEqual(await names(store, '{ span.big = 9007199254740993 }'), ['big-odd']);
    assert.deepEqual(await names(store, '{ span.big < 9007199254740993 }'), ['big-even']);
    assert.deepEqual(await names(store, '{ duration > 1000000ns && duration < 2ms }'), ['big-odd']);
    assert.deepEqual(await names(store, '{ span.tags = "a" }'), ['tagged-a']);
    assert.deepEqual(await names(store, '{ span.tags = "z" }'), ['tag-scalar']);
  });

  test('from a block: the same, and spans with arrays the SQL cannot judge are kept rather than lost', async () => {
    await store.flush(TENANT);
    assert.equal(store.blocks.blocks(TENANT).length, 1);
    assert.deepEqual(await names(store, '{ span.big = 9007199254740993 }'), ['big-odd']);
    assert.deepEqual(await names(store, '{ span.big < 9007199254740993 }'), ['big-even']);
    assert.deepEqual(await names(store, '{ duration > 1000000ns && duration < 2ms }'), ['big-odd']);
    // Rows whose attribute is an array are kept by the SQL (the engine compares elements): never fewer values, maybe more.
    for (const [q, want] of [
      ['{ span.tags = "a" }', 'tagged-a'],
      ['{ span.tags = "z" }', 'tag-scalar'],
    ] as const) {
      const got = await names(store, q);
      assert.ok(got.includes(want), `${q}: ${got.join()}`);
      assert.ok(got.every((n) => n === want || n.startsWith('tagged-')), `${q}: ${got.join()}`);
    }
  });
});
