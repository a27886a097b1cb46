import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencySketch } from '../../../../src/pipeline/connectors/shared/latency-sketch.js';

/** Exact nearest-rank quantile of sorted values. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

test('quantiles are within 10 % of the exact ones across six orders of magnitude', () => {
  const sketch = new LatencySketch();
  const values: number[] = [];
  let x = 12345;
  for (let i = 0; i < 10_000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const v = 10 ** (-5 + 6 * (x / 2 ** 31)); // 10 µs … 10 s, log-uniform
    values.push(v);
    sketch.observe(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.01, 0.25, 0.5, 0.9, 0.99, 0.999]) {
    const got = sketch.quantile(q)!;
    const want = exact(values, q);
    assert.ok(Math.abs(got - want) / want <= 0.1, `q${q}: ${got} vs ${want}`);
  }
  assert.equal(sketch.quantile(1), values.at(-1));
});

test('empty sketches answer null; extremes and merges are exact', () => {
  const a = new LatencySketch();
  assert.equal(a.quantile(0.5), null);
  a.observe(0.25);
  assert.equal(a.quantile(0.5), 0.25, 'one value is its own quantile');
  const b = new LatencySketch();
  b.observe(0);
  b.observe(5_000); // beyond the last bucket
  a.merge(b);
  assert.equal(a.count, 3);
  assert.equal(a.quantile(0.01), 0);
  assert.equal(a.quantile(1), 5_000);
});
