// The tag index (tags.json in blocks, kept live in the head) answers tag names and
// values exactly as scanning the spans does, on the benchmark's seeded workload plus
// a high-cardinality attribute: from the head, from a freshly written block, from
// blocks written before tags.json existed (index removed: the scan answers), and
// from a compaction's output, whose index is the one a single write would have made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceSpans } from '../../../src/otlp/model.js';
import { decodeTracesData } from '../../../src/otlp/protobuf.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import { conditionsOf, parseTagTarget, tagNames, tagValues, TAG_SCOPES, type TagQuery, type TagTarget } from '../../../src/query/tags/index.js';
import { requests } from '../../../bench/workload.js';

const TENANT = 'single-tenant';
const WORKLOAD_SPANS = 8000;
/** More distinct values than an index keeps for one name. */
const HIGH_CARDINALITY_VALUES = 1500;

interface Workload {
  batches: ResourceSpans[][];
  startUnixNano: bigint;
  endUnixNano: bigint;
}

function workload(): Workload {
  const batches: ResourceSpans[][] = [];
  let start: bigint | undefined;
  let end: bigint | undefined;
  for (const r of requests({ seed: 7, spans: WORKLOAD_SPANS, format: 'protobuf', startUnixMs: Date.now() - 30 * 60_000 })) {
    const batch = decodeTracesData(r.body);
    for (const rs of batch)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          if (start === undefined || s.startTimeUnixNano < start) start = s.startTimeUnixNano;
          if (end === undefined || s.endTimeUnixNano > end) end = s.endTimeUnixNano;
        }
    batches.push(batch);
  }
  // One service stamps every span with its own request ID: too many values to index.
  const template = batches[0]![0]!;
  const spans = template.scopeSpans[0]!.spans.slice(0, 1).flatMap((s) =>
    Array.from({ length: HIGH_CARDINALITY_VALUES }, (_, i) => ({
      ...s,
      spanId: Uint8Array.from([0xee, 0, 0, 0, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]),
      attributes: [...s.attributes, { key: 'request.id', value: { type: 'string' as const, value: `req-${String(i).padStart(5, '0')}` } }],
    })),
  );
  batches.push([{ ...template, resource: { attributes: [{ key: 'service.name', value: { type: 'string', value: 'ids' } }], droppedAttributesCount: 0 }, scopeSpans: [{ ...template.scopeSpans[0]!, spans }] }]);
  return { batches, startUnixNano: start!, endUnixNano: end! };
}

function q(over: Partial<TagQuery> = {}): TagQuery {
  return { conditions: [], limit: 5000, maxBytes: 1 << 22, ...over };
}

function target(text: string): TagTarget {
  const t = parseTagTarget(text);
  if ('error' in t) throw new Error(t.error);
  return t;
}

const NARROWING = [
  '{ resource.service.name = "frontend" }',
  '{ resource.service.name = "no-such-service" }',
  '{ span.http.route != nil }',
  '{ status = error }',
  '{ kind = client && span.rpc.system = "grpc" }',
  '{ .http.response.status_code = 500 }',
  '{ span.request.id = "req-00042" }',
  '{ span.no.such.attribute = "x" }',
  '{ name = "no such span" }',
];
const INTRINSICS = ['name', 'status', 'kind', 'statusMessage', 'rootName', 'rootServiceName', 'event:name', 'instrumentation:name', 'instrumentation:version'];

/** Every answer the endpoints can give about the store's spans (inspected bytes aside: they say what was read). */
async function snapshot(store: Store, w: Workload): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const names = await tagNames(store, TENANT, TAG_SCOPES, q());
  out['names'] = names.scopes;
  const values = async (name: string, over: Partial<TagQuery> = {}) => {
    const r = await tagValues(store, TENANT, target(name), q(over));
    return { values: r.values, truncated: r.truncated };
  };
  for (const scope of names.scopes) {
    if (scope.name === 'intrinsic') continue;
    for (const name of scope.tags) out[`${scope.name}.${name}`] = await values(`${scope.name}.${name}`);
  }
  for (const name of ['.http.route', '.service.name', '.request.id', ...INTRINSICS]) out[name] = await values(name);
  for (const name of ['service.name', 'http.route', 'name', 'request.id']) {
    out[`v1 ${name}`] = await tagValues(store, TENANT, { type: 'legacy', name }, q()).then((r) => r.values);
  }
  out['cut'] = await values('span.url.path', { limit: 10 });
  for (const text of NARROWING) {
    const conditions = conditionsOf(text);
    assert.ok(conditions.length > 0, text);
    out[`${text} span.http.route`] = await values('span.http.route', { conditions });
    out[`${text} resource.service.name`] = await values('resource.service.name', { conditions });
    out[`${text} names`] = (await tagNames(store, TENANT, ['span', 'resource'], q({ conditions }))).scopes;
  }
  const mid = (w.startUnixNano + w.endUnixNano) / 2n;
  out['first half'] = await values('span.http.route', { endUnixNano: mid });
  out['second half names'] = (await tagNames(store, TENANT, TAG_SCOPES, q({ startUnixNano: mid }))).scopes;
  out['all of it'] = await values('span.session.id', { startUnixNano: w.startUnixNano - 1n, endUnixNano: w.endUnixNano + 1n });
  return out;
}

