// Admission: who is let in under load and in what order (src/receivers/admission.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gate, settle } from '../helpers/gates.js';
import { Admission } from '../../src/receivers/admission.js';
import { OverloadError } from '../../src/lib/errors.js';

test('at most `concurrency` requests run at once, and the others start first come first served', async () => {
  const admission = new Admission({ pressure: () => undefined, maxInFlightBytes: Infinity, concurrency: 2, retryAfterSeconds: 1 });
  const started: number[] = [];
  const gates = [gate(), gate(), gate(), gate()];
  const runs = gates.map((g, i) =>
    admission.run(10, {}, async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  await settle();
  assert.deepEqual(started, [0, 1]);
  gates[1]!.open();
  await runs[1];
  await settle();
  assert.deepEqual(started, [0, 1, 2]);
  for (const g of gates) g.open();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
});

test('turns go by when the headers arrived, not by when the body was complete', async () => {
  const admission = new Admission({ pressure: () => undefined, maxInFlightBytes: Infinity, concurrency: 1, retryAfterSeconds: 1 });
  const busy = gate();
  const order: string[] = [];
  const first = admission.run(1, {}, () => busy.promise);
  const now = Date.now();
  // The slow body (headers first, body complete last) goes before the request that came later.
  const later = admission.run(1, { arrivedAt: now - 100 }, async () => void order.push('later headers'));
  const earlier = admission.run(1, { arrivedAt: now - 900 }, async () => void order.push('earlier headers'));
  busy.open();
  await Promise.all([first, later, earlier]);
  assert.deepEqual(order, ['earlier headers', 'later headers']);
});

test('a request that cannot start before its deadline is refused retryably, without running', async () => {
  const admission = new Admission({ pressure: () => undefined, maxInFlightBytes: Infinity, concurrency: 1, retryAfterSeconds: 3 });
  const busy = gate();
  const first = admission.run(1, {}, () => busy.promise);
  let ran = false;
  const late = await admission.run(1, { deadline: Date.now() + 600 }, async () => {
    ran = true;
  });
  assert.ok(late instanceof OverloadError);
  assert.equal(late.retryAfterSeconds, 3);
  assert.match(late.message, /^receivers are busy: the request waited \d+ ms without its turn; retry later$/);
  assert.equal(ran, false);
  busy.open();
  await first;
});

test('the in-flight budget refuses a request that would pass it, but always lets one in', async () => {
  const admission = new Admission({ pressure: () => undefined, maxInFlightBytes: 100, concurrency: 4, retryAfterSeconds: 1 });
  assert.equal(admission.refusal(1_000), undefined, 'alone, even a large request comes in');
  const busy = gate();
  const first = admission.run(80, {}, () => busy.promise);
  assert.equal(admission.refusal(20), undefined);
  const refused = admission.refusal(21);
  assert.ok(refused instanceof OverloadError);
  assert.match(refused.message, /in flight already hold 80 bytes, the most memory_limiter's spike room allows \(100 bytes\)/);
  busy.open();
  await first;
  assert.equal(admission.refusal(100), undefined, 'the bytes are given back when the request is done');
});

test("the memory_limiter's refusal comes first", () => {
  const over = new OverloadError('memory usage 900 MiB is over the soft limit', 1);
  const admission = new Admission({ pressure: () => over, maxInFlightBytes: Infinity, concurrency: 4, retryAfterSeconds: 1 });
  assert.equal(admission.refusal(0), over);
});
