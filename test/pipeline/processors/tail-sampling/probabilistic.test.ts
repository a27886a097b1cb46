import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HASH_SALT, hashTraceId, probabilisticPolicy, samplingThreshold } from '../../../../src/pipeline/processors/tail-sampling/policies/probabilistic.js';
import type { TraceView } from '../../../../src/pipeline/processors/tail-sampling/policies/policy.js';
import { prng } from './helpers.js';

/** FNV-1a 64 the obvious way, in bigints, to check the fast one against. */
function fnv1a64(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash;
}

function traceWithId(traceId: Uint8Array): TraceView {
  return { traceId, spanCount: 1, earliestStartNs: 0n, latestEndNs: 0n, statusCodes: 0, resources: () => [], spans: () => [] };
}

function randomIds(seed: number, count: number): Uint8Array[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256)));
}

test('FNV-1a 64: published test vectors', () => {
  const none = new Uint8Array(0);
  assert.equal(hashTraceId('', none), 0xcbf29ce484222325n);
  assert.equal(hashTraceId('a', none), 0xaf63dc4c8601ec8cn);
  assert.equal(hashTraceId('foobar', none), 0x85944171f73967e8n);
});

test('FNV-1a 64: salt then trace ID, equal to the bigint reference', () => {
  for (const id of randomIds(1, 2000)) {
    assert.equal(hashTraceId(DEFAULT_HASH_SALT, id), fnv1a64(Buffer.concat([Buffer.from(DEFAULT_HASH_SALT), id])));
  }
});

test("threshold: MaxUint64 × ratio in 64-bit big.Float, truncated (the collector's calculateThreshold)", () => {
  assert.equal(samplingThreshold(0), 0n);
  assert.equal(samplingThreshold(100), 0xffffffffffffffffn);
  assert.equal(samplingThreshold(25), 0x3fffffffffffffffn);
  assert.equal(samplingThreshold(50), 0x7fffffffffffffffn);
  // 0.1 as a double is 0.1000000000000000055…; its product rounds to …263.875 at 64 bits.
  assert.equal(samplingThreshold(10), 1844674407370955263n);
  assert.equal(samplingThreshold(33), 0x547ae147ae147bffn);
  assert.equal(samplingThreshold(-50), 0n);
  assert.equal(samplingThreshold(150), 0xffffffffffffffffn);
});

test('the policy samples exactly the IDs whose salted hash is at or below the threshold', () => {
  for (const [salt, percentage] of [['', 10], ['prod-layer', 33], ['x', 0.1]] as const) {
    const policy = probabilisticPolicy({ hash_salt: salt, sampling_percentage: percentage });
    const threshold = samplingThreshold(percentage);
    for (const id of randomIds(2, 3000)) {
      const expected = hashTraceId(salt === '' ? DEFAULT_HASH_SALT : salt, id) <= threshold;
      assert.equal(policy.evaluate(traceWithId(id)), expected ? 'sampled' : 'not_sampled');
    }
  }
});

test('the sampled share matches the percentage over 100 000 IDs (within 4 standard deviations)', () => {
  for (const percentage of [1, 10, 25, 33]) {
    const policy = probabilisticPolicy({ hash_salt: '', sampling_percentage: percentage });
    const ids = randomIds(percentage, 100_000);
    const sampled = ids.filter((id) => policy.evaluate(traceWithId(id)) === 'sampled').length;
    const p = percentage / 100;
    const tolerance = 4 * Math.sqrt((p * (1 - p)) / ids.length);
    assert.ok(Math.abs(sampled / ids.length - p) < tolerance, `${percentage} %: got ${(sampled / ids.length) * 100}`);
  }
});

test('different salts choose different traces', () => {
  const a = probabilisticPolicy({ hash_salt: 'layer-1', sampling_percentage: 50 });
  const b = probabilisticPolicy({ hash_salt: 'layer-2', sampling_percentage: 50 });
  const ids = randomIds(3, 2000);
  const agree = ids.filter((id) => a.evaluate(traceWithId(id)) === b.evaluate(traceWithId(id))).length;
  assert.ok(agree > 800 && agree < 1200, `independent halves agree about half the time, got ${agree}`);
});
