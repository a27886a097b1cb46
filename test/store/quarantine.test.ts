// The quarantine, defence in depth for a block write that fails on some rows:
// writeCutBlock (the head cut's block write) against a real Store's block store
// (DuckDB, Parquet) and quarantine on a temp dir. No input reaches it today
// (decoding normalises the enums a block cannot hold), so the unwritable rows are
// built in memory and handed over as the cut's span source: the spans at fault
// are found by bisection and quarantined; every other span, good spans of the
// same trace too, reaches a block and reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { toHex, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { decodeTracesData } from '../../src/otlp/protobuf.js';
import { writeCutBlock } from '../../src/store/cut-block.js';
import { storeMetrics } from '../../src/store/metrics.js';
import { Store } from '../../src/store/store.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { batchOf, newTraceId, span, spanSource, unwritable } from '../helpers/spans.js';
import { captureLogs, run } from './wal/helpers.js';
import { tmpfsUnavailable } from '../helpers/namespaces.js';

const TENANT = 'team-a';
const QUARANTINED = 'spans quarantined: no block can hold them; every other span of the cut is in a block';

async function openStore(path: string, logger: Logger): Promise<Store> {
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: path }] });
  return Store.open({ storage: config.storage, limits: config.limits, logger });
}

/** Where the tenant store's cut would write: the store's own block store and quarantine. */
function cutTarget(store: Store, logger: Logger) {
  return { tenant: TENANT, blocks: store.blocks, quarantine: store.quarantine, logger };
}

