// An S3Backend on the test S3 server (test/helpers/s3.ts), each under a key prefix of
// its own so that tests sharing a server do not see each other's objects, with its
// staging and cache directories in a temporary directory.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Backend } from '../../../src/store/backend/s3.js';
import { S3_ACCESS_KEY, S3_SECRET_KEY, type S3Server } from '../../helpers/s3.js';

export const MiB = 1024 * 1024;

export interface S3BackendFixture {
  backend: S3Backend;
  prefix: string;
  cacheDir: string;
  /** Closes the backend and removes its local directories (the bucket keeps its objects). */
  dispose(): Promise<void>;
}

export async function openS3Backend(
  s3: Pick<S3Server, 'bucket' | 'endpoint'>,
  opts: { prefix?: string; partSize?: number; cacheBytes?: number; secret?: string } = {},
): Promise<S3BackendFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-s3-backend-'));
  const prefix = opts.prefix ?? `t-${randomBytes(4).toString('hex')}`;
  const cacheDir = join(dir, 'cache');
  const backend = new S3Backend({
    s3: {
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      prefix,
      force_path_style: true,
      access_key_id: S3_ACCESS_KEY,
      secret_access_key: opts.secret ?? S3_SECRET_KEY,
      part_size: opts.partSize ?? 16 * MiB,
    },
    stagingDir: join(dir, 'staging'),
    cache: { dir: cacheDir, maxBytes: opts.cacheBytes ?? 1024 * MiB },
  });
  return {
    backend,
    prefix,
    cacheDir,
    async dispose() {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
