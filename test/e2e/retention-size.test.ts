// Retention by size and for the data disk, end to end on a real Skein: blocks are written
// out of age order by one run, and a restart with a limit deletes the oldest first (by their
// newest span), per tenant (the block_retention_bytes override) and for every tenant
// (storage.max_bytes); past the disk watermark the oldest blocks of any tenant go, never
// one within the floor (storage.disk.min_retention), while the OpenTelemetry SDK's exporter
// keeps getting its spans acknowledged; and on a real full disk (a small tmpfs), a refused
// write makes room at once, so the exporter's retry succeeds. /metrics shows each tenant's
// bytes and the deletions by reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';
import { waitFor } from '../helpers/poll.js';
import { fillFileSystem } from '../store/wal/helpers.js';
import { smallTmpfsAt, tmpfsUnavailable } from '../helpers/namespaces.js';

const HOUR_NS = 3_600_000_000_000n;
/** Maintenance often, and no merging: the blocks this file tells apart stay apart. */
const MAINTENANCE = '  compaction:\n    interval: 200ms\n    min_input_blocks: 100\n';
/** The watermark off (no free-space threshold), for the run that writes the blocks. */
const NO_WATERMARK = '  disk:\n    high_watermark: 0\n    low_watermark: 0\n';

interface BlockOnDisk {
  blockId: string;
  maxEnd: bigint;
  /** Every file of the block: what Skein counts as its bytes. */
  bytes: number;
}

function blocksOnDisk(dataDir: string, tenant: string): BlockOnDisk[] {
  const dir = join(dataDir, 'blocks', tenant);
  if (!existsSync(dir)) return [];
  const out: BlockOnDisk[] = [];
  for (const blockId of readdirSync(dir)) {
    const metaPath = join(dir, blockId, 'meta.json');
    if (!existsSync(metaPath)) continue;
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { maxEndUnixNano: string };
    const bytes = readdirSync(join(dir, blockId)).reduce((n, f) => n + statSync(join(dir, blockId, f)).size, 0);
    out.push({ blockId, maxEnd: BigInt(meta.maxEndUnixNano), bytes });
  }
  return out.sort((a, b) => (a.maxEnd < b.maxEnd ? -1 : 1));
}

const idsOf = (blocks: readonly BlockOnDisk[]): string[] => blocks.map((b) => b.blockId).sort();
const bytesOf = (blocks: readonly BlockOnDisk[]): number => blocks.reduce((n, b) => n + b.bytes, 0);

/** One block per trace: each trace started `hoursAgo` before now, sent and flushed on its own. */
async function writeBlocks(skein: SkeinProcess, writes: ReadonlyArray<[tenant: string, hoursAgo: number]>): Promise<Map<string, string>> {
  const traceIds = new Map<string, string>();
  for (const [tenant, hoursAgo] of writes) {
    const startUnixNano = BigInt(Date.now()) * 1_000_000n - BigInt(Math.round(hoursAgo * 3600)) * 1_000_000_000n;
    const t = simpleTrace(3, { startUnixNano });
    const headers = { 'X-Scope-OrgID': tenant };
    assert.equal((await postProtobuf(skein.otlpHttpUrl, t.batch, headers)).status, 200);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST', headers })).status, 204);
    traceIds.set(`${tenant}@${hoursAgo}`, toHex(t.traceId));
  }
  return traceIds;
}

/** The block IDs of each `retention deleted blocks` log line with this reason, in the order they were logged. */
function deletionsLogged(skein: SkeinProcess, reason: string): Array<{ tenant: string; blocks: string[] }> {
  return skein.logs
    .filter((l) => l['msg'] === 'retention deleted blocks' && l['reason'] === reason)
    .map((l) => ({ tenant: String(l['tenant']), blocks: l['blocks'] as string[] }));
}

function sdkSpans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('retention-test');
  for (let i = 0; i < count; i++) tracer.startSpan(`op-${i}`).end();
  return memory.getFinishedSpans();
}

