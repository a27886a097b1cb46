import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeWindow } from '../../../../src/pipeline/connectors/shared/time-window.js';

const MIN = 60_000;

test('buckets overlapping a range are returned oldest first, with the time covered', () => {
  const w = new TimeWindow<number>(MIN, 5 * MIN, 10);
  for (let m = 0; m < 5; m++) w.bucketAt(m * MIN + 1).set('x', m);
  const now = 4 * MIN + 30_000;
  const r = w.between(MIN, 3 * MIN, now);
  assert.deepEqual(r.buckets.map((b) => b.get('x')), [1, 2]);
  assert.deepEqual([r.fromMs, r.toMs], [MIN, 3 * MIN]);
  // A range reaching into the future stops now (+1 ms: the current instant counts).
  const open = w.between(0, 100 * MIN, now);
  assert.deepEqual(open.buckets.map((b) => b.get('x')), [0, 1, 2, 3, 4]);
  assert.equal(open.toMs, now + 1);
});

test('slots past the retention are neither returned nor kept', () => {
  const w = new TimeWindow<number>(MIN, 3 * MIN, 10);
  w.bucketAt(0).set('x', 0);
  w.bucketAt(MIN).set('x', 1);
  const now = 3 * MIN; // minute 0 has left the 3-minute ring
  assert.deepEqual(w.between(0, 4 * MIN, now).buckets.map((b) => b.get('x')), [1]);
  // Minute 3 reuses minute 0's slot, starting empty.
  assert.equal(w.bucketAt(now).size, 0);
  assert.deepEqual(w.between(0, 10 * MIN, 10 * MIN).buckets, []);
});
