// The cache of proven credentials: entries expire, the oldest goes first when full, and
// keys are digests that no two credential lists share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialKey, VerifiedCache } from '../../src/auth/verified-cache.js';

test('an entry is returned until it expires, never after', () => {
  let now = 1000;
  const cache = new VerifiedCache<string>(10, () => now);
  cache.set('k', 'v', 2000);
  assert.equal(cache.get('k'), 'v');
  now = 1999;
  assert.equal(cache.get('k'), 'v');
  now = 2000;
  assert.equal(cache.get('k'), undefined);
  assert.equal(cache.size, 0);
  cache.set('dead', 'v', 2000);
  assert.equal(cache.size, 0, 'an entry already expired is not kept');
});

test('beyond its bound the oldest entry goes first', () => {
  const cache = new VerifiedCache<number>(3, () => 0);
  for (let i = 0; i < 5; i++) cache.set(`k${i}`, i, 10);
  assert.deepEqual(['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => cache.get(k)), [undefined, undefined, 2, 3, 4]);
});

test('keys: the same parts give the same key, parts that concatenate alike do not', () => {
  assert.equal(credentialKey('ann', 'pw', 'h'), credentialKey('ann', 'pw', 'h'));
  assert.notEqual(credentialKey('ann', 'pw'), credentialKey('an', 'npw'));
  assert.notEqual(credentialKey('a:b', 'c'), credentialKey('a', 'b:c'));
  assert.ok(!credentialKey('secret-token').includes('secret'));
});
