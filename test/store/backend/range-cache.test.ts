// The local cache reads from a bucket go through (range-cache.ts), through a real S3
// backend on a real S3-protocol server: sparse files holding only the ranges reads ask
// for, each fetched once, eviction beyond max_bytes that spares pinned files. Bytes and
// requests are counted by the backend's own metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counter } from 'prom-client';
import { backendMetrics } from '../../../src/store/backend/metrics.js';
import { startS3Server, type S3Server } from '../../helpers/s3.js';
import { waitFor } from '../../helpers/poll.js';
import { openS3Backend, type S3BackendFixture } from './fixtures.js';

let server: S3Server;
const fixtures: S3BackendFixture[] = [];

before(async () => {
  server = await startS3Server();
});
after(async () => {
  for (const f of fixtures) await f.dispose();
  await server.stop();
});

async function open(cacheBytes?: number): Promise<S3BackendFixture> {
  const f = await openS3Backend(server, cacheBytes === undefined ? {} : { cacheBytes });
  fixtures.push(f);
  return f;
}

async function value(counter: Counter, labels: Record<string, string> = {}): Promise<number> {
  const found = (await counter.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return found?.value ?? 0;
}

/** What `fn` costs: bytes received from the bucket and ranged GETs sent. */
async function cost(fn: () => Promise<unknown>): Promise<{ bytes: number; gets: number }> {
  const bytes = await value(backendMetrics.receivedBytes);
  const gets = await value(backendMetrics.requests, { operation: 'get_range' });
  await fn();
  return { bytes: (await value(backendMetrics.receivedBytes)) - bytes, gets: (await value(backendMetrics.requests, { operation: 'get_range' })) - gets };
}

test('a read fetches only the ranges it asks for, and each of them once', async () => {
  const { backend } = await open();
  const data = randomBytes(1024 * 1024);
  await backend.write('t/b/data-0000.parquet', data);
  const size = data.length;

  const first = await cost(async () => {
    const f = await backend.readable('t/b/data-0000.parquet', { size, ranges: [[0, 100], [600_000, 1000]] });
    const file = readFileSync(f.path);
    assert.equal(file.length, size);
    assert.deepEqual(file.subarray(0, 100), data.subarray(0, 100));
    assert.deepEqual(file.subarray(600_000, 601_000), data.subarray(600_000, 601_000));
    f.release();
  });
  assert.deepEqual(first, { bytes: 1100, gets: 2 });

  const hits = await value(backendMetrics.cacheReads, { result: 'hit' });
  const again = await cost(async () => (await backend.readable('t/b/data-0000.parquet', { size, ranges: [[600_000, 1000]] })).release());
  assert.deepEqual(again, { bytes: 0, gets: 0 });
  assert.equal(await value(backendMetrics.cacheReads, { result: 'hit' }), hits + 1);

  // Only what is missing of a wider range.
  const wider = await cost(async () => (await backend.readable('t/b/data-0000.parquet', { size, ranges: [[0, 200], [600_000, 1000]] })).release());
  assert.deepEqual(wider, { bytes: 100, gets: 1 });

  const whole = await cost(async () => {
    const f = await backend.readable('t/b/data-0000.parquet', { size, all: true });
    assert.deepEqual(readFileSync(f.path), data);
    f.release();
  });
  // The rest, in one request: the 1000 bytes between its two missing pieces come again
  // rather than cost a second round trip.
  assert.deepEqual(whole, { bytes: size - 200, gets: 1 });
});

test('concurrent reads of the same range share one fetch', async () => {
  const { backend } = await open();
  const data = randomBytes(300_000);
  await backend.write('t/b/data-0000.parquet', data);
  const shared = await cost(async () => {
    const files = await Promise.all(Array.from({ length: 5 }, () => backend.readable('t/b/data-0000.parquet', { size: data.length, ranges: [[200_000, 10_000]] })));
    for (const f of files) {
      assert.deepEqual(readFileSync(f.path).subarray(200_000, 210_000), data.subarray(200_000, 210_000));
      f.release();
    }
  });
  assert.deepEqual(shared, { bytes: 10_000, gets: 1 });
});

test('beyond max_bytes the least recently used files go, never one a read still holds', async () => {
  const { backend } = await open(250_000);
  const size = 100_000;
  for (const name of ['a', 'b', 'c']) await backend.write(`t/${name}/data-0000.parquet`, randomBytes(size));
  const read = (name: string) => backend.readable(`t/${name}/data-0000.parquet`, { size, all: true });

  const a = await read('a'); // held
  const b = await read('b');
  b.release();
  const c = await read('c');
  c.release();
  // 300 000 bytes: b is the least recently used that nothing holds (a is older, but held).
  await waitFor('b to be evicted', () => !existsSync(b.path));
  assert.ok(existsSync(a.path) && existsSync(c.path));

  a.release();
  assert.ok(existsSync(a.path), 'released, and under the bound: kept');
  const again = await cost(async () => (await read('b')).release());
  assert.equal(again.bytes, size, 'an evicted file is fetched again');
  await waitFor('a to be evicted', () => !existsSync(a.path));
  assert.ok(existsSync(c.path));
});

test('the cache directory is emptied when the cache opens: its range maps are not kept', async () => {
  const f = await open();
  await mkdir(f.cacheDir, { recursive: true });
  const stray = join(f.cacheDir, 'left-by-an-earlier-process');
  await writeFile(stray, 'x');
  await f.backend.write('t/b/meta.json', Buffer.from('{}'));
  (await f.backend.readable('t/b/meta.json', { size: 2, all: true })).release();
  assert.equal(existsSync(stray), false);
});
