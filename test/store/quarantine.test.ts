// A head cut whose block write fails because of some spans: against a real Store
// (WAL, head, DuckDB, Parquet) on a temp dir. The spans that cannot be written are
// found by bisection and moved to the tenant's quarantine; every other span,
// including good spans of the same trace, reaches a block; the head and the WAL
// let go of all of them, and a restart replays none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { toHex, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { decodeTracesData } from '../../src/otlp/protobuf.js';
import { Store } from '../../src/store/store.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { batchOf, newTraceId, span } from '../helpers/spans.js';
import { run } from './wal/helpers.js';

const TENANT = 'team-a';

async function openStore(path: string): Promise<Store> {
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: path }] });
  return Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
}

/** A span the block schema cannot hold: its kind or status code is beyond the UTINYINT column (as a WAL of an older Skein may carry). */
function unwritable(s: Span, field: 'kind' | 'status'): Span {
  if (field === 'kind') s.kind = 300 as Span['kind'];
  else s.status = { code: 300 as Span['status']['code'], message: 'beyond the enum' };
  return s;
}

interface Fixture {
  batch: ResourceSpans[];
  /** Trace ID (hex) → the span IDs (hex) that must reach a block. */
  good: Map<string, string[]>;
  /** Span IDs (hex) that cannot be written. */
  bad: string[];
}

function fixture(): Fixture {
  const spans: Span[] = [];
  const good = new Map<string, string[]>();
  const bad: string[] = [];
  const keep = (s: Span) => {
    const id = toHex(s.traceId);
    good.set(id, [...(good.get(id) ?? []), toHex(s.spanId)]);
    spans.push(s);
  };
  // Whole good traces around the bad ones, so the bisection has work to do.
  for (let t = 0; t < 40; t++) {
    const traceId = newTraceId();
    const root = span({ traceId, name: `root-${t}` });
    keep(root);
    for (let c = 0; c < 3; c++) keep(span({ traceId, parentSpanId: root.spanId, name: `child-${t}-${c}`, startUnixNano: root.startTimeUnixNano + BigInt(c + 1) }));
  }
  // A trace mixing good spans with two bad ones (one by kind, one by status code).
  const mixed = newTraceId();
  const root = span({ traceId: mixed, name: 'mixed-root' });
  keep(root);
  keep(span({ traceId: mixed, parentSpanId: root.spanId, name: 'mixed-good' }));
  for (const field of ['kind', 'status'] as const) {
    const s = unwritable(span({ traceId: mixed, parentSpanId: root.spanId, name: `mixed-bad-${field}` }), field);
    bad.push(toHex(s.spanId));
    spans.push(s);
  }
  // A trace whose only span is bad.
  const lone = unwritable(span({ traceId: newTraceId(), name: 'lone-bad' }), 'kind');
  bad.push(toHex(lone.spanId));
  spans.push(lone);
  return { batch: batchOf('checkout', spans), good, bad };
}

function quarantineFiles(dataDir: string): string[] {
  const dir = join(dataDir, 'quarantine', TENANT);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function assertGoodSpansInBlocks(store: Store, f: Fixture): Promise<void> {
  for (const [traceId, spanIds] of f.good) {
    const found = await store.findTrace(TENANT, traceId);
    assert.deepEqual(found.spans.map((s) => toHex(s.span.spanId)).sort(), [...spanIds].sort(), `trace ${traceId}`);
  }
  const inBlocks = new Set<string>();
  for (const b of store.blocks.blocks(TENANT)) assert.ok(b.spanCount > 0);
  for (const traceId of f.good.keys()) {
    for (const s of (await store.blocks.findTrace(TENANT, traceId)).spans) inBlocks.add(toHex(s.span.spanId));
  }
  assert.equal(inBlocks.size, [...f.good.values()].reduce((n, l) => n + l.length, 0), 'every good span is in a block');
}

test('a cut that fails on some spans writes every other span to a block and quarantines the failing ones; a restart replays none', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skein-quarantine-'));
  let store = await openStore(dataDir);
  try {
    const f = fixture();
    await store.append(TENANT, f.batch);
    await store.flush(TENANT);

    await assertGoodSpansInBlocks(store, f);
    for (const id of f.bad) {
      for (const traceId of f.good.keys()) {
        assert.ok(!(await store.findTrace(TENANT, traceId)).spans.some((s) => toHex(s.span.spanId) === id));
      }
    }
    const heads = await store.heads(TENANT);
    assert.equal(heads.reduce((n, h) => n + h.spanCount, 0), 0, 'the head let go of every span');

    // One quarantine object with the bad spans, their resource and scope, and its description.
    const files = quarantineFiles(dataDir);
    assert.equal(files.length, 2, files.join(', '));
    const pb = files.find((n) => n.endsWith('.otlp.pb'))!;
    const info = files.find((n) => n.endsWith('.json'))!;
    assert.equal(pb.replace(/\.otlp\.pb$/, ''), info.replace(/\.json$/, ''));
    const data = decodeTracesData(readFileSync(join(dataDir, 'quarantine', TENANT, pb)));
    const quarantined = data.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ rs, ss, s }))));
    assert.deepEqual(quarantined.map((q) => toHex(q.s.spanId)).sort(), [...f.bad].sort());
    for (const q of quarantined) {
      assert.deepEqual(q.rs.resource.attributes, [{ key: 'service.name', value: { type: 'string', value: 'checkout' } }]);
      assert.equal(q.ss.scope.name, 'test');
    }
    const described = JSON.parse(readFileSync(join(dataDir, 'quarantine', TENANT, info), 'utf8')) as Record<string, unknown>;
    assert.equal(described['spans'], f.bad.length);
    assert.equal(described['tenant'], TENANT);
    assert.match(String(described['error']), /cast/i);
    assert.ok(!Number.isNaN(Date.parse(String(described['time']))));

    // The listing says the same.
    const listed = await store.quarantine.list(TENANT);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.id, pb.replace(/\.otlp\.pb$/, ''));
    assert.equal(listed[0]!.spans, f.bad.length);
    assert.deepEqual(await store.quarantine.list('another-tenant'), []);

    // A restart replays nothing: the WAL no longer holds the bad spans (nor the good ones).
    await store.close();
    store = await openStore(dataDir);
    assert.equal((await store.heads(TENANT)).reduce((n, h) => n + h.spanCount, 0), 0, 'nothing replayed from the WAL');
    await assertGoodSpansInBlocks(store, f);
    await store.flush(TENANT);
    assert.equal(quarantineFiles(dataDir).length, 2, 'nothing quarantined twice');

    // The tenant is not stuck: later spans cut into blocks as usual.
    const later = span({ traceId: newTraceId(), name: 'later' });
    await store.append(TENANT, batchOf('checkout', [later]));
    await store.flush(TENANT);
    assert.equal((await store.blocks.findTrace(TENANT, toHex(later.traceId))).spans.length, 1);
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a cut whose only spans cannot be written quarantines them all and leaves the head empty', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skein-quarantine-'));
  const store = await openStore(dataDir);
  try {
    const lone = unwritable(span({ traceId: newTraceId(), name: 'only-bad' }), 'status');
    await store.append(TENANT, batchOf('checkout', [lone]));
    await store.flush(TENANT);
    assert.equal((await store.heads(TENANT)).reduce((n, h) => n + h.spanCount, 0), 0);
    assert.deepEqual(store.blocks.blocks(TENANT), []);
    const listed = await store.quarantine.list(TENANT);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.spans, 1);
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