async function quarantinedCount(): Promise<number> {
  return (await storeMetrics.quarantinedSpans.get()).values.find((v) => v.labels['tenant'] === TENANT)?.value ?? 0;
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

/** Every good span, and nothing else, is in the tenant's blocks. */
async function assertBlocksHoldExactly(store: Store, f: Fixture): Promise<void> {
  for (const [traceId, spanIds] of f.good) {
    const found = await store.blocks.findTrace(TENANT, traceId);
    assert.deepEqual(found.spans.map((s) => toHex(s.span.spanId)).sort(), [...spanIds].sort(), `trace ${traceId}`);
  }
  const goodSpans = [...f.good.values()].reduce((n, l) => n + l.length, 0);
  assert.equal(store.blocks.blocks(TENANT).reduce((n, b) => n + b.spanCount, 0), goodSpans, 'the blocks hold the good spans only');
}

test('a cut whose block write fails on some spans writes every other span to a block and quarantines exactly those, with their resource and scope', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skein-quarantine-'));
  const logs = captureLogs();
  const store = await openStore(dataDir, logs.logger);
  try {
    const f = fixture();
    const counted = await quarantinedCount();
    const meta = await writeCutBlock(cutTarget(store, logs.logger), spanSource(f.batch));
    assert.equal(meta?.spanCount, [...f.good.values()].reduce((n, l) => n + l.length, 0));
    await assertBlocksHoldExactly(store, f);

    // One quarantine object with the bad spans, their resource and scope, and its description.
    const files = quarantineFiles(dataDir);
    assert.equal(files.length, 2, files.join(', '));
    const pb = files.find((n) => n.endsWith('.otlp.pb'))!;
    const info = files.find((n) => n.endsWith('.json'))!;
    assert.equal(pb.replace(/\.otlp\.pb$/, ''), info.replace(/\.json$/, ''));
    const data = decodeTracesData(readFileSync(join(dataDir, 'quarantine', TENANT, pb)));
    const quarantined = data.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ rs, ss, s }))));
    assert.deepEqual(quarantined.map((q) => toHex(q.s.spanId)).sort(), [...f.bad].sort());
    assert.deepEqual(quarantined.map((q) => q.s.name).sort(), ['lone-bad', 'mixed-bad-kind', 'mixed-bad-status']);
    for (const q of quarantined) {
      assert.deepEqual(q.rs.resource.attributes, [{ key: 'service.name', value: { type: 'string', value: 'checkout' } }]);
      assert.deepEqual([q.ss.scope.name, q.ss.scope.version], ['test', '1.0.0']);
    }
    const described = JSON.parse(readFileSync(join(dataDir, 'quarantine', TENANT, info), 'utf8')) as Record<string, unknown>;
    assert.equal(described['spans'], f.bad.length);
    assert.equal(described['traces'], 2);
    assert.equal(described['tenant'], TENANT);
    assert.match(String(described['error']), /cast/i);
    assert.ok(!Number.isNaN(Date.parse(String(described['time']))));

    // Listed for the tenant only, counted and logged.
    const listed = await store.quarantine.list(TENANT);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.id, pb.replace(/\.otlp\.pb$/, ''));
    assert.equal(listed[0]!.spans, f.bad.length);
    assert.deepEqual(await store.quarantine.list('another-tenant'), []);
    assert.equal((await quarantinedCount()) - counted, f.bad.length);
    const logged = logs.lines.find((l) => l['msg'] === QUARANTINED);
    assert.equal(logged?.['spans'], f.bad.length);
    assert.equal(logged?.['path'], join(dataDir, 'quarantine', TENANT, pb));

    // The same cut again (as after a crash before the WAL let go): the same object, counted once.
    await writeCutBlock(cutTarget(store, logs.logger), spanSource(f.batch));
    assert.deepEqual(quarantineFiles(dataDir), files);
    assert.equal((await quarantinedCount()) - counted, f.bad.length);
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a cut whose only span cannot be written quarantines it and writes no block', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skein-quarantine-'));
  const logs = captureLogs();
  const store = await openStore(dataDir, logs.logger);
  try {
    const lone = unwritable(span({ traceId: newTraceId(), name: 'only-bad' }), 'status');
    assert.equal(await writeCutBlock(cutTarget(store, logs.logger), spanSource(batchOf('checkout', [lone]))), undefined);
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
import { writeCutBlock } from ${JSON.stringify(new URL('../../src/store/cut-block.js', import.meta.url).href)};
import { Store } from ${JSON.stringify(new URL('../../src/store/store.js', import.meta.url).href)};
import { silentLogger } from ${JSON.stringify(new URL('../../src/telemetry/logger.js', import.meta.url).href)};
import { batchOf, newTraceId, span, spanSource, unwritable } from ${JSON.stringify(new URL('../helpers/spans.js', import.meta.url).href)};
import { fillFileSystem } from ${JSON.stringify(new URL('./wal/helpers.js', import.meta.url).href)};
const [mount] = process.argv.slice(2);
const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: join(mount, 'data') }] });
const store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
const spans = [];
for (let t = 0; t < 20; t++) spans.push(span({ traceId: newTraceId(), name: 'good-' + t }));
spans.push(unwritable(span({ traceId: newTraceId(), name: 'bad' }), 'kind'));
const source = spanSource(batchOf('checkout', spans));
const target = { tenant: 'team-a', blocks: store.blocks, quarantine: store.quarantine, logger: silentLogger };
const filler = join(mount, 'filler');
fillFileSystem(filler);
let failure;
await writeCutBlock(target, source).catch((err) => (failure = String(err.message ?? err)));
const whileFull = { failure, quarantined: (await store.quarantine.list('team-a')).length, blocks: store.blocks.blocks('team-a').length };
unlinkSync(filler);
await writeCutBlock(target, source);
const afterwards = { quarantined: (await store.quarantine.list('team-a')).map((e) => e.spans), blockSpans: store.blocks.blocks('team-a').reduce((n, b) => n + b.spanCount, 0) };
await store.close();
console.log(JSON.stringify({ whileFull, afterwards }));
`;


test('a cut on a full disk rethrows and quarantines nothing; once space is back it writes the good spans and quarantines the bad one', { skip: tmpfsUnavailable }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'skein-quarantine-full-'));
  try {
    const script = join(work, 'child.mjs');
    writeFileSync(script, FULL_DISK_CUT);
    const mountPoint = join(work, 'mnt');
    await mkdir(mountPoint);
    const result = await run('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount -t tmpfs -o size=8m skein-quarantine-test "$0" && exec "$@"', mountPoint, process.execPath, script, mountPoint]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      whileFull: { failure: string | undefined; quarantined: number; blocks: number };
      afterwards: { quarantined: number[]; blockSpans: number };
    };
    assert.match(String(report.whileFull.failure), /no space left on device|ENOSPC/i, 'the cut fails while the disk is full');
    assert.equal(report.whileFull.quarantined, 0, 'a full disk quarantines nothing');
    assert.equal(report.whileFull.blocks, 0);
    assert.deepEqual(report.afterwards, { quarantined: [1], blockSpans: 20 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
