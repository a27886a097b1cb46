// The local filesystem backend's own behaviour (backend.test.ts has what every backend
// does): no temporary files left behind, the objects themselves handed to readers, and
// keys that cannot escape the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../../../src/store/backend/local.js';

async function withBackend(fn: (b: LocalBackend, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'skein-backend-test-'));
  try {
    await fn(new LocalBackend(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('overwrites leave no temporary file; readers get the object’s own file', () =>
  withBackend(async (b, root) => {
    await b.write('tenant/block-1/meta.json', Buffer.from('{"a":1}'));
    await b.write('tenant/block-1/meta.json', Buffer.from('{"a":2}'));
    assert.deepEqual(await readdir(join(root, 'tenant', 'block-1')), ['meta.json'], 'no temporary files left');
    const own = join(root, 'tenant', 'block-1', 'meta.json');
    assert.equal(b.directPath('tenant/block-1/meta.json'), own);
    const file = await b.readable('tenant/block-1/meta.json');
    assert.equal(file.path, own, 'the object itself, not a copy');
    file.release();
  }));

test('the staging directory is beside the objects, under a reserved name', () =>
  withBackend(async (b, root) => {
    const staging = await b.stagingDir();
    assert.equal(staging, join(root, '~staging'));
    const staged = join(staging, 'x.parquet');
    await writeFile(staged, 'PAR1');
    await b.writeFile('t/b/data.parquet', staged);
    assert.equal(existsSync(staged), false);
    assert.deepEqual(await b.list(''), ['t'], 'the staging directory is not listed');
  }));

test('keys that could leave the root or collide with the backend’s own files are refused', () =>
  withBackend(async (b) => {
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', 'a/./b', '~staging/x', 'a/~tmp-1', 'a\\b', '']) {
      await assert.rejects(b.write(key, new Uint8Array(1)), /invalid storage key|empty storage key/, key);
    }
    await assert.rejects(b.delete(''), /empty storage key/);
  }));

test('names starting with ~ are keys unless the backend reserves them; listObjects lists every object below a prefix', () =>
  withBackend(async (b, root) => {
    await b.write('t/~index.json', Buffer.from('{}'));
    await b.write('~cluster/lease.json', Buffer.from('{"holder":"a"}'));
    await b.write('t/block-1/meta.json', Buffer.from('{"a":1}'));
    await b.write('t/block-1/bloom.bin', Buffer.from('12345'));
    await b.stagingDir();
    // Listed as the keys they are: the store filters tenants and block IDs itself.
    assert.deepEqual(await b.list(''), ['t', '~cluster']);
    assert.deepEqual(await b.list('t'), ['block-1', '~index.json']);
    const objects = await b.listObjects('t');
    assert.deepEqual(
      objects.map((o) => [o.key, o.size]),
      [
        ['t/block-1/bloom.bin', 5],
        ['t/block-1/meta.json', 7],
        ['t/~index.json', 2],
      ],
    );
    for (const o of objects) assert.ok(o.modified instanceof Date && o.modified.getTime() > 0);
    assert.deepEqual((await b.listObjects('')).map((o) => o.key), ['t/block-1/bloom.bin', 't/block-1/meta.json', 't/~index.json', '~cluster/lease.json'], 'staging and temporary files are not objects');
    assert.deepEqual(await b.listObjects('nobody'), []);
    assert.ok(existsSync(join(root, '~staging')));
  }));

test('conditional writes: create only if absent, replace only at the version read', () =>
  withBackend(async (b) => {
    assert.equal(await b.readWithVersion('~cluster/x.json'), undefined);
    const v1 = await b.writeIfVersion('~cluster/x.json', Buffer.from('one'), null);
    assert.ok(v1);
    assert.equal(await b.writeIfVersion('~cluster/x.json', Buffer.from('two'), null), undefined, 'exists already');
    assert.deepEqual(await b.readWithVersion('~cluster/x.json'), { data: Buffer.from('one'), version: v1 });
    const v2 = await b.writeIfVersion('~cluster/x.json', Buffer.from('three'), v1);
    assert.ok(v2 && v2 !== v1);
    assert.equal(await b.writeIfVersion('~cluster/x.json', Buffer.from('four'), v1), undefined, 'not at that version any more');
    assert.equal((await b.read('~cluster/x.json')).toString(), 'three');
    assert.deepEqual(await b.list('~cluster'), ['x.json'], 'no lock or temporary file left');

    // Racing writers of one key, through backends of their own: exactly one create, then exactly one replace, wins.
    const racers = Array.from({ length: 10 }, () => new LocalBackend(b.rootDir, { shared: true }));
    const created = await Promise.all(racers.map((r, i) => r.writeIfVersion('~cluster/race.json', Buffer.from(`c${i}`), null)));
    assert.equal(created.filter((v) => v !== undefined).length, 1);
    const at = (await b.readWithVersion('~cluster/race.json'))!.version;
    const replaced = await Promise.all(racers.map((r, i) => r.writeIfVersion('~cluster/race.json', Buffer.from(`r${i}`), at)));
    assert.equal(replaced.filter((v) => v !== undefined).length, 1);
  }));

test('on a shared directory each process stages in a directory of its own and leaves the others’', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skein-backend-test-'));
  try {
    const a = new LocalBackend(root, { shared: true });
    const b = new LocalBackend(root, { shared: true });
    const stagedByA = join(await a.stagingDir(), 'part.parquet');
    await writeFile(stagedByA, 'PAR1');
    assert.notEqual(await b.stagingDir(), await a.stagingDir());
    assert.ok(existsSync(stagedByA), 'b starting did not empty a’s staging');
    assert.deepEqual(await a.list(''), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
