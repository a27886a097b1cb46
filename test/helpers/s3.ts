// A real S3-protocol server on loopback for tests and benchmarks (s3rver: the AWS SDK
// talks to it over HTTP with signed requests, as to any S3-compatible store). Its objects
// live in a directory of their own, so a server stopped and started again on the same
// port serves the same bucket: what a bucket that was unreachable for a while looks like.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** s3rver's fixed credentials: any signed request with them is accepted. */
export const S3_ACCESS_KEY = 'S3RVER';
export const S3_SECRET_KEY = 'S3RVER';

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** Where s3rver keeps the objects (remove it once the server is stopped for good). */
  directory: string;
  /** Stops answering (connections refused) until start() is called again; objects are kept. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Every key in the bucket under `prefix`. */
  keys(prefix?: string): Promise<string[]>;
  /** The `storage:` lines of a Skein config that uses this bucket (indented by `indent` spaces). */
  storageYaml(opts?: { prefix?: string; indent?: number }): string;
  client: S3Client;
}

export async function startS3Server(opts: { bucket?: string } = {}): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'skein-s3-'));
  const bucket = opts.bucket ?? 'skein-test';
  let server: S3rver | undefined;
  let port = 0;
  const start = async (): Promise<void> => {
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory });
    const address = await server.run();
    port = address.port;
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    port,
    bucket,
    directory,
    client,
    async stop() {
      await server?.close();
      server = undefined;
    },
    start,
    async keys(prefix = '') {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    storageYaml({ prefix = '', indent = 2 } = {}) {
      const pad = ' '.repeat(indent);
      return [
        `${pad}backend: s3`,
        `${pad}s3:`,
        `${pad}  bucket: ${bucket}`,
        `${pad}  endpoint: ${endpoint}`,
        `${pad}  force_path_style: true`,
        `${pad}  access_key_id: ${S3_ACCESS_KEY}`,
        `${pad}  secret_access_key: ${S3_SECRET_KEY}`,
        ...(prefix ? [`${pad}  prefix: ${prefix}`] : []),
      ].join('\n');
    },
  };
}
