// The storage backend blocks live in (ARCHITECTURE decision 10). Blocks are
// immutable objects written whole, so this is all the store asks of a backend;
// an S3-compatible backend is one more implementation of it, not a redesign.
//
// Keys are '/'-separated paths such as `<tenant>/<blockId>/data.parquet`.

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
  /** A local file path DuckDB can read the object from (the object itself for the local backend, a cached copy for remote ones). */
  localPath(key: string): Promise<string>;
  /**
   * A local directory for files on their way in (writeFile's sources), on the same
   * filesystem as the objects where there is one, so that writeFile is a rename.
   * Its leftovers from an earlier process are removed the first time it is asked for.
   */
  stagingDir(): Promise<string>;
}

export class BackendNotFoundError extends Error {
  override name = 'BackendNotFoundError';
  constructor(readonly key: string) {
    super(`no object at ${JSON.stringify(key)}`);
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
