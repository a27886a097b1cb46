import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { toHex } from '../../../../src/otlp/model.js';
import {
  PersistentQueue,
  decodeQueueRecord,
  encodeBatchRecord,
  encodeDoneRecord,
} from '../../../../src/pipeline/exporters/otlp/persistent-queue.js';
import type { QueueEntry } from '../../../../src/pipeline/exporters/otlp/queue.js';
import { silentLogger } from '../../../../src/telemetry/logger.js';
import { simpleTrace } from '../../../helpers/spans.js';
import { tempDir, waitFor } from './helpers.js';

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();

function openQueue(dir: string, capacity = 100): Promise<PersistentQueue> {
  const q = new PersistentQueue({ dir, capacity, logger: silentLogger, walLabel: 'test', maintenanceIntervalMs: 20 });
  return q.open().then(() => q);
}

async function takeAll(q: PersistentQueue, n: number): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (let i = 0; i < n; i++) out.push((await q.take())!);
  return out;
}

const traceOf = (e: QueueEntry) => toHex(e.batch[0]!.scopeSpans[0]!.spans[0]!.traceId);

test('records round-trip, ids past 2^32 included', () => {
  const data = Uint8Array.of(1, 2, 3);
  assert.deepEqual(decodeQueueRecord(encodeBatchRecord(2 ** 40 + 5, 'tenant-ä', data)), { kind: 'batch', id: 2 ** 40 + 5, tenant: 'tenant-ä', tracesData: Buffer.from(data) });
  assert.deepEqual(decodeQueueRecord(encodeDoneRecord([1, 300, 2 ** 35])), { kind: 'done', ids: [1, 300, 2 ** 35] });
  assert.throws(() => decodeQueueRecord(Uint8Array.of(7, 1)), /format version 7/);
});

test('batches not done survive a restart, in order; done ones do not come back', async () => {
  const dir = tempDir();
  let q = await openQueue(dir);
  const traces = Array.from({ length: 5 }, () => simpleTrace(2));
  for (const [i, t] of traces.entries()) assert.equal(await q.offer(`tenant-${i}`, t.batch, 2), true);
  const taken = await takeAll(q, 3);
  q.done(taken[0]!);
  q.done(taken[2]!);
  await q.close(); // taken[1] was being sent when the exporter stopped: not done, so kept

  q = await openQueue(dir);
  assert.equal(q.size, 3);
  assert.equal(q.spans, 6);
  const replayed = await takeAll(q, 3);
  assert.deepEqual(
    replayed.map((e) => [e.tenant, traceOf(e)]),
    [1, 3, 4].map((i) => [`tenant-${i}`, toHex(traces[i]!.traceId)]),
  );
  for (const e of replayed) q.done(e);
  // New batches get ids after the replayed ones, so a later replay cannot confuse them.
  const more = simpleTrace(1);
  await q.offer('x', more.batch, 1);
  await q.close();

  q = await openQueue(dir);
  const [only] = await takeAll(q, 1);
  assert.equal(traceOf(only!), toHex(more.traceId));
  assert.equal(q.size, 1);
  await q.close();
});

test('segments are removed once every batch in them is done', async () => {
  const dir = tempDir();
  const q = await openQueue(dir);
  for (let i = 0; i < 3; i++) await q.offer('t', simpleTrace(1).batch, 1);
  const taken = await takeAll(q, 3);
  await waitFor('a rotation', () => segments(dir).length >= 2);
  q.done(taken[0]!);
  q.done(taken[1]!);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(segments(dir).length >= 2, 'one batch still pins the segment');
  q.done(taken[2]!);
  await waitFor('finished segments to go', () => segments(dir).length === 1);
  await q.close();
  const reopened = await openQueue(dir);
  assert.equal(reopened.size, 0);
  await reopened.close();
  assert.ok(segments(dir).length <= 1);
});

test('full means full, and a replay beyond a smaller capacity keeps everything', async () => {
  const dir = tempDir();
  let q = await openQueue(dir, 3);
  for (let i = 0; i < 3; i++) assert.equal(await q.offer('t', simpleTrace(1).batch, 1), true);
  assert.equal(await q.offer('t', simpleTrace(1).batch, 1), false);
  await q.close();
  q = await openQueue(dir, 2);
  assert.equal(q.size, 3);
  assert.equal(await q.offer('t', simpleTrace(1).batch, 1), false);
  await q.close();
});
