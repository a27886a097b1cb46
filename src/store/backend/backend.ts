// The storage backend blocks live in (ARCHITECTURE decision 10). Blocks are
// immutable objects written whole, so this is all the store asks of a backend;
// an S3-compatible backend is one more implementation of it, not a redesign.
//
// Keys are '/'-separated paths such as `<tenant>/<blockId>/data.parquet`. Names
// starting with `~` are never tenants or blocks: they are Skein's own objects on a
// shared bucket (a tenant's block index, the compaction lease), and the local
// backend's temporary files, which it refuses as keys.

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

export interface Backend {
  /** Names of the children one level below `prefix` ('' for the top level); [] when there are none. */
  list(prefix: string): Promise<string[]>;
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
  /** The object and its entity tag (what writeIfMatch compares); BackendNotFoundError when absent. */
  readWithEtag?(key: string): Promise<{ data: Buffer; etag: string }>;
  /**
   * Writes the object only if it is still the one read with `etag` (null: only if there is
   * none): a compare-and-swap for objects several instances update (the compaction lease).
   * 'conflict' when another writer got there first. A store that ignores the condition
   * (some S3-compatible servers do) makes this an unconditional write: probe it first.
   */
  writeIfMatch?(key: string, data: Uint8Array, etag: string | null): Promise<{ etag: string } | 'conflict'>;
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