/** Exports through the SDK's OTLP/HTTP protobuf exporter (which retries what Skein refuses as retryable). */
async function exportWithSdk(skein: SkeinProcess, tenant: string, spans: ReadableSpan[]): Promise<ExportResult> {
  const exporter = new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces`, headers: { 'X-Scope-OrgID': tenant }, timeoutMillis: 30_000 });
  try {
    return await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  } finally {
    await exporter.shutdown();
  }
}

function overridesFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'skein-overrides-')), 'overrides.yaml');
  writeFileSync(file, text);
  return file;
}

test('over max_bytes the oldest blocks go first: per tenant by block_retention_bytes, for the others by storage.max_bytes', async () => {
  const dataDir = tempDir();
  const first = await startSkein({ dataDir, configYaml: `storage:\n${MAINTENANCE}` });
  try {
    // Out of age order, interleaving the tenants.
    await writeBlocks(first, [
      ['capped', 3],
      ['plain', 3],
      ['capped', 5],
      ['plain', 5],
      ['capped', 1],
      ['plain', 1],
      ['capped', 4],
      ['plain', 4],
    ]);
  } finally {
    await first.stop();
  }
  const capped = blocksOnDisk(dataDir, 'capped');
  const plain = blocksOnDisk(dataDir, 'plain');
  assert.equal(capped.length, 4);
  assert.equal(plain.length, 4);
  // capped keeps its two newest blocks (1h and 3h old), plain its three newest.
  const cappedLimit = bytesOf(capped.slice(2));
  const plainLimit = bytesOf(plain.slice(1));
  const overrides = overridesFile(`overrides:\n  capped: { block_retention_bytes: ${cappedLimit} }\n`);

  const skein = await startSkein({
    dataDir,
    configYaml: `storage:\n  max_bytes: ${plainLimit}\n${MAINTENANCE}overrides:\n  per_tenant_override_config: ${overrides}\n`,
  });
  try {
    // Logged once a tenant's deletions are done.
    await waitFor('size retention of both tenants', () => deletionsLogged(skein, 'size').length === 2);
    assert.deepEqual(idsOf(blocksOnDisk(dataDir, 'capped')), idsOf(capped.slice(2)), 'capped kept its newest blocks');
    assert.deepEqual(idsOf(blocksOnDisk(dataDir, 'plain')), idsOf(plain.slice(1)), 'plain kept its newest blocks');
    // Oldest first, in one run per tenant.
    assert.deepEqual(deletionsLogged(skein, 'size'), [
      { tenant: 'capped', blocks: [capped[0]!.blockId, capped[1]!.blockId] },
      { tenant: 'plain', blocks: [plain[0]!.blockId] },
    ]);
    const limited = skein.logs.find((l) => l['msg'] === 'retention deleted blocks' && l['tenant'] === 'capped');
    assert.equal(limited?.['maxBytes'], cappedLimit);

    const text = await metricsText(skein);
    // Bytes per tenant: every file of its blocks, what the limit compares.
    assert.equal(metricValue(text, 'skein_block_bytes', { tenant: 'capped' }), cappedLimit);
    assert.equal(metricValue(text, 'skein_block_bytes', { tenant: 'plain' }), plainLimit);
    assert.equal(metricValue(text, 'skein_retention_deleted_blocks_total', { tenant: 'capped', reason: 'size' }), 2);
    assert.equal(metricValue(text, 'skein_retention_deleted_blocks_total', { tenant: 'plain', reason: 'size' }), 1);
    assert.equal(metricValue(text, 'skein_retention_deleted_bytes_total', { tenant: 'capped', reason: 'size' }), bytesOf(capped.slice(0, 2)));
  } finally {
    await skein.stop();
  }
});

test('past the disk watermark the oldest blocks of any tenant go first, down to the floor, while the SDK exporter keeps getting acknowledged', async () => {
  const dataDir = tempDir();
  const first = await startSkein({ dataDir, configYaml: `storage:\n${MAINTENANCE}${NO_WATERMARK}` });
  let traces: Map<string, string>;
  try {
    traces = await writeBlocks(first, [
      ['a', 3],
      ['b', 5],
      ['a', 0],
      ['a', 4],
      ['b', 0.5],
    ]);
  } finally {
    await first.stop();
  }
  const before = [...blocksOnDisk(dataDir, 'a'), ...blocksOnDisk(dataDir, 'b')].sort((x, y) => (x.maxEnd < y.maxEnd ? -1 : 1));
  assert.equal(before.length, 5);
  const [b5, a4, a3, b05, a0] = before;

  // Free space can never reach a million GiB: the disk is always past this watermark.
  const skein = await startSkein({
    dataDir,
    configYaml: `storage:\n${MAINTENANCE}  disk:\n    high_watermark: 1000000GiB\n    low_watermark: 1000000GiB\n    min_retention: 2h\n`,
  });
  try {
    const stuck = await waitFor('the watermark to give up at the floor', () => skein.logs.find((l) => String(l['msg']).startsWith('data disk still past storage.disk.low_watermark')));
    assert.equal(stuck['level'], 'warn');
    assert.equal(stuck['minRetentionMs'], 2 * 3_600_000);
    // One block at a time, the oldest of any tenant first.
    assert.deepEqual(deletionsLogged(skein, 'disk'), [
      { tenant: 'b', blocks: [b5!.blockId] },
      { tenant: 'a', blocks: [a4!.blockId] },
      { tenant: 'a', blocks: [a3!.blockId] },
    ]);
    assert.deepEqual(idsOf(blocksOnDisk(dataDir, 'a')), [a0!.blockId]);
    assert.deepEqual(idsOf(blocksOnDisk(dataDir, 'b')), [b05!.blockId]);
    const summary = skein.logs.find((l) => l['msg'] === 'data disk past its high watermark: deleted the oldest blocks');
    assert.equal(summary?.['blocks'], 3);
    assert.equal(summary?.['highWatermark'], '1000000GiB');

    // Ingest goes on, into the WAL and a new block the floor keeps.
    const sent = sdkSpans(5);
    const result = await exportWithSdk(skein, 'a', sent);
    assert.equal(result.code, ExportResultCode.SUCCESS, String(result.error?.message));
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST', headers: { 'X-Scope-OrgID': 'a' } })).status, 204);
    // A block past the floor written now is deleted by a later run, which leaves the recent ones.
    const late = await writeBlocks(skein, [['b', 6]]);
    await waitFor('the watermark to delete the block past the floor', () => deletionsLogged(skein, 'disk').length === 4);
    assert.equal(blocksOnDisk(dataDir, 'b').length, 1, 'b keeps its block within the floor');
    assert.equal(blocksOnDisk(dataDir, 'a').length, 2, 'a keeps its block within the floor and the one the SDK just wrote');
    for (const s of sent) {
      assert.equal((await fetch(`${skein.url}/api/traces/${s.spanContext().traceId}`, { headers: { 'X-Scope-OrgID': 'a' } })).status, 200);
    }
    assert.equal((await fetch(`${skein.url}/api/traces/${traces.get('a@0')}`, { headers: { 'X-Scope-OrgID': 'a' } })).status, 200);
    assert.equal((await fetch(`${skein.url}/api/traces/${late.get('b@6')}`, { headers: { 'X-Scope-OrgID': 'b' } })).status, 404);

    const text = await metricsText(skein);
    assert.equal(metricValue(text, 'skein_retention_deleted_blocks_total', { reason: 'disk' }), 4);
    assert.equal(metricValue(text, 'skein_retention_deleted_blocks_total', { tenant: 'a', reason: 'disk' }), 2);
    assert.equal(metricValue(text, 'skein_block_bytes', { tenant: 'a' }), bytesOf(blocksOnDisk(dataDir, 'a')));
    assert.equal(metricValue(text, 'skein_block_bytes', { tenant: 'b' }), bytesOf(blocksOnDisk(dataDir, 'b')));
    assert.ok(metricValue(text, 'skein_data_disk_size_bytes') > 0);
    assert.ok(metricValue(text, 'skein_data_disk_free_bytes') > 0);
  } finally {
    await skein.stop();
  }
});


test('on a full disk the refused write makes room at once: old blocks go, and the SDK exporter\'s retry is acknowledged', { skip: tmpfsUnavailable }, async () => {
  // The data directory is a 16 MiB tmpfs in the server's own mount namespace; the test
  // reaches it through /proc/<pid>/root to fill it up. Maintenance runs only when asked
  // by a full disk here (its interval is an hour).
  const mountPoint = tempDir();
  const skein = await startSkein({
    dataDir: `${mountPoint}/data`,
    configYaml: 'storage:\n  compaction:\n    interval: 1h\n',
    wrap: smallTmpfsAt(mountPoint),
  });
  const filler = `/proc/${skein.child.pid}/root${mountPoint}/filler`;
  try {
    const old = await writeBlocks(skein, [
      ['t', 5],
      ['t', 4],
    ]);
    fillFileSystem(filler);

    // Larger than what the WAL's last page still holds, so it needs pages the disk no longer has.
    const sent = sdkSpans(200);
    const result = await exportWithSdk(skein, 't', sent);
    assert.equal(result.code, ExportResultCode.SUCCESS, String(result.error?.message));
    // The first attempt found the disk full: refused as retryable, and counted so.
    assert.ok(skein.logs.some((l) => l['msg'] === 'write-ahead log write failed; request refused as retryable'));
    // Past the default watermark (90% used) by far more than they hold: both old blocks went, the oldest first.
    assert.deepEqual(
      deletionsLogged(skein, 'disk').map((d) => d.tenant),
      ['t', 't'],
    );
    assert.equal(skein.logs.find((l) => l['msg'] === 'data disk past its high watermark: deleted the oldest blocks')?.['blocks'], 2);
    for (const [key, traceId] of old) {
      assert.equal((await fetch(`${skein.url}/api/traces/${traceId}`, { headers: { 'X-Scope-OrgID': 't' } })).status, 404, key);
    }
    for (const s of sent) {
      assert.equal((await fetch(`${skein.url}/api/traces/${s.spanContext().traceId}`, { headers: { 'X-Scope-OrgID': 't' } })).status, 200);
    }
  } finally {
    try {
      unlinkSync(filler);
    } catch {
      // The process is gone with its mount.
    }
    await skein.stop();
  }
});
