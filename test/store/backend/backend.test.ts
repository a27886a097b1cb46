// What the store asks of every backend, run against the local one and against S3 (a real
// S3-protocol server on loopback): whole-object writes, listing one level at a time,
// ranges, deletes of a prefix, files moved in, files made readable, missing objects. Then
// what only the bucket has: the key prefix, multipart uploads, pages of listings and
// deletes, and an unreachable bucket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendError, BackendNotFoundError, type Backend } from '../../../src/store/backend/backend.js';
import { LocalBackend } from '../../../src/store/backend/local.js';
import { startS3Server, type S3Server } from '../../helpers/s3.js';
import { MiB, openS3Backend } from './fixtures.js';

let server: S3Server;
const dirs: string[] = [];
const disposers: Array<() => Promise<void>> = [];

before(async () => {
  server = await startS3Server();
});
after(async () => {
  for (const dispose of disposers) await dispose();
  await server.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-backend-test-'));
  dirs.push(dir);
  return dir;
}

async function s3Backend(s3: Pick<S3Server, 'bucket' | 'endpoint'>, opts: Parameters<typeof openS3Backend>[1] = {}): Promise<Backend> {
  const f = await openS3Backend(s3, opts);
  disposers.push(f.dispose);
  return f.backend;
}

const kinds: Array<[string, () => Promise<Backend>]> = [
  ['local', async () => new LocalBackend(await tempDir())],
  ['s3', () => s3Backend(server)],
];

for (const [kind, open] of kinds) {
  describe(`${kind} backend`, () => {
    test('write, read, readRange, list and delete', async () => {
      const b = await open();
      await b.write('tenant/block-1/meta.json', Buffer.from('{"a":1}'));
      await b.write('tenant/block-1/bloom.bin', new Uint8Array([1, 2, 3, 4, 5]));
      await b.write('tenant/block-2/meta.json', Buffer.from('{}'));
      assert.equal((await b.read('tenant/block-1/meta.json')).toString(), '{"a":1}');
      assert.deepEqual([...(await b.readRange('tenant/block-1/bloom.bin', 1, 3))], [2, 3, 4]);
      assert.deepEqual([...(await b.readRange('tenant/block-1/bloom.bin', 3, 10))], [4, 5], 'fewer bytes at the end');
      assert.deepEqual([...(await b.readRange('tenant/block-1/bloom.bin', 5, 10))], [], 'none past the end');
      assert.deepEqual(await b.list(''), ['tenant']);
      assert.deepEqual(await b.list('tenant'), ['block-1', 'block-2']);
      assert.deepEqual(await b.list('tenant/block-1'), ['bloom.bin', 'meta.json']);
      assert.deepEqual(await b.list('nobody'), []);

      await b.write('tenant/block-1/meta.json', Buffer.from('{"a":2}'));
      assert.equal((await b.read('tenant/block-1/meta.json')).toString(), '{"a":2}', 'overwritten whole');

      await b.delete('tenant/block-1');
      assert.deepEqual(await b.list('tenant'), ['block-2']);
      await b.delete('tenant/block-1');
      await assert.rejects(b.read('tenant/block-1/meta.json'), BackendNotFoundError);
      await assert.rejects(b.readRange('tenant/block-1/meta.json', 0, 1), BackendNotFoundError);
    });

    test('delete takes the prefix as a whole name: a sibling that starts the same stays', async () => {
      const b = await open();
      await b.write('t/block/meta.json', Buffer.from('1'));
      await b.write('t/block2/meta.json', Buffer.from('2'));
      await b.delete('t/block');
      assert.deepEqual(await b.list('t'), ['block2']);
    });

    test('writeFile moves a staged file in; the staging directory is not listed', async () => {
      const b = await open();
      const staging = await b.stagingDir();
      const staged = join(staging, 'x.parquet');
      await writeFile(staged, 'PAR1');
      await b.writeFile('t/b/data.parquet', staged);
      assert.equal(existsSync(staged), false);
      assert.equal((await b.read('t/b/data.parquet')).toString(), 'PAR1');
      assert.deepEqual(await b.list(''), ['t']);
    });

    test('readable gives a local file holding the wanted bytes', async () => {
      const b = await open();
      const data = randomBytes(200_000);
      await b.write('t/b/data-0000.parquet', data);
      const some = await b.readable('t/b/data-0000.parquet', { size: data.length, ranges: [[10, 100], [150_000, 50_000]] });
      const file = readFileSync(some.path);
      assert.equal(file.length, data.length, 'the file has the object’s size');
      assert.deepEqual(file.subarray(10, 110), data.subarray(10, 110));
      assert.deepEqual(file.subarray(150_000), data.subarray(150_000));
      some.release();
      const all = await b.readable('t/b/data-0000.parquet', { size: data.length, all: true });
      assert.deepEqual(readFileSync(all.path), data);
      all.release();
    });
  });
}

describe('s3 backend only', () => {
  test('keys are under storage.s3.prefix; the listing of tenants sees nothing else', async () => {
    const b = await s3Backend(server, { prefix: 'skein/prod' });
    await b.write('tenant-a/block/meta.json', Buffer.from('{}'));
    await b.write('tenant-b/block/meta.json', Buffer.from('{}'));
    assert.deepEqual(await server.keys('skein/prod/'), ['skein/prod/tenant-a/block/meta.json', 'skein/prod/tenant-b/block/meta.json']);
    assert.deepEqual(await b.list(''), ['tenant-a', 'tenant-b']);
    const other = await s3Backend(server, { prefix: 'skein/staging' });
    assert.deepEqual(await other.list(''), []);
  });

  test('a missing object cannot be made readable', async () => {
    const b = await s3Backend(server);
    await assert.rejects(b.readable('t/b/data-0000.parquet', { size: 7, all: true }), BackendNotFoundError);
  });

  test('readWithVersion gives the version writeIfVersion compares against', async () => {
    const b = await s3Backend(server);
    const first = await b.writeIfVersion!('~cluster/lease.json', Buffer.from('{"owner":"a"}'), null);
    assert.ok(first !== undefined);
    const read = await b.readWithVersion!('~cluster/lease.json');
    assert.equal(read?.data.toString(), '{"owner":"a"}');
    assert.equal(read?.version, first);
    const second = await b.writeIfVersion!('~cluster/lease.json', Buffer.from('{"owner":"b"}'), read!.version);
    assert.ok(second !== undefined);
    assert.notEqual(second, read!.version);
    // s3rver ignores the conditions themselves (If-None-Match, If-Match): a real store answers 412, which is undefined.
    assert.equal(await b.readWithVersion!('~cluster/none.json'), undefined);
  });

  test('listObjects lists every object below a tenant with its size, and not those of a tenant whose name starts the same', async () => {
    const b = await s3Backend(server, { prefix: 'objects' });
    await b.write('ten/blk/meta.json', Buffer.from('{}'));
    await b.write('ten/blk/data-0000.parquet', Buffer.from('parquet'));
    await b.write('tenant/blk/meta.json', Buffer.from('{}'));
    const listed = await b.listObjects('ten');
    assert.deepEqual(listed.map((o) => [o.key, o.size]), [['ten/blk/data-0000.parquet', 7], ['ten/blk/meta.json', 2]]);
    assert.ok(listed.every((o) => o.modified.getTime() > 0));
  });

  test('a file larger than part_size goes up in a multipart upload, and comes back whole', async () => {
    const b = await s3Backend(server, { partSize: 5 * MiB });
    const data = randomBytes(11 * MiB);
    const staged = join(await b.stagingDir(), 'big.parquet');
    await writeFile(staged, data);
    const small = join(await b.stagingDir(), 'small.parquet');
    await writeFile(small, data.subarray(0, 1000));
    await b.writeFile('t/b/data-0000.parquet', staged);
    await b.writeFile('t/b/data-0001.parquet', small);
    assert.equal(existsSync(staged), false, 'the staged file is gone once uploaded');
    const kinds = new Map(server.writes.map((w) => [w.key.slice(w.key.indexOf('/') + 1), w.kind]));
    assert.equal(kinds.get('t/b/data-0000.parquet'), 'multipart');
    assert.equal(kinds.get('t/b/data-0001.parquet'), 'put', 'one PUT up to part_size');
    assert.deepEqual(await b.read('t/b/data-0000.parquet'), data);
  });

  test('listings and deletes go by pages: more than 1000 objects under one prefix', async () => {
    const b = await s3Backend(server);
    const names = Array.from({ length: 1005 }, (_, i) => `o-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((n) => b.write(`t/big/${n}`, Buffer.from(n))));
    }
    await b.write('t/small/meta.json', Buffer.from('{}'));
    assert.deepEqual(await b.list('t/big'), names);
    await b.delete('t/big');
    assert.deepEqual(await b.list('t/big'), []);
    assert.deepEqual(await b.list('t'), ['small']);
  });

  test('an unreachable bucket fails with an error naming the bucket and endpoint, never the secret', async () => {
    const secret = 'unreachable-test-secret-value';
    const stopped = await startS3Server({ bucket: 'gone' });
    await stopped.stop();
    const b = await s3Backend(stopped, { prefix: '', secret });
    for (const attempt of [() => b.read('t/b/meta.json'), () => b.list(''), () => b.write('t/b/meta.json', Buffer.from('{}'))]) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof BackendError, String(err));
        assert.equal(err.retryable, true);
        assert.match(err.message, new RegExp(`^s3 bucket "gone" at ${stopped.endpoint.replaceAll('.', '\\.')}: \\w+ .*unreachable \\(ECONNREFUSED\\)`));
        assert.ok(!err.message.includes(secret));
        return true;
      });
    }
  });

  test('a refused request (a bucket that does not exist) is a BackendError that retrying does not fix', async () => {
    const b = await s3Backend({ bucket: 'no-such-bucket', endpoint: server.endpoint });
    await assert.rejects(b.write('t/b/meta.json', Buffer.from('{}')), (err: unknown) => {
      assert.ok(err instanceof BackendError, String(err));
      assert.equal(err.retryable, false);
      assert.match(err.message, /^s3 bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+: put "t\/b\/meta\.json": answered 404 NoSuchBucket/);
      return true;
    });
  });
});
