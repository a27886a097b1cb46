// The S3 backend: objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, …)
// under `storage.s3.prefix`, with the official AWS SDK v3. DuckDB reads local files
// only, so reads go through a sparse local cache of the objects (range-cache.ts);
// files on their way in are staged on local disk and uploaded whole, in parts
// beyond `part_size`.
//
// This module loads the SDK: Store.open imports it only when `storage.backend` is s3.
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
  type GetObjectCommandOutput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { SkeinConfig } from '../../config/schema.js';
import { BackendError, BackendNotFoundError, keySegments, type Backend, type ObjectInfo, type ReadableObject, type ReadableWant } from './backend.js';
import { backendMetrics } from './metrics.js';
import { RangeCache } from './range-cache.js';

export type S3Settings = SkeinConfig['storage']['s3'];

export interface S3BackendOptions {
  s3: S3Settings;
  /** Where files on their way in are staged (emptied the first time it is asked for). */
  stagingDir: string;
  /** The read cache's directory (emptied when it opens) and its bound. */
  cache: { dir: string; maxBytes: number };
}

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;
/** Parts a multipart upload sends at once: each is buffered in memory. */
const UPLOAD_QUEUE = 2;
const CONNECT_TIMEOUT_MS = 5_000;
/** A response that stalls this long is abandoned (and retried by the SDK). */
const SOCKET_IDLE_TIMEOUT_MS = 60_000;

type Operation = 'list' | 'get' | 'get_range' | 'put' | 'upload' | 'delete';

export class S3Backend implements Backend {
  /** A bucket is there to be shared: other instances may write and read the same blocks. */
  readonly shared = true;
  private readonly client: S3Client;
  private readonly bucket: string;
  /** Prepended to every key: '' or `<prefix>/`. */
  private readonly root: string;
  /** Where the bucket is, for error messages: its endpoint or AWS region (never a credential). */
  private readonly where: string;
  private readonly cache: RangeCache;
  private staging: Promise<string> | undefined;

