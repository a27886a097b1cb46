// Skein with `storage.backend: s3` against a real S3-protocol server on loopback: blocks
// land in the bucket under `<prefix>/<tenant>/<blockId>/`, and a second Skein with an
// empty data directory answers trace-by-ID and search from them; retention deletes
// expired blocks from the bucket; and while the bucket is unreachable, ingest keeps
// acknowledging into the WAL up to limits.max_head_bytes_pending, then refuses as
// retryable, quarantines nothing, and once the bucket is back every acknowledged span
// is in a block.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { toHex } from '../../src/otlp/model.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace, str } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';

const TENANT = 'single-tenant';
const HOUR_NS = 3_600_000_000_000n;

let s3: S3Server;
const running: SkeinProcess[] = [];

before(async () => {
  s3 = await startS3Server();
});
after(async () => {
  for (const p of running) await p.stop();
  await s3.stop();
});

async function start(prefix: string, extraYaml: string[] = [], dataDir?: string): Promise<SkeinProcess> {
  const p = await startSkein({ ...(dataDir !== undefined && { dataDir }), configYaml: ['storage:', s3.storageYaml({ prefix }), ...extraYaml].join('\n') });
  running.push(p);
  return p;
}

async function flush(skein: SkeinProcess): Promise<Response> {
  return fetch(`${skein.url}/flush`, { method: 'POST' });
}

/** Spans in a trace-by-ID answer (Tempo's JSON, v1 or v2). */
async function spanCount(skein: SkeinProcess, path: string): Promise<number> {
  const res = await fetch(`${skein.url}${path}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text.slice(0, 300)}`);
  const json = JSON.parse(text) as { trace?: Batches } & Batches;
  // v1 gives the batches twice (resourceSpans, and Tempo's historical batches); v2 under `trace`.
  const batches = (json.trace ?? json).resourceSpans ?? (json.trace ?? json).batches ?? [];
  return batches.reduce((n, b) => n + b.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);
}

interface Batches {
  resourceSpans?: Array<{ scopeSpans: Array<{ spans: unknown[] }> }>;
  batches?: Array<{ scopeSpans: Array<{ spans: unknown[] }> }>;
}

/** The block IDs that have a meta.json in the bucket, with their newest span's end. */
async function bucketBlocks(prefix: string): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const key of await s3.keys(`${prefix}/${TENANT}/`)) {
    if (!key.endsWith('/meta.json')) continue;
    // Retention may delete it between the listing and this read.
    const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key })).catch((err: unknown) => {
      if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
      throw err;
    });
    if (res === undefined) continue;
    const meta = JSON.parse(await res.Body!.transformToString()) as { blockId: string; maxEndUnixNano: string };
    out.set(meta.blockId, BigInt(meta.maxEndUnixNano));
  }
  return out;
}

test('blocks go to the bucket; a second Skein with an empty data directory finds the traces there', async () => {
  const prefix = 'e2e-spine';
  const a = await start(prefix);
  const t = simpleTrace(5, { service: 's3-spine', startUnixNano: BigInt(Date.now() - 60_000) * 1_000_000n });
  t.batch[0]!.scopeSpans[0]!.spans[0]!.attributes.push(str('bucket.test', 'yes'));
  assert.equal((await postProtobuf(a.otlpHttpUrl, t.batch)).status, 200);
  assert.equal((await flush(a)).status, 204);

  const blocks = await bucketBlocks(prefix);
  assert.equal(blocks.size, 1);
  const [blockId] = blocks.keys();
  assert.deepEqual(
    (await s3.keys(`${prefix}/${TENANT}/${blockId}/`)).map((k) => k.slice(k.lastIndexOf('/') + 1)),
    ['bloom.bin', 'data-0000.parquet', 'meta.json', 'tags.json', 'trace-index.bin'],
  );
  assert.equal(existsSync(join(a.dataDir, 'blocks')), false, 'no block on local disk');

  // Another instance, nothing on its disk: everything it answers comes from the bucket.
  const b = await start(prefix);
  const id = toHex(t.traceId);
  assert.equal(await spanCount(b, `/api/traces/${id}`), 5);
  assert.equal(await spanCount(b, `/api/v2/traces/${id}`), 5);
  const range = `start=${Math.floor(Date.now() / 1000) - 3600}&end=${Math.floor(Date.now() / 1000) + 60}`;
  for (const query of [`tags=${encodeURIComponent('service.name=s3-spine')}`, `q=${encodeURIComponent('{ resource.service.name = "s3-spine" && span.bucket.test = "yes" }')}`]) {
    const res = await fetch(`${b.url}/api/search?${query}&${range}`);
    const body = (await res.json()) as { traces: Array<{ traceID: string }> };
    assert.equal(res.status, 200);
    assert.deepEqual(
      body.traces.map((x) => x.traceID.padStart(32, '0')),
      [id],
      query,
    );
  }
  const values = (await (await fetch(`${b.url}/api/v2/search/tag/span.bucket.test/values?${range}`)).json()) as { tagValues: Array<{ value: string }> };
  assert.deepEqual(
    values.tagValues.map((v) => v.value),
    ['yes'],
  );
});

