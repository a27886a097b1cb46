import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeKey, HalfEdge, HalfEdgeStore, edgeHash, tenantSeed } from '../../../../src/pipeline/connectors/servicegraph/store.js';

const TRACE = new Uint8Array(16).fill(7);

/** The span ID a test names by a letter. */
function spanId(name: string): Uint8Array {
  return new Uint8Array(8).fill(name.charCodeAt(0));
}

/** A half-edge waiting under `name`'s span ID; `hash` forces one (to make collisions). */
function edge(name: string, tenant = 't', hash = edgeHash(tenantSeed(tenant), TRACE, spanId(name))): HalfEdge {
  return new HalfEdge(new EdgeKey(tenant, TRACE, spanId(name), hash));
}

function find(s: HalfEdgeStore, name: string, tenant = 't'): HalfEdge | undefined {
  return s.get(tenant, TRACE, spanId(name), edgeHash(tenantSeed(tenant), TRACE, spanId(name)));
}

test('half-edges expire in arrival order once their ttl has passed', () => {
  const expired: HalfEdge[] = [];
  const s = new HalfEdgeStore(1_000, 10, (e) => expired.push(e));
  const a = edge('a');
  const b = edge('b');
  assert.ok(s.add(a, 0));
  assert.ok(s.add(b, 500));
  s.expire(999);
  assert.deepEqual(expired, []);
  s.expire(1_000);
  assert.deepEqual(expired, [a]);
  s.expire(2_000);
  assert.deepEqual(expired, [a, b]);
  assert.equal(s.size, 0);
  assert.equal(find(s, 'a'), undefined);
});

test('a full store evicts its oldest half-edge only when it has expired', () => {
  const expired: HalfEdge[] = [];
  const s = new HalfEdgeStore(1_000, 2, (e) => expired.push(e));
  const a = edge('a');
  s.add(a, 0);
  s.add(edge('b'), 10);
  assert.equal(s.full(999), true);
  assert.equal(s.add(edge('c'), 999), false, 'full, nothing expired: dropped');
  assert.equal(s.full(1_000), false, 'a has expired: a new half-edge would take its place');
  assert.equal(s.add(edge('d'), 1_000), true, 'a has expired: evicted for d');
  assert.deepEqual(expired, [a]);
  assert.equal(find(s, 'd')?.expiresAt, 2_000);
  assert.equal(find(s, 'c'), undefined);
  s.remove(find(s, 'b')!);
  assert.equal(s.size, 1);
});

test('half-edges are told apart by their IDs and tenant, whatever their hashes', () => {
  const s = new HalfEdgeStore(1_000, 100, () => undefined);
  // Every key hashes alike: lookups, removals from the middle of a chain and expiry still see each one alone.
  const names = ['a', 'b', 'c', 'd', 'e'];
  const edges = names.map((n) => edge(n, 't', 1));
  for (const e of edges) s.add(e, 0);
  const other = edge('c', 'other tenant', 1);
  s.add(other, 0);
  const at = (n: string, tenant = 't') => s.get(tenant, TRACE, spanId(n), 1);
  for (const [i, n] of names.entries()) assert.equal(at(n), edges[i]);
  assert.equal(at('c', 'other tenant'), other);
  assert.equal(at('z'), undefined);
  s.remove(edges[2]!);
  s.remove(edges[4]!);
  s.remove(edges[0]!);
  assert.equal(at('c'), undefined);
  assert.equal(at('b'), edges[1]);
  assert.equal(at('d'), edges[3]);
  assert.equal(at('c', 'other tenant'), other);
  assert.equal(s.size, 3);
  const expired: HalfEdge[] = [];
  const t = new HalfEdgeStore(1_000, 100, (e) => expired.push(e));
  for (const e of [edge('a', 't', 1), edge('b', 't', 1), edge('c', 't', 1)]) t.add(e, 0);
  t.remove(t.get('t', TRACE, spanId('b'), 1)!);
  t.expire(1_000);
  assert.deepEqual(expired.map((e) => e.key.matches('t', TRACE, spanId('a')) ? 'a' : e.key.matches('t', TRACE, spanId('c')) ? 'c' : '?'), ['a', 'c']);
  assert.equal(t.size, 0);
});

test('a span ID is not taken for a different trace, tenant or ID length', () => {
  const key = new EdgeKey('t', TRACE, spanId('a'), 0);
  assert.ok(key.matches('t', TRACE, spanId('a')));
  assert.ok(!key.matches('u', TRACE, spanId('a')));
  assert.ok(!key.matches('t', new Uint8Array(16).fill(8), spanId('a')));
  assert.ok(!key.matches('t', TRACE, new Uint8Array(0)));
  assert.ok(!key.matches('t', new Uint8Array(15).fill(7), new Uint8Array(9).fill(7)), 'the boundary between the IDs counts');
  const root = new EdgeKey('t', TRACE, new Uint8Array(0), 0);
  assert.ok(root.matches('t', TRACE, new Uint8Array(0)), 'a root span waits under its trace ID alone');
  assert.ok(!root.matches('t', TRACE, new Uint8Array(8)));
  const odd = new EdgeKey('t', new Uint8Array(15).fill(7), new Uint8Array(9).fill(7), 0);
  assert.ok(odd.matches('t', new Uint8Array(15).fill(7), new Uint8Array(9).fill(7)), 'IDs of other lengths are kept whole');
  assert.ok(!odd.matches('t', new Uint8Array(16).fill(7), new Uint8Array(8).fill(7)));
  assert.ok(!odd.matches('t', new Uint8Array(15).fill(7), new Uint8Array(9).fill(8)));
});

test('an edge is complete once both sides are named', () => {
  const e = edge('k');
  assert.equal(e.complete, false);
  e.client = 'web';
  assert.equal(e.complete, false);
  e.server = '';
  assert.equal(e.complete, true, 'an empty service name still names the side');
});
