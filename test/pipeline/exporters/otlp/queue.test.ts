import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue, MemoryQueue, entryProtobuf, type QueueEntry } from '../../../../src/pipeline/exporters/otlp/queue.js';
import { decodeTracesData } from '../../../../src/otlp/protobuf.js';
import { simpleTrace } from '../../../helpers/spans.js';

const entry = (tenant: string, spans = 1): QueueEntry => ({ tenant, batch: [], spans, encoded: undefined });

test('holds at most capacity batches, counting those taken until they are done', async () => {
  const q = new MemoryQueue(2);
  assert.equal(await q.offer('a', [], 3), true);
  assert.equal(await q.offer('b', [], 4), true);
  assert.equal(await q.offer('c', [], 5), false, 'full');
  assert.deepEqual([q.size, q.spans, q.capacity], [2, 7, 2]);
  const first = (await q.take())!;
  assert.equal(first.tenant, 'a', 'first in, first out');
  assert.equal(await q.offer('c', [], 5), false, 'a batch being sent still takes room');
  q.done(first);
  assert.equal(await q.offer('c', [], 5), true);
  assert.deepEqual([q.size, q.spans], [2, 9]);
});

test('a taker waits for the next batch; stopIntake lets takers empty the queue, then ends them', async () => {
  const q = new MemoryQueue(10);
  const waiting = q.take();
  await q.offer('a', [], 1);
  assert.equal((await waiting)!.tenant, 'a');
  await q.offer('b', [], 1);
  q.stopIntake();
  assert.equal(await q.offer('c', [], 1), false, 'no offers after stopIntake');
  assert.equal((await q.take())!.tenant, 'b');
  assert.equal(await q.take(), undefined);
});

test('after stopIntake, takers still wait for batches whose durable write is in progress', async () => {
  const q = new BoundedQueue<QueueEntry>(10);
  assert.equal(q.reserve(1), true);
  q.stopIntake();
  const waiting = q.take();
  let settled = false;
  void waiting.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(settled, false);
  q.push(entry('late'));
  assert.equal((await waiting)!.tenant, 'late');
  assert.equal(await q.take(), undefined);

  const failed = new BoundedQueue<QueueEntry>(10);
  failed.reserve(1);
  failed.stopIntake();
  const end = failed.take();
  failed.unreserve(1);
  assert.equal(await end, undefined, 'a failed write does not leave takers hanging');
  assert.equal(failed.size, 0);
});

test('close ends takers and drops waiting batches; restore may exceed capacity', async () => {
  const q = new BoundedQueue<QueueEntry>(1);
  q.restore(entry('a'));
  q.restore(entry('b'));
  assert.equal(q.size, 2);
  assert.equal(q.reserve(1), false);
  q.close();
  assert.equal(await q.take(), undefined);
});

test('a batch is encoded once, when first needed', () => {
  const { batch } = simpleTrace(2);
  const e: QueueEntry = { tenant: 't', batch, spans: 2, encoded: undefined };
  const bytes = entryProtobuf(e);
  assert.equal(entryProtobuf(e), bytes);
  assert.equal(decodeTracesData(bytes)[0]!.scopeSpans[0]!.spans.length, 2);
});