  constructor(private readonly opts: S3BackendOptions) {
    const s3 = opts.s3;
    this.bucket = s3.bucket;
    this.root = s3.prefix === '' ? '' : `${s3.prefix}/`;
    this.where = s3.endpoint === '' ? `AWS S3 (${s3.region})` : s3.endpoint;
    this.client = new S3Client({
      region: s3.region,
      ...(s3.endpoint !== '' && { endpoint: s3.endpoint }),
      forcePathStyle: s3.force_path_style,
      // Empty: the SDK's default chain (environment, shared config files, instance or pod roles).
      ...(s3.access_key_id !== '' && { credentials: { accessKeyId: s3.access_key_id, secretAccessKey: s3.secret_access_key } }),
      // Self-hosted S3-compatible stores often refuse the checksum trailers the SDK now sends
      // by default (aws-chunked uploads); they are only sent when an operation requires one.
      ...(s3.endpoint !== '' && { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
    });
    this.cache = new RangeCache({ dir: opts.cache.dir, maxBytes: opts.cache.maxBytes, fetch: (key, offset, length) => this.fetchRange(key, offset, length) });
  }

  async list(prefix: string): Promise<string[]> {
    const under = this.root + (prefix === '' ? '' : `${keySegments(prefix).join('/')}/`);
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.send('list', prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: under, Delimiter: '/', ContinuationToken: token })),
      );
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(under.length, -1));
      for (const o of page.Contents ?? []) if (o.Key) names.add(o.Key.slice(under.length));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // A directory placeholder (`x/`) some tools create lists as an empty name.
    names.delete('');
    return [...names].sort();
  }

  async listObjects(prefix: string): Promise<ObjectInfo[]> {
    // `prefix/` so that tenant `a` does not take in `ab/…`.
    const under = this.root + (prefix === '' ? '' : `${keySegments(prefix).join('/')}/`);
    const out: ObjectInfo[] = [];
    for (const o of await this.objectsUnder(prefix, under)) {
      if (!o.Key || o.Key.endsWith('/')) continue;
      out.push({ key: o.Key.slice(this.root.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
    }
    return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  }

  async read(key: string): Promise<Buffer> {
    const out = await this.get('get', key);
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    backendMetrics.receivedBytes.inc(bytes.byteLength);
    return bytes;
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    let out: GetObjectCommandOutput;
    try {
      out = await this.get('get_range', key, offset, length);
    } catch (err) {
      // A range starting at or past the end: nothing there, as a local file would give.
      if (err instanceof BackendError && err.cause !== undefined && errorName(err.cause) === 'InvalidRange') return Buffer.alloc(0);
      throw err;
    }
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    backendMetrics.receivedBytes.inc(bytes.byteLength);
    return bytes;
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    await this.send('put', key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: data, ContentLength: data.byteLength })));
    backendMetrics.sentBytes.inc(data.byteLength);
  }

  async writeFile(key: string, localPath: string): Promise<void> {
    const { size } = await stat(localPath);
    await this.send('upload', key, () =>
      // One PUT up to part_size; beyond it a multipart upload, completed atomically (or aborted on failure).
      new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.key(key), Body: createReadStream(localPath), ContentLength: size },
        partSize: this.opts.s3.part_size,
        queueSize: UPLOAD_QUEUE,
        leavePartsOnError: false,
      }).done(),
    );
    backendMetrics.sentBytes.inc(size);
    await unlink(localPath);
  }

  async delete(prefix: string): Promise<void> {
    const exact = this.key(prefix);
    const keys = [exact, ...(await this.objectsUnder(prefix, `${exact}/`)).flatMap((o) => (o.Key ? [o.Key] : []))];
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await this.send('delete', prefix, () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new BackendError(
          `s3 bucket ${JSON.stringify(this.bucket)} at ${this.where}: deleting ${failed.length} object(s) under ${JSON.stringify(prefix)} failed, first ${JSON.stringify(first.Key)}: ${first.Code}: ${first.Message}`,
          first.Code === 'InternalError' || first.Code === 'SlowDown',
        );
      }
    }
  }

  readable(key: string, want: ReadableWant): Promise<ReadableObject> {
    keySegments(key);
    return this.cache.readable(key, want);
  }

  stagingDir(): Promise<string> {
    this.staging ??= (async () => {
      const dir = this.opts.stagingDir;
      // Whatever is left there belongs to a process that died mid-write.
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    })();
    return this.staging;
  }

  async readWithVersion(key: string): Promise<{ data: Buffer; version: string } | undefined> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.get('get', key);
    } catch (err) {
      if (err instanceof BackendNotFoundError) return undefined;
      throw err;
    }
    const data = Buffer.from(await out.Body!.transformToByteArray());
    backendMetrics.receivedBytes.inc(data.byteLength);
    return { data, version: out.ETag ?? '' };
  }

  async writeIfVersion(key: string, data: Uint8Array, version: string | null): Promise<string | undefined> {
    try {
      const out = await this.send('put', key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(key),
            Body: data,
            ContentLength: data.byteLength,
            ...(version === null ? { IfNoneMatch: '*' } : { IfMatch: version }),
          }),
        ),
      );
      backendMetrics.sentBytes.inc(data.byteLength);
      return out.ETag ?? '';
    } catch (err) {
      // 412: the object is not the one expected; 409: a concurrent conditional write won.
      const status = err instanceof BackendError ? httpStatus(err.cause) : undefined;
      if (status === 412 || status === 409) return undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    await this.cache.close();
  }

  /** The object's bytes [offset, offset + length) as they arrive: the cache writes them straight to disk. */
  private async fetchRange(key: string, offset: number, length: number): Promise<AsyncIterable<Uint8Array>> {
    const out = await this.get('get_range', key, offset, length);
    const body = out.Body as unknown as Readable;
    const broken = (err: unknown) =>
      new BackendError(`s3 bucket ${JSON.stringify(this.bucket)} at ${this.where}: get_range ${JSON.stringify(key)}: the response broke off (${describeNetworkError(err)})`, true, {
        cause: err,
      });
    return (async function* counted() {
      try {
        for await (const chunk of body) {
          backendMetrics.receivedBytes.inc((chunk as Uint8Array).byteLength);
          yield chunk as Uint8Array;
        }
      } catch (err) {
        backendMetrics.failures.inc({ operation: 'get_range' });
        throw broken(err);
      }
    })();
  }

  private get(op: 'get' | 'get_range', key: string, offset?: number, length?: number): Promise<GetObjectCommandOutput> {
    return this.send(op, key, () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          ...(offset !== undefined && length !== undefined && { Range: `bytes=${offset}-${offset + length - 1}` }),
        }),
      ),
    );
  }

  /** Runs one request (the SDK retries what is retryable), counting it and turning its failure into BackendNotFoundError or BackendError. */
  private async send<T>(op: Operation, key: string, request: () => Promise<T>): Promise<T> {
    backendMetrics.requests.inc({ operation: op });
    try {
      return await request();
    } catch (err) {
      const name = errorName(err);
      if (name === 'NoSuchKey' || name === 'NotFound') throw new BackendNotFoundError(key);
      // Reading the local file being uploaded failed: a local I/O error, not the bucket's.
      if (isLocalFileError(err)) throw err;
      backendMetrics.failures.inc({ operation: op });
      const status = httpStatus(err);
      // No HTTP status: the request never got an answer (refused, reset, timed out).
      const retryable = status === undefined || status >= 500 || status === 429 || name === 'SlowDown' || name === 'RequestTimeout';
      const what = status === undefined ? `unreachable (${describeNetworkError(err)})` : `answered ${status} ${name}: ${messageOf(err)}`;
      throw new BackendError(`s3 bucket ${JSON.stringify(this.bucket)} at ${this.where}: ${op} ${JSON.stringify(key)}: ${what}`, retryable, { cause: err });
    }
  }

  /** Every object whose key starts with `under` (a full bucket key), page after page; `prefix` names the request in errors. */
  private async objectsUnder(prefix: string, under: string): Promise<_Object[]> {
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.send('list', prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: under, ContinuationToken: token })),
      );
      out.push(...(page.Contents ?? []));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  private key(key: string): string {
    return this.root + keySegments(key).join('/');
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isLocalFileError(err: unknown): boolean {
  const e = err as { syscall?: unknown; path?: unknown } | undefined;
  return typeof e?.syscall === 'string' && typeof e.path === 'string';
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** `ECONNREFUSED`, `TimeoutError: …`: the code of a socket error, or the SDK's own name and message. */
function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const errors = (err as { errors?: unknown } | undefined)?.errors;
  // Node reports a refused connection to every address of a name as an AggregateError.
  if (Array.isArray(errors) && errors.length > 0) return describeNetworkError(errors[0]);
  return `${errorName(err)}: ${messageOf(err)}`;
}
