// The per-tenant ingestion rate (src/receivers/rate-limit.ts), on a clock the test moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenantRateLimiter } from '../../src/receivers/rate-limit.js';

test('a tenant takes its burst at once, then its rate; a refused request takes nothing; other tenants have their own buckets', () => {
  let now = 0;
  const rates = new TenantRateLimiter(() => now);
  assert.deepEqual(rates.take('a', 600, 100, 1000), { taken: true });
  assert.deepEqual(rates.take('a', 400, 100, 1000), { taken: true });
  assert.deepEqual(rates.take('a', 50, 100, 1000), { taken: false, waitMs: 500 });
  assert.deepEqual(rates.take('b', 1000, 100, 1000), { taken: true });
  now = 500;
  assert.deepEqual(rates.take('a', 50, 100, 1000), { taken: true });
  now = 60_000;
  // Refilled up to the burst, not beyond.
  assert.deepEqual(rates.take('a', 1001, 100, 1000), { taken: false, waitMs: Infinity });
  assert.deepEqual(rates.take('a', 1000, 100, 1000), { taken: true });
});

test('a rate of 0 takes everything; a lowered burst caps what the bucket holds', () => {
  let now = 0;
  const rates = new TenantRateLimiter(() => now);
  assert.deepEqual(rates.take('a', 1e9, 0, 0), { taken: true });
  assert.deepEqual(rates.take('a', 10, 100, 1000), { taken: true });
  now = 1000;
  assert.deepEqual(rates.take('a', 200, 100, 100), { taken: false, waitMs: Infinity });
  assert.deepEqual(rates.take('a', 100, 100, 100), { taken: true });
});