test('retention deletes expired blocks from the bucket, and only those', async () => {
  const prefix = 'e2e-retention';
  const skein = await start(prefix, ['  retention: 2h', '  compaction:', '    interval: 500ms', '    min_input_blocks: 100']);
  const now = BigInt(Date.now()) * 1_000_000n;
  const old = [simpleTrace(3, { startUnixNano: now - 5n * HOUR_NS }), simpleTrace(2, { startUnixNano: now - 3n * HOUR_NS })];
  const recent = [simpleTrace(3, { startUnixNano: now - 1n * HOUR_NS }), simpleTrace(2, { startUnixNano: now })];
  // One block per trace, so each block's age is that trace's.
  for (const t of [...old, ...recent]) {
    assert.equal((await postProtobuf(skein.otlpHttpUrl, t.batch)).status, 200);
    assert.equal((await flush(skein)).status, 204);
  }
  const cutoff = now - 2n * HOUR_NS;
  const blockDirs = async () => new Set((await s3.keys(`${prefix}/${TENANT}/`)).map((k) => k.split('/')[2]!).filter((name) => !name.startsWith('~')));
  // A block goes meta.json first, its data after: the deletion is over once its directory is gone too.
  const left = await waitFor('retention to delete the old blocks from the bucket, data included', async () => {
    const blocks = await bucketBlocks(prefix);
    if (![...blocks.values()].every((end) => end >= cutoff)) return false;
    return (await blockDirs()).size === blocks.size && blocks;
  });
  assert.equal(left.size, recent.length);
  // Nothing of the deleted blocks is left behind, data included (beside them: the tenant's ~index.json).
  assert.deepEqual([...(await blockDirs())].sort(), [...left.keys()].sort());
  for (const t of old) assert.equal((await fetch(`${skein.url}/api/traces/${toHex(t.traceId)}`)).status, 404);
  for (const t of recent) assert.equal((await fetch(`${skein.url}/api/traces/${toHex(t.traceId)}`)).status, 200);
});

test('with the bucket unreachable, ingest fills the WAL up to max_head_bytes_pending, refuses as retryable, and loses nothing', async () => {
  const prefix = 'e2e-outage';
  const dataDir = tempDir();
  const skein = await start(prefix, ['  block:', '    max_head_duration: 1h', 'limits:', '  max_head_bytes_pending: 64KiB'], dataDir);
  await s3.stop();
  let stopped = true;
  try {
    const acknowledged: Array<{ id: string; spans: number }> = [];
    const post = async (): Promise<Response> => {
      const t = simpleTrace(4, { startUnixNano: BigInt(Date.now()) * 1_000_000n });
      const res = await postProtobuf(skein.otlpHttpUrl, t.batch);
      if (res.status === 200) acknowledged.push({ id: toHex(t.traceId), spans: 4 });
      return res;
    };
    assert.equal((await post()).status, 200);
    const failedFlush = await flush(skein);
    assert.equal(failedFlush.status, 503);
    assert.ok(failedFlush.headers.get('retry-after'));
    assert.match(await failedFlush.text(), /block storage unavailable: .*s3 bucket "skein-test" at http:\/\/127\.0\.0\.1:\d+: .*unreachable/);

    let refused: Response | undefined;
    for (let i = 0; i < 2000 && refused === undefined; i++) {
      const res = await post();
      if (res.status !== 200) refused = res;
    }
    assert.ok(refused, 'ingest never refused');
    assert.equal(refused.status, 429);
    assert.ok(refused.headers.get('retry-after'));
    assert.match(await refused.text(), /max_head_bytes_pending/);
    assert.ok(acknowledged.length > 1);

    // The cut failed on the bucket, not on the spans: nothing is set aside.
    const quarantine = (await (await fetch(`${skein.url}/api/skein/quarantine`)).json()) as { total: number };
    assert.equal(quarantine.total, 0);
    assert.deepEqual(existsSync(join(dataDir, 'quarantine', TENANT)) ? readdirSync(join(dataDir, 'quarantine', TENANT)) : [], []);

    await s3.start();
    stopped = false;
    assert.equal((await flush(skein)).status, 204);
    assert.ok((await bucketBlocks(prefix)).size >= 1);
    for (const t of acknowledged) assert.equal(await spanCount(skein, `/api/traces/${t.id}`), t.spans, t.id);
    // Ingest is accepted again.
    assert.equal((await post()).status, 200);
  } finally {
    if (stopped) await s3.start();
  }
});
