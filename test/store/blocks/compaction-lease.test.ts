// The compaction lease over a real LocalBackend directory shared by several
// contenders (each through its own backend, as instances over one bucket): one holder
// at a time, renewal, expiry handing it over, giving it up, a failed renewal ending the
// hold, and the start-up probe refusing a store that ignores conditional writes.
// Expiry is measured with a clock the test moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/telemetry/logger.js';
import type { Backend } from '../../../src/store/backend/backend.js';
import { LocalBackend } from '../../../src/store/backend/local.js';
import { CompactionLease, LEASE_KEY } from '../../../src/store/blocks/compaction-lease.js';
import { BendingBackend } from '../../helpers/backends.js';

const DURATION_MS = 60_000;

async function withDir(fn: (dir: string, clock: { now: number }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-lease-test-'));
  try {
    await fn(dir, { now: Date.now() });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function contender(dir: string, clock: { now: number }, holder: string, backend: Backend = new LocalBackend(dir, { shared: true })): Promise<CompactionLease> {
  return CompactionLease.open({ backend, holder, durationMs: DURATION_MS, logger: silentLogger, now: () => clock.now });
}

test('one contender holds the lease at a time; it renews it; expiry hands it over', () =>
  withDir(async (dir, clock) => {
    const a = await contender(dir, clock, '10.0.0.1:4317');
    const b = await contender(dir, clock, '10.0.0.2:4317');
    assert.equal(await a.tick(), true);
    assert.equal(await b.tick(), false);
    assert.equal(a.held(), true);
    assert.equal(b.held(), false);
    const lease = JSON.parse((await new LocalBackend(dir).read(LEASE_KEY)).toString()) as { holder: string; expiresAt: string };
    assert.equal(lease.holder, '10.0.0.1:4317');
    assert.equal(Date.parse(lease.expiresAt), clock.now + DURATION_MS);

    // Renewed every third of its duration, it stays a's.
    for (let i = 0; i < 5; i++) {
      clock.now += DURATION_MS / 3;
      assert.equal(await a.tick(), true);
      assert.equal(await b.tick(), false);
    }

    // a stops renewing (stuck, or gone): past the expiry it no longer counts itself the holder, and b takes over.
    clock.now += DURATION_MS + 1;
    assert.equal(a.held(), false);
    assert.equal(await b.tick(), true);
    assert.equal(await a.tick(), false, 'b’s lease has not expired');
    assert.equal(a.held(), false);
    assert.equal(b.held(), true);
  }));

test('of contenders racing for a free or expired lease, exactly one wins', () =>
  withDir(async (dir, clock) => {
    const contenders = await Promise.all(Array.from({ length: 8 }, (_, i) => contender(dir, clock, `10.0.0.${i}:4317`)));
    const free = await Promise.all(contenders.map((c) => c.tick()));
    assert.equal(free.filter(Boolean).length, 1);
    clock.now += DURATION_MS + 1;
    const expired = await Promise.all(contenders.map((c) => c.tick()));
    assert.equal(expired.filter(Boolean).length, 1);
    assert.equal(contenders.filter((c) => c.held()).length, 1);
  }));

test('a holder that closes gives the lease up at once; a failed renewal ends the hold', () =>
  withDir(async (dir, clock) => {
    const flaky = new BendingBackend(new LocalBackend(dir, { shared: true }));
    const a = await contender(dir, clock, 'a:4317', flaky);
    const b = await contender(dir, clock, 'b:4317');
    assert.equal(await a.tick(), true);
    flaky.failWrites = true;
    assert.equal(await a.tick(), false, 'the renewal failed');
    assert.equal(a.held(), false, 'so a stops compacting, though its lease has not expired');
    assert.equal(await b.tick(), false, 'and nobody else holds it before it expires');
    flaky.failWrites = false;
    assert.equal(await a.tick(), true, 'still a’s own lease: renewed');

    await a.close();
    assert.equal(a.held(), false);
    assert.equal(await b.tick(), true, 'given up: taken without waiting for the expiry');
  }));

test('the probe refuses a store that ignores conditional writes, naming cluster.compactor', () =>
  withDir(async (dir, clock) => {
    const ignoring = new BendingBackend(new LocalBackend(dir, { shared: true }));
    ignoring.ignoreConditions = true;
    await assert.rejects(contender(dir, clock, '10.0.0.7:4317', ignoring), (err: Error) => {
      assert.match(err.message, /does not honour conditional writes/);
      assert.match(err.message, /cluster\.compactor: "10\.0\.0\.7:4317"/);
      return true;
    });
    // Without conditional writes at all.
    const inner = new LocalBackend(dir, { shared: true });
    const none: Backend = {
      shared: true,
      list: (p) => inner.list(p),
      listObjects: (p) => inner.listObjects(p),
      read: (k) => inner.read(k),
      readRange: (k, o, l) => inner.readRange(k, o, l),
      write: (k, d) => inner.write(k, d),
      writeFile: (k, p) => inner.writeFile(k, p),
      delete: (p) => inner.delete(p),
      readable: (k) => inner.readable(k),
      directPath: (k) => inner.directPath(k),
      stagingDir: () => inner.stagingDir(),
    };
    await assert.rejects(contender(dir, clock, 'x:4317', none), /offers no conditional writes.*cluster\.compactor/);
    // The probe leaves nothing behind; a store that honours them passes.
    assert.deepEqual(await new LocalBackend(dir).list('~cluster'), []);
    await contender(dir, clock, 'y:4317');
  }));
