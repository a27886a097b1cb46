// The local filesystem backend: whole-object writes, listing, ranges, deletes,
// and keys that cannot escape the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendNotFoundError } from '../../../src/store/backend/backend.js';
import { LocalBackend } from '../../../src/store/backend/local.js';

async function withBackend(fn: (b: LocalBackend, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'skein-backend-test-'));
  try {
    await fn(new LocalBackend(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('write, read, readRange, list and delete', () =>
  withBackend(async (b, root) => {
    await b.write('tenant/block-1/meta.json', Buffer.from('{"a":1}'));
    await b.write('tenant/block-1/bloom.bin', new Uint8Array([1, 2, 3, 4, 5]));
    await b.write('tenant/block-2/meta.json', Buffer.from('{}'));
    assert.equal((await b.read('tenant/block-1/meta.json')).toString(), '{"a":1}');
    assert.deepEqual([...(await b.readRange('tenant/block-1/bloom.bin', 1, 3))], [2, 3, 4]);
    assert.deepEqual([...(await b.readRange('tenant/block-1/bloom.bin', 3, 10))], [4, 5]);
    assert.deepEqual(await b.list(''), ['tenant']);
    assert.deepEqual(await b.list('tenant'), ['block-1', 'block-2']);
    assert.deepEqual(await b.list('tenant/block-1'), ['bloom.bin', 'meta.json']);
    assert.deepEqual(await b.list('nobody'), []);
    assert.equal(b.directPath('tenant/block-1/bloom.bin'), join(root, 'tenant', 'block-1', 'bloom.bin'));
    const file = await b.readable('tenant/block-1/bloom.bin');
    assert.equal(file.path, join(root, 'tenant', 'block-1', 'bloom.bin'), 'the object itself, not a copy');
    file.release();

    await b.write('tenant/block-1/meta.json', Buffer.from('{"a":2}'));
    assert.equal((await b.read('tenant/block-1/meta.json')).toString(), '{"a":2}', 'overwritten whole');
    assert.deepEqual(await readdir(join(root, 'tenant', 'block-1')), ['bloom.bin', 'meta.json'], 'no temporary files left');

    await b.delete('tenant/block-1');
    assert.deepEqual(await b.list('tenant'), ['block-2']);
    await b.delete('tenant/block-1');
    await assert.rejects(b.read('tenant/block-1/meta.json'), BackendNotFoundError);
    await assert.rejects(b.readRange('tenant/block-1/meta.json', 0, 1), BackendNotFoundError);
  }));

test('writeFile moves a staged file in', () =>
  withBackend(async (b, root) => {
    const staging = await b.stagingDir();
    const staged = join(staging, 'x.parquet');
    await writeFile(staged, 'PAR1');
    await b.writeFile('t/b/data.parquet', staged);
    assert.equal(existsSync(staged), false);
    assert.equal((await b.read('t/b/data.parquet')).toString(), 'PAR1');
    assert.deepEqual(await b.list(''), ['t'], 'the staging directory is not listed');
    assert.ok(existsSync(join(root, '~staging')));
  }));

test('keys that could leave the root or collide with the backend’s own files are refused', () =>
  withBackend(async (b) => {
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', 'a/./b', '~staging/x', 'a/~tmp-1', 'a\\b', '']) {
      await assert.rejects(b.write(key, new Uint8Array(1)), /invalid storage key|empty storage key/, key);
    }
    await assert.rejects(b.delete(''), /empty storage key/);
  }));
