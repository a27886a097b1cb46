// Blocks of the previous writer after an upgrade (issue 15): the blocks the
// NDJSON-staging writer of 9a00f0f wrote, committed under test/fixtures/blocks/,
// opened by the current Store and read span for span as they were written, by
// trace ID, by search and by tag values. The fixtures hold a sample of the
// reference workload and the edge workload (test/helpers/edge-workload.ts: every
// value kind, empty and huge values, events, links, a 10,000-span trace …).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import type { KeyValue, StoredSpan } from '../../../src/otlp/model.js';
import type { Condition, FetchTagValuesRequest, FetchTracesRequest, TagValue } from '../../../src/store/fetch/request.js';
import { Store } from '../../../src/store/store.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { BIG_TRACE_SPANS, HUGE_VALUE_BYTES } from '../../helpers/edge-workload.js';
import { copyFixtureBlocks, edgeFixture, FIXTURE_DIR, FIXTURE_NAMES, FIXTURE_WORKLOADS, FIXTURE_WRITER, fixtureMeta, fixtureSpans, type FixtureName } from '../../helpers/fixture-blocks.js';
import { tempDir } from '../../helpers/skein-process.js';
import { canonical } from './fixtures.js';

const edgeIds = edgeFixture().ids;

/** A Store over a data directory holding a copy of the fixtures, as after an upgrade. */
async function withFixtureStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = tempDir('skein-compat-store-');
  try {
    await copyFixtureBlocks(join(dir, 'blocks'));
    const config = loadConfig({
      env: {},
      overrides: [
        { path: ['storage', 'path'], value: dir },
        // The fixtures' spans are from 2026: nothing may expire them.
        { path: ['storage', 'retention'], value: '36500d' },
      ],
    });
    const store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function tracesRequest(conditions: Condition[] = []): FetchTracesRequest {
  return {
    kind: 'traces',
    conditions,
    allConditions: conditions.length > 0,
    filter: conditions.length === 0 ? null : { type: 'some', filter: { type: 'and', args: conditions.map((condition) => ({ type: 'condition', condition })) } },
    secondPass: 'all',
    limit: 100_000,
    order: 'none',
    maxBytesInspected: 0,
    overLimit: () => new Error('over the limit'),
  };
}

function tagValuesRequest(target: FetchTagValuesRequest['target'], conditions: Condition[] = []): FetchTagValuesRequest {
  return { kind: 'tag-values', target, conditions, limit: 100_000, maxBytes: 100_000_000, maxBytesInspected: 0, overLimit: () => new Error('over the limit') };
}

async function search(store: Store, tenant: string, req: FetchTracesRequest): Promise<Map<string, StoredSpan[]>> {
  const out = new Map<string, StoredSpan[]>();
  for await (const t of store.fetch(tenant, req)) out.set(t.traceId, t.spans);
  return out;
}

const serviceIs = (service: string): Condition => ({ field: { type: 'attribute', scope: 'resource', name: 'service.name' }, op: '=', value: { t: 'string', v: service } });
const stringService = (s: StoredSpan): string | undefined => {
  const kv = s.resource.attributes.find((a) => a.key === 'service.name');
  return kv?.value.type === 'string' ? kv.value.value : undefined;
};

/** The IDs of the traces with a span meeting `has`, sorted. */
function tracesWith(spans: ReadonlyMap<string, StoredSpan[]>, has: (s: StoredSpan) => boolean): string[] {
  return [...spans].filter(([, list]) => list.some(has)).map(([id]) => id).sort();
}

/** Tag values as the store lists them, worked out from the spans (arrays, bytes, kvlists and empty values are not listed). */
function expectedTagValues(spans: Iterable<StoredSpan>, scope: 'resource' | 'span', name: string): TagValue[] {
  const out = new Map<string, TagValue>();
  for (const s of spans) {
    const attrs: readonly KeyValue[] = scope === 'resource' ? s.resource.attributes : s.span.attributes;
    for (const { key, value: v } of attrs) {
      if (key !== name) continue;
      const tv: TagValue | undefined =
        v.type === 'string'
          ? { type: 'string', value: v.value }
          : v.type === 'int'
            ? { type: 'int', value: v.value.toString() }
            : v.type === 'double'
              ? { type: 'float', value: String(v.value) }
              : v.type === 'bool'
                ? { type: 'bool', value: String(v.value) }
                : undefined;
      if (tv) out.set(`${tv.type}:${tv.value}`, tv);
    }
  }
  return sortValues([...out.values()]);
}

function sortValues(values: readonly TagValue[]): TagValue[] {
  const key = (v: TagValue): string => `${v.type}:${v.value}`;
  return [...values].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const asJson = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

test(`the fixture blocks are the ${FIXTURE_WRITER} writer's, written from what the helpers generate now`, async () => {
  const manifest = JSON.parse(await readFile(join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as { writer: string; workloads: unknown; blocks: Record<string, { blockId: string }> };
  assert.equal(manifest.writer, FIXTURE_WRITER);
  // Workload options changed without writing the fixtures again (with that writer) would make every comparison meaningless.
  assert.deepEqual(manifest.workloads, JSON.parse(asJson(FIXTURE_WORKLOADS)));
  for (const name of FIXTURE_NAMES) {
    const meta = await fixtureMeta(name);
    const spans = fixtureSpans(name);
    assert.equal(meta.blockId, manifest.blocks[name]!.blockId);
    assert.equal(meta.traceCount, spans.size, `${name}: traces`);
    assert.equal(meta.spanCount, [...spans.values()].reduce((n, l) => n + l.length, 0), `${name}: spans`);
  }
  // The edge block holds what it is there for.
  const edge = fixtureSpans('edge');
  assert.equal(edge.get(edgeIds.big)!.length, BIG_TRACE_SPANS);
  const huge = edge.get(edgeIds.huge)!.flatMap((s) => s.span.attributes).find((kv) => kv.key === 'huge')!;
  assert.ok(huge.value.type === 'string' && Buffer.byteLength(huge.value.value) === HUGE_VALUE_BYTES);
  assert.ok((await fixtureMeta('edge')).parts.length > 1, 'the edge block has several parts');
});

test('a Store opened on the old blocks reads every trace by ID span for span as it was written', async () => {
  await withFixtureStore(async (store) => {
    for (const name of FIXTURE_NAMES) {
      const tenant = FIXTURE_WORKLOADS[name].tenant;
      assert.equal(store.blocks.blocks(tenant).length, 1, `${name}: the old block is listed`);
      for (const [traceId, spans] of fixtureSpans(name)) {
        const found = await store.findTrace(tenant, traceId);
        assert.deepStrictEqual(canonical(found.spans), canonical(spans), `${name}: trace ${traceId}`);
      }
    }
    // A 64-bit ID is found by its short form too, as Zipkin clients ask for it.
    const short = await store.findTrace(FIXTURE_WORKLOADS.edge.tenant, edgeIds.shortId.replace(/^0+/, ''));
    assert.deepStrictEqual(canonical(short.spans), canonical(fixtureSpans('edge').get(edgeIds.shortId)!));
  });
});

test('search over the old blocks returns every trace whole, and conditions select exactly the traces meeting them', async () => {
  await withFixtureStore(async (store) => {
    for (const name of FIXTURE_NAMES) {
      const tenant = FIXTURE_WORKLOADS[name].tenant;
      const expected = fixtureSpans(name);
      const all = await search(store, tenant, tracesRequest());
      assert.deepEqual([...all.keys()].sort(), [...expected.keys()].sort(), `${name}: every trace`);
      for (const [traceId, spans] of expected) assert.deepStrictEqual(canonical(all.get(traceId)!), canonical(spans), `${name}: trace ${traceId}`);

      // The service in the fewest traces, so that the condition leaves traces out.
      const services = [...new Set([...expected.values()].flat().map(stringService))].filter((s): s is string => s !== undefined);
      const [service, want] = services.map((s) => [s, tracesWith(expected, (x) => stringService(x) === s)] as const).sort((a, b) => a[1].length - b[1].length)[0]!;
      assert.ok(want.length > 0 && want.length < expected.size);
      const found = await search(store, tenant, tracesRequest([serviceIs(service)]));
      assert.deepEqual([...found.keys()].sort(), want, `${name}: traces with service ${service}`);
    }
    // Conditions on the edges of the value columns.
    const edge = fixtureSpans('edge');
    const attr = (key: string) => (s: StoredSpan) => s.span.attributes.some((kv) => kv.key === key);
    const cases: Array<{ condition: Condition; has: (s: StoredSpan) => boolean }> = [
      { condition: { field: { type: 'attribute', scope: 'span', name: 'int.min' }, op: '=', value: { t: 'int', v: -(1n << 63n) } }, has: attr('int.min') },
      { condition: { field: { type: 'attribute', scope: 'span', name: 'int.max' }, op: '>', value: { t: 'int', v: 0n } }, has: attr('int.max') },
      { condition: { field: { type: 'attribute', scope: 'span', name: 'str.empty' }, op: '=', value: { t: 'string', v: '' } }, has: attr('str.empty') },
      { condition: { field: { type: 'attribute', scope: 'span', name: 'bool.f' }, op: '=', value: { t: 'bool', v: false } }, has: attr('bool.f') },
      { condition: { field: { type: 'intrinsic', name: 'name' }, op: '=', value: { t: 'string', v: '' } }, has: (s) => s.span.name === '' },
      { condition: { field: { type: 'intrinsic', name: 'kind' }, op: '=', value: { t: 'kind', v: 'consumer' } }, has: (s) => s.span.kind === 5 },
      { condition: { field: { type: 'intrinsic', name: 'statusMessage' }, op: '=', value: { t: 'string', v: 'timeout' } }, has: (s) => s.span.status.message === 'timeout' },
    ];
    for (const { condition, has } of cases) {
      const want = tracesWith(edge, has);
      assert.ok(want.length > 0, `the edge workload has a span for ${asJson(condition)}`);
      const found = await search(store, FIXTURE_WORKLOADS.edge.tenant, tracesRequest([condition]));
      assert.deepEqual([...found.keys()].sort(), want, `edge: ${asJson(condition)}`);
    }
  });
});

test('tag values of the old blocks are those of the spans written, from their tag index and from a scan', async () => {
  const targets: Record<FixtureName, Array<{ scope: 'resource' | 'span'; name: string }>> = {
    reference: [
      { scope: 'resource', name: 'service.name' },
      { scope: 'span', name: 'http.route' },
      { scope: 'span', name: 'rpc.grpc.status_code' },
    ],
    edge: [
      { scope: 'resource', name: 'service.name' },
      { scope: 'span', name: 'kind' },
      { scope: 'span', name: 'code' },
      { scope: 'span', name: 'dbl' },
      { scope: 'span', name: 'bool.t' },
      { scope: 'span', name: 'str.unicode' },
    ],
  };
  await withFixtureStore(async (store) => {
    for (const name of FIXTURE_NAMES) {
      const tenant = FIXTURE_WORKLOADS[name].tenant;
      const spans = [...fixtureSpans(name).values()].flat();
      const service = spans.map(stringService).find((s) => s !== undefined)!;
      const ofService = spans.filter((s) => stringService(s) === service);
      for (const { scope, name: tag } of targets[name]) {
        const target = { type: 'attribute', scope, name: tag } as const;
        const all = await store.fetch(tenant, tagValuesRequest(target));
        assert.deepEqual(sortValues(all.values), expectedTagValues(spans, scope, tag), `${name}: ${scope}.${tag}`);
        // A condition the index cannot answer for: the block's Parquet is scanned.
        const scanned = await store.fetch(tenant, tagValuesRequest(target, [serviceIs(service)]));
        assert.deepEqual(sortValues(scanned.values), expectedTagValues(ofService, scope, tag), `${name}: ${scope}.${tag} where service.name = ${service}`);
      }
    }
  });
});
