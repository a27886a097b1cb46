// A real S3-protocol server on loopback for tests and benchmarks (s3rver: the AWS SDK
// talks to it over HTTP with signed requests, as to any S3-compatible store). Its objects
// live in a directory of their own, so a server stopped and started again on the same
// port serves the same bucket: what a bucket that was unreachable for a while looks like.
//
// s3rver 3.7 lists with a delimiter wrongly: a key two or more levels below the prefix
// (`t/<block>/meta.json` when listing tenants) yields no common prefix at all, as its
// directory walk skips those directories. Its listing is corrected here (listed in full,
// then grouped by the delimiter, as S3 does), so Skein's listing is tested as S3 answers it.
// And its continuation tokens (listings of more than 1000 keys) are encrypted with single
// DES, which Node's OpenSSL 3 no longer offers: triple DES with the key three times over
// is the same cipher, and is given to it instead.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeCrypto from 'node:crypto';
import type { EventEmitter } from 'node:events';
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
  /** Objects written since the server started, in order: `put` by one PUT, `multipart` by a completed multipart upload. */
  writes: Array<{ key: string; kind: 'put' | 'multipart' }>;
}

interface ListedObject {
  key: string;
}
interface ListOptions {
  delimiter?: string;
  prefix?: string;
  maxKeys?: number;
  startAfter?: string;
}
interface ListResult {
  objects: ListedObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface Store {
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
}

for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
  const original = nodeCrypto[name] as (algorithm: string, key: Buffer, iv: Buffer) => unknown;
  (nodeCrypto as unknown as Record<string, unknown>)[name] = (algorithm: string, key: Buffer, iv: Buffer) =>
    algorithm === 'des' && key.length === 8 ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv) : original(algorithm, key, iv);
}

/** Lists the whole prefix without the delimiter (which s3rver gets right), then groups it by the delimiter. */
function correctListing(store: Store): void {
  const listAll = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const { delimiter = '', maxKeys = Number.POSITIVE_INFINITY, prefix = '' } = options;
    if (delimiter === '') return listAll(bucket, options);
    const all = await listAll(bucket, { ...options, delimiter: '', maxKeys: Number.POSITIVE_INFINITY });
    const commonPrefixes = new Set<string>();
    const objects: ListedObject[] = [];
    let isTruncated = false;
    for (const o of all.objects) {
      const at = o.key.slice(prefix.length).indexOf(delimiter);
      if (at !== -1) commonPrefixes.add(o.key.slice(0, prefix.length + at + delimiter.length));
      else if (objects.length < maxKeys) objects.push(o);
      else isTruncated = true;
    }
    // The next page starts after the last object (s3rver's continuation token): prefixes may come again, as keys past them do.
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
}

export async function startS3Server(opts: { bucket?: string } = {}): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'skein-s3-'));
  const bucket = opts.bucket ?? 'skein-test';
  let server: S3rver | undefined;
  let port = 0;
  const writes: S3Server['writes'] = [];
  const start = async (): Promise<void> => {
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory });
    correctListing((server as unknown as { store: Store }).store);
    (server as unknown as EventEmitter).on('event', (e: { Records: Array<{ eventName: string; s3: { object: { key: string } } }> }) => {
      for (const r of e.Records) {
        if (r.eventName === 'ObjectCreated:Put') writes.push({ key: r.s3.object.key, kind: 'put' });
        if (r.eventName === 'ObjectCreated:Post') writes.push({ key: r.s3.object.key, kind: 'multipart' });
      }
    });
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
    writes,
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
