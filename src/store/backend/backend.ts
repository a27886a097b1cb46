// The storage backend blocks live in (ARCHITECTURE decision 10). Blocks are
// immutable objects written whole, so this is all the store asks of a backend;
// an S3-compatible backend is one more implementation of it, not a redesign.
//
// Keys are '/'-separated paths such as `<tenant>/<blockId>/data.parquet`. Names
// starting with `~` are never tenants or blocks: the store keeps its own objects
// under them on a shared bucket (`<tenant>/~index.json`, `~cluster/…`), and backends
// may reserve some for themselves (LocalBackend's `~tmp-…`), which they never list.

/** `length` bytes from `offset`. */
export type ByteRange = readonly [offset: number, length: number];

/**
 * What a reader of an object needs in its local file: some byte ranges, or all of it.
 * `size` is the object's size as its block's meta.json gives it (no request to learn it).
 */
export type ReadableWant = { size: number; ranges: readonly ByteRange[] } | { size: number; all: true };

/** A local file DuckDB can read an object from; the backend keeps it until release() (called once). */
export interface ReadableObject {
  path: string;
  release(): void;
}

/** One object as a listing describes it. */
export interface ObjectInfo {
  /** The whole key, e.g. `<tenant>/<blockId>/meta.json`. */
  key: string;
  size: number;
  /** When the object was last written. */
  modified: Date;
}

export interface Backend {
  /**
   * True when other processes may read and write the same objects (a bucket several
   * instances share): a block without meta.json may then be another instance's write
   * in progress, and a block may be read elsewhere after this process has let it go.
   */
  readonly shared: boolean;
  /** Names of the children one level below `prefix` ('' for the top level); [] when there are none. */
  list(prefix: string): Promise<string[]>;
  /** Every object below `prefix` (at any depth), sorted by key; [] when there are none. */
  listObjects(prefix: string): Promise<ObjectInfo[]>;
  /** The whole object; throws BackendNotFoundError when it does not exist. */
  read(key: string): Promise<Buffer>;
  /** `length` bytes from `offset` (fewer at the end of the object). */
  readRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Writes the whole object atomically and durably: readers see the old object or the new one, never a part. */
  write(key: string, data: Uint8Array): Promise<void>;
  /** Moves a finished local file (from stagingDir()) in as the object `key`, atomically and durably. The local file is gone afterwards. */
  writeFile(key: string, localPath: string): Promise<void>;
  /** Deletes the object `prefix` and every object below it; no error when nothing is there. */
  delete(prefix: string): Promise<void>;
  /**
   * A local file holding at least the wanted bytes of the object at their offsets (the
   * object itself for the local backend; a sparse cached copy for a bucket, its missing
   * ranges fetched first). Reading other bytes of it gives nothing meaningful. The file
   * stays until release().
   */
  readable(key: string, want: ReadableWant): Promise<ReadableObject>;
  /**
   * The object's own local file, for a backend that keeps objects as files (the local
   * one): readers may hand it to DuckDB as it is, and readable() copies nothing.
   */
  directPath?(key: string): string;
  /**
   * A local directory for files on their way in (writeFile's sources), on the same
   * filesystem as the objects where there is one, so that writeFile is a rename.
   * Its leftovers from an earlier process are removed the first time it is asked for.
   */
  stagingDir(): Promise<string>;
  /**
   * The object and its version (an opaque string that changes whenever the object is
   * written: S3's ETag); undefined when there is no object. With writeIfVersion, what
   * the compaction lease is built on; a backend without them cannot hold one.
   */
  readWithVersion?(key: string): Promise<{ data: Buffer; version: string } | undefined>;
  /**
   * Writes the whole object only if its current version is `version` (S3's If-Match), or,
   * with null, only if there is no object (If-None-Match: *); atomically with respect to
   * every other writeIfVersion of the key. Resolves to the new version when written and to
   * undefined when the condition did not hold (S3's 412 Precondition Failed, or 409 for a
   * conditional write racing another); throws on any other failure.
   */
  writeIfVersion?(key: string, data: Uint8Array, version: string | null): Promise<string | undefined>;
  /** Releases connections and local files the backend holds. */
  close?(): Promise<void>;
}

export class BackendNotFoundError extends Error {
  override name = 'BackendNotFoundError';
  constructor(readonly key: string) {
    super(`no object at ${JSON.stringify(key)}`);
  }
}

/**
 * A request the backend could not carry out: the bucket unreachable, failing (5xx) or
 * refusing it (credentials, permissions). The data is never to blame, so a block write
 * failing with it keeps every span for the next cut (blocks/isolate.ts).
 */
export class BackendError extends Error {
  override name = 'BackendError';
  constructor(
    message: string,
    /** True when trying again later may work (network, 5xx, throttling); false for a refusal. */
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const SEGMENT_RE = /^[^/\\\0]+$/;

/**
 * Checks a key (or prefix) and returns its segments. Tenant IDs come from a request
 * header, so a key must never be able to leave the backend's root.
 */
export function keySegments(key: string, { allowEmpty = false } = {}): string[] {
  if (key === '') {
    if (allowEmpty) return [];
    throw new Error('empty storage key');
  }
  const segments = key.split('/');
  for (const s of segments) {
    if (!SEGMENT_RE.test(s) || s === '.' || s === '..') throw new Error(`invalid storage key ${JSON.stringify(key)}`);
  }
  return segments;
}