// Run in a child inside a user+mount namespace, on a small tmpfs it fills up.
const FULL_DISK_CUT = `
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from ${JSON.stringify(new URL('../../src/config/load.js', import.meta.url).href)};
import { Store } from ${JSON.stringify(new URL('../../src/store/store.js', import.meta.url).href)};
import { silentLogger } from ${JSON.stringify(new URL('../../src/telemetry/logger.js', import.meta.url).href)};
import { batchOf, newTraceId, span } from ${JSON.stringify(new URL('../helpers/spans.js', import.meta.url).href)};
import { fillFileSystem } from ${JSON.stringify(new URL('./wal/helpers.js', import.meta.url).href)};
const [mount] = process.argv.slice(2);
const open = () => Store.open({ ...(({ storage, limits }) => ({ storage, limits }))(loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: join(mount, 'data') }] })), logger: silentLogger });
const store = await open();
const spans = [];
for (let t = 0; t < 20; t++) spans.push(span({ traceId: newTraceId(), name: 'good-' + t }));
const bad = span({ traceId: newTraceId(), name: 'bad' });
bad.kind = 300;
spans.push(bad);
await store.append('team-a', batchOf('checkout', spans));
const filler = join(mount, 'filler');
fillFileSystem(filler);
const held = async () => (await store.heads('team-a')).reduce((n, h) => n + h.spanCount, 0);
let failure;
await store.flush('team-a').catch((err) => (failure = String(err.message ?? err)));
const whileFull = { failure, held: await held(), quarantined: (await store.quarantine.list('team-a')).length, blocks: store.blocks.blocks('team-a').length };
unlinkSync(filler);
await store.flush('team-a');
const afterwards = { held: await held(), quarantined: (await store.quarantine.list('team-a')).map((e) => e.spans), blockSpans: store.blocks.blocks('team-a').reduce((n, b) => n + b.spanCount, 0) };
await store.close();
console.log(JSON.stringify({ whileFull, afterwards }));
`;

const namespaceProbe = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount -t tmpfs -o size=64k probe "$0"', tmpdir()]);
const noNamespaces = namespaceProbe.status === 0 ? false : 'needs unshare with user and mount namespaces to mount a small tmpfs';

test('a cut on a full disk quarantines nothing and keeps every span; once space is back the cut writes the good spans and quarantines the bad one', { skip: noNamespaces }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'skein-quarantine-full-'));
  try {
    const script = join(work, 'child.mjs');
    writeFileSync(script, FULL_DISK_CUT);
    const mountPoint = join(work, 'mnt');
    await mkdir(mountPoint);
    const result = await run('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount -t tmpfs -o size=8m skein-quarantine-test "$0" && exec "$@"', mountPoint, process.execPath, script, mountPoint]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      whileFull: { failure: string | undefined; held: number; quarantined: number; blocks: number };
      afterwards: { held: number; quarantined: number[]; blockSpans: number };
    };
    assert.match(String(report.whileFull.failure), /no space left on device|ENOSPC/i, 'the cut fails while the disk is full');
    assert.equal(report.whileFull.held, 21, 'every span stays in the head');
    assert.equal(report.whileFull.quarantined, 0, 'a full disk quarantines nothing');
    assert.equal(report.whileFull.blocks, 0);
    assert.deepEqual(report.afterwards, { held: 0, quarantined: [1], blockSpans: 20 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
