// Making block parts readable by DuckDB, which reads local files only. With the local
// backend a part's file is the object itself and nothing here costs anything. With a
// remote one (a bucket), a part is fetched into the backend's local cache, whole or
// in the byte ranges a read needs, and pinned there until the read releases it.
//
// Scans write their own SQL over the parts of the blocks they hold (store/fetch), and
// open blocks lazily, newest first: they name a remote part by a placeholder
// (partName), and the engine handed out with the held blocks fetches each part a
// statement names, whole, before it runs, and puts the cached file in its place.
import type { Backend, ReadableObject, ReadableWant } from '../backend/backend.js';
import type { DuckEngine } from '../engine/duckdb.js';
import { sqlString } from './schema.js';

/** The start of a remote part's placeholder name: never a file, so a statement that escaped the held engine fails instead of reading something else. */
const REMOTE_PART = 'skein-part:';
/** A single-quoted SQL string literal ('' inside is one quote). */
const SQL_LITERAL_RE = /'(?:[^']|'')*'/g;

/** What SQL over held blocks names the part `key` by: its file with the local backend, else a placeholder only the held engine resolves. */
export function partName(backend: Backend, key: string): string {
  return backend.directPath?.(key) ?? `${REMOTE_PART}${key}`;
}

/** Local files of several objects, each holding what its read wants; all pinned until release(). */
export async function readableObjects(
  backend: Backend,
  reads: ReadonlyArray<{ key: string; want: ReadableWant }>,
): Promise<{ paths: string[]; release(): void }> {
  const settled = await Promise.allSettled(reads.map((r) => backend.readable(r.key, r.want)));
  const ready = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const release = (): void => {
    for (const f of ready) f.release();
  };
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    release();
    throw failed.reason;
  }
  return { paths: ready.map((f) => f.path), release };
}

/** The remote parts of held blocks, fetched whole when a statement first names them and pinned until release(). */
export class HeldParts {
  private readonly ready = new Map<string, Promise<ReadableObject>>();
  private released = false;

  /** `parts`: placeholder name → the part's key and size. */
  constructor(
    private readonly backend: Backend,
    private readonly parts: ReadonlyMap<string, { key: string; bytes: number }>,
  ) {}

  /** `engine`, its statements' placeholders replaced by the files of the parts they name, fetched first. */
  engine(engine: DuckEngine): DuckEngine {
    return engine.rewriting((sql) => this.prepare(sql));
  }

  release(): void {
    this.released = true;
    // A fetch still running is released once it is done.
    for (const p of this.ready.values()) p.then((f) => f.release(), () => undefined);
    this.ready.clear();
  }

  private async prepare(sql: string): Promise<string> {
    const named = new Set<string>();
    for (const literal of sql.match(SQL_LITERAL_RE) ?? []) {
      const name = unquote(literal);
      if (this.parts.has(name)) named.add(name);
    }
    if (named.size === 0) return sql;
    const files = new Map<string, string>();
    await Promise.all([...named].map(async (name) => files.set(name, (await this.readable(name)).path)));
    return sql.replace(SQL_LITERAL_RE, (literal) => {
      const file = files.get(unquote(literal));
      return file === undefined ? literal : sqlString(file);
    });
  }

  private readable(name: string): Promise<ReadableObject> {
    if (this.released) return Promise.reject(new Error('the blocks were released before a statement over them ran'));
    let file = this.ready.get(name);
    if (!file) {
      const { key, bytes } = this.parts.get(name)!;
      file = this.backend.readable(key, { size: bytes, all: true });
      this.ready.set(name, file);
      // A failed fetch is tried again by the next statement naming the part.
      file.catch(() => this.ready.get(name) === file && this.ready.delete(name));
    }
    return file;
  }
}

function unquote(literal: string): string {
  return literal.slice(1, -1).replaceAll("''", "'");
}