async function openStore(dir: string): Promise<Store> {
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: dir }] });
  return Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
}

function blockDir(dir: string, blockId: string): string {
  return join(dir, 'blocks', TENANT, blockId);
}

describe('tag index', () => {
  const w = workload();
  let dir: string;
  let store: Store;
  let fromHead: Record<string, unknown>;
  let singleWriteTags: unknown;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skein-tag-index-test-'));
    store = await openStore(dir);
    for (const batch of w.batches) await store.append(TENANT, batch);
    fromHead = await snapshot(store, w);
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the workload exercises what the index keeps and what it gives up on', () => {
    const names = fromHead['names'] as Array<{ name: string; tags: string[] }>;
    assert.ok(names.find((s) => s.name === 'span')!.tags.includes('http.route'));
    assert.ok((fromHead['resource.service.name'] as { values: unknown[] }).values.length >= 8);
    const ids = fromHead['span.request.id'] as { values: unknown[] };
    assert.equal(ids.values.length, HIGH_CARDINALITY_VALUES);
    assert.deepEqual((fromHead['{ resource.service.name = "no-such-service" } span.http.route'] as { values: unknown[] }).values, []);
    assert.equal((fromHead['cut'] as { truncated: boolean }).truncated, true);
  });

  test('a block written from the head has tags.json, listed in meta.json, and answers as the head did', async () => {
    await store.flush(TENANT);
    const [meta] = store.blocks.blocks(TENANT);
    assert.ok(meta);
    assert.equal(meta.tags?.file, 'tags.json');
    const bytes = await readFile(join(blockDir(dir, meta.blockId), 'tags.json'));
    assert.equal(meta.tags.bytes, bytes.byteLength);
    const tags = JSON.parse(bytes.toString('utf8')) as { scopes: { span: { names: Record<string, unknown> } } };
    assert.deepEqual(tags.scopes.span.names['request.id'], { high: true });
    assert.ok(Array.isArray((tags.scopes.span.names['http.route'] as { s: string[] }).s));
    singleWriteTags = tags;
    assert.deepStrictEqual(await snapshot(store, w), fromHead);
    // What was read says where the answer came from: the index alone, or (a high-cardinality name) the spans.
    assert.equal((await tagValues(store, TENANT, target('span.http.route'), q())).inspectedBytes, meta.tags.bytes);
    assert.equal((await tagValues(store, TENANT, target('span.request.id'), q())).inspectedBytes, meta.sizeBytes);
  });

  test('a block whose tags.json cannot be read is scanned, with the same answers', async () => {
    const [meta] = store.blocks.blocks(TENANT);
    const file = join(blockDir(dir, meta!.blockId), 'tags.json');
    const good = await readFile(file);
    await store.close();
    await writeFile(file, '{"format":"skein-tags-v1","scopes":');
    try {
      store = await openStore(dir);
      assert.deepStrictEqual(await snapshot(store, w), fromHead);
    } finally {
      await store.close();
      await writeFile(file, good);
      store = await openStore(dir);
    }
  });

  test('blocks written before tags.json existed are scanned, with the same answers', async () => {
    const [meta] = store.blocks.blocks(TENANT);
    await store.close();
    const path = blockDir(dir, meta!.blockId);
    const raw = JSON.parse(await readFile(join(path, 'meta.json'), 'utf8')) as Record<string, unknown>;
    delete raw['tags'];
    await writeFile(join(path, 'meta.json'), JSON.stringify(raw));
    await rm(join(path, 'tags.json'));
    store = await openStore(dir);
    assert.equal(store.blocks.blocks(TENANT)[0]!.tags, undefined);
    assert.deepStrictEqual(await snapshot(store, w), fromHead);
    assert.equal((await tagValues(store, TENANT, target('span.http.route'), q())).inspectedBytes, meta!.sizeBytes);
  });

  test('a compaction output has the index a single write of the same spans has, and answers the same', async () => {
    const cdir = await mkdtemp(join(tmpdir(), 'skein-tag-index-compaction-'));
    const c = await openStore(cdir);
    try {
      const half = Math.floor(w.batches.length / 2);
      for (const batch of w.batches.slice(0, half)) await c.append(TENANT, batch);
      await c.flush(TENANT);
      for (const batch of w.batches.slice(half)) await c.append(TENANT, batch);
      await c.flush(TENANT);
      assert.equal(c.blocks.blocks(TENANT).length, 2);
      const merged = await c.blocks.compactOnce(TENANT, { windowMs: 1e12, maxBlockBytes: 1 << 30, minInputBlocks: 2 });
      assert.ok(merged?.tags);
      assert.equal(c.blocks.blocks(TENANT).length, 1);
      const tags = JSON.parse(await readFile(join(blockDir(cdir, merged.blockId), 'tags.json'), 'utf8')) as unknown;
      assert.deepStrictEqual(tags, singleWriteTags);
      assert.deepStrictEqual(await snapshot(c, w), fromHead);
    } finally {
      await c.close();
      await rm(cdir, { recursive: true, force: true });
    }
  });
});
