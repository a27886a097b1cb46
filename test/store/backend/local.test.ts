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
