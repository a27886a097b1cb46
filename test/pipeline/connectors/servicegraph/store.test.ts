import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HalfEdge, HalfEdgeStore } from '../../../../src/pipeline/connectors/servicegraph/store.js';

function store(ttl: number, maxItems: number) {
  const expired: string[] = [];
  return { expired, store: new HalfEdgeStore(ttl, maxItems, (e) => expired.push(e.key)) };
}

test('half-edges expire in arrival order once their ttl has passed', () => {
  const { store: s, expired } = store(1_000, 10);
  assert.ok(s.add(new HalfEdge('a', 't'), 0));
  assert.ok(s.add(new HalfEdge('b', 't'), 500));
  s.expire(999);
  assert.deepEqual(expired, []);
  s.expire(1_000);
  assert.deepEqual(expired, ['a']);
  s.expire(2_000);
  assert.deepEqual(expired, ['a', 'b']);
  assert.equal(s.size, 0);
});

test('a full store evicts its oldest half-edge only when it has expired', () => {
  const { store: s, expired } = store(1_000, 2);
  s.add(new HalfEdge('a', 't'), 0);
  s.add(new HalfEdge('b', 't'), 10);
  assert.equal(s.add(new HalfEdge('c', 't'), 999), false, 'full, nothing expired: dropped');
  assert.equal(s.add(new HalfEdge('d', 't'), 1_000), true, 'a has expired: evicted for d');
  assert.deepEqual(expired, ['a']);
  assert.equal(s.get('d')?.expiresAt, 2_000);
  s.remove(s.get('b')!);
  assert.equal(s.size, 1);
});

test('an edge is complete once both sides are named', () => {
  const e = new HalfEdge('k', 't');
  assert.equal(e.complete, false);
  e.client = 'web';
  assert.equal(e.complete, false);
  e.server = '';
  assert.equal(e.complete, true, 'an empty service name still names the side');
});
