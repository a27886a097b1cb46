// Query admission (src/query/admission.ts): the place queries wait for, overall and per tenant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gate, settle } from '../helpers/gates.js';
import { QueryAdmission, QueryQueueFullError } from '../../src/query/admission.js';

const FAR = () => Date.now() + 60_000;
const timedOut = () => new Error('timed out');

test('a tenant at its own max_concurrent_queries waits while other tenants\' queries run; its next starts when one of its own ends', async () => {
  const admission = new QueryAdmission({
    maxConcurrent: 3,
    maxQueued: 10,
    retryAfterSeconds: 1,
    tenantLimit: (tenant) => ({ max: tenant === 'a' ? 1 : 3, named: `max_concurrent_queries=${tenant === 'a' ? 1 : 3}` }),
  });
  const started: string[] = [];
  const query = (name: string, tenants: string | string[], g: { promise: Promise<void> }) =>
    admission.run(tenants, FAR(), timedOut, async () => {
      started.push(name);
      await g.promise;
    });
  const gates = { a1: gate(), a2: gate(), b1: gate(), ab: gate(), b2: gate() };
  const runs = [query('a1', 'a', gates.a1), query('a2', 'a', gates.a2), query('b1', 'b', gates.b1), query('ab', ['a', 'b'], gates.ab), query('b2', 'b', gates.b2)];
  await settle();
  // a2 and a|b wait for a's one place; b's queries take the free ones.
  assert.deepEqual(started, ['a1', 'b1', 'b2']);
  gates.b1.open();
  await settle();
  assert.deepEqual(started, ['a1', 'b1', 'b2'], 'a free place is no use to a tenant at its limit');
  gates.a1.open();
  await settle();
  assert.deepEqual(started, ['a1', 'b1', 'b2', 'a2'], 'the first in line of a takes its place');
  gates.a2.open();
  await settle();
  assert.deepEqual(started, ['a1', 'b1', 'b2', 'a2', 'ab']);
  for (const g of Object.values(gates)) g.open();
  await Promise.all(runs);
});

test('a query that cannot wait is refused naming the tenant\'s limit when that is what is full', async () => {
  const admission = new QueryAdmission({ maxConcurrent: 4, maxQueued: 0, retryAfterSeconds: 2, tenantLimit: () => ({ max: 1, named: 'max_concurrent_queries=1 (override for tenant "a")' }) });
  const g = gate();
  const first = admission.run('a', FAR(), timedOut, () => g.promise);
  await assert.rejects(admission.run('a', FAR(), timedOut, async () => undefined), (err: unknown) => {
    assert.ok(err instanceof QueryQueueFullError);
    assert.equal(err.retryAfterSeconds, 2);
    assert.match(err.message, /tenant "a"'s max_concurrent_queries=1 \(override for tenant "a"\) are running and query.max_queued_queries=0 are waiting/);
    return true;
  });
  assert.equal(await admission.run('b', FAR(), timedOut, async () => 'b ran'), 'b ran');
  g.open();
  await first;
});
