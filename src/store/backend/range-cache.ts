// A local disk cache of objects read from a remote backend, for DuckDB, which reads
// local files only. Each object gets a sparse file of its full size: only the byte
// ranges reads asked for are fetched (ranged GETs) and written at their offsets, so a
// trace-by-ID lookup costs the Parquet footer once and the row groups it reads, not
// the whole part. An in-memory map says which ranges each file holds; it is not
// persisted, so the directory is emptied when the cache opens.
//
// Reads pin their object until they release it. Beyond maxBytes of fetched ranges,
// the least recently used objects that nothing pins are deleted. Concurrent reads of
// the same range share one fetch.
import { createHash } from 'node:crypto';
import { mkdir, open, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadableObject, ReadableWant } from './backend.js';
import { normalize, overlaps, subtract, totalBytes, type Interval } from './intervals.js';
import { backendMetrics } from './metrics.js';

/** The object's bytes [offset, offset + length), as a stream of chunks. */
export type RangeFetcher = (key: string, offset: number, length: number) => Promise<AsyncIterable<Uint8Array>>;

/**
 * Missing pieces closer than this are fetched in one request: a round trip costs more
 * than the bytes in between (which are immutable, so fetching them again is harmless).
 */
const MERGE_GAP_BYTES = 64 * 1024;

interface Entry {
  key: string;
  path: string;
  size: number;
  /** The sparse file exists. */
  created: Promise<void>;
  /** Ranges on disk. */
  present: Interval[];
  /** Ranges being fetched, each with the fetch's outcome. */
  inflight: Array<{ range: Interval; done: Promise<void> }>;
  /** Reads holding the file. */
  pins: number;
}

export interface RangeCacheOptions {
  dir: string;
  maxBytes: number;
  fetch: RangeFetcher;
}

export class RangeCache {
  /** Least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private files = 0;
  private opened: Promise<void> | undefined;

  constructor(private readonly opts: RangeCacheOptions) {}

  /** A local file of the object holding at least the wanted ranges, pinned until release(). */
  async readable(key: string, want: ReadableWant): Promise<ReadableObject> {
    await (this.opened ??= this.empty());
    const entry = this.entry(key, want.size);
    entry.pins++;
    try {
      await entry.created;
      const wanted = 'all' in want ? normalize([[0, want.size]]) : normalize(want.ranges.map(([o, l]) => [o, Math.min(want.size, o + l)] as const));
      const fetched = await this.fill(entry, wanted);
      backendMetrics.cacheReads.inc({ result: fetched ? 'miss' : 'hit' });
    } catch (err) {
      entry.pins--;
      this.evict();
      throw err;
    }
    this.evict();
    let released = false;
    return {
      path: entry.path,
      release: () => {
        if (released) return;
        released = true;
        entry.pins--;
        this.evict();
      },
    };
  }

  /** Bytes of fetched ranges on disk. */
  get diskBytes(): number {
    return this.bytes;
  }

  /** Deletes every cached file. */
  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
    backendMetrics.cacheBytes.set(0);
    await rm(this.opts.dir, { recursive: true, force: true });
  }

  private async empty(): Promise<void> {
    // What an earlier process left has no range map any more: it cannot be trusted.
    await rm(this.opts.dir, { recursive: true, force: true });
    await mkdir(this.opts.dir, { recursive: true });
    backendMetrics.cacheBytes.set(0);
  }

  /** The object's entry, made most recently used; created (with its sparse file) when absent. */
  private entry(key: string, size: number): Entry {
    let entry = this.entries.get(key);
    if (entry) {
      if (entry.size !== size) throw new Error(`object ${JSON.stringify(key)} read as ${size} bytes, but cached as ${entry.size}`);
      this.entries.delete(key);
    } else {
      // A new file each time, so a file being deleted after an eviction is never a newer one of the same object.
      const name = `${createHash('sha256').update(key).digest('hex').slice(0, 32)}-${(this.files++).toString(36)}`;
      const path = join(this.opts.dir, name);
      entry = { key, path, size, created: createSparse(path, size), present: [], inflight: [], pins: 0 };
      // Every read awaits it and reports its failure; the entry goes, so the next read tries again.
      const created = entry;
      entry.created.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
    }
    this.entries.set(key, entry);
    return entry;
  }

  /** Fetches what of `wanted` the file lacks, waiting for fetches already running; true when this read fetched something. */
  private async fill(entry: Entry, wanted: readonly Interval[]): Promise<boolean> {
    const missing = subtract(wanted, entry.present);
    if (missing.length === 0) return false;
    const waits: Array<Promise<void>> = [];
    const running = normalize(entry.inflight.map((f) => f.range));
    for (const f of entry.inflight) if (missing.some((m) => overlaps(m, f.range))) waits.push(f.done);
    const own = normalize(subtract(missing, running), MERGE_GAP_BYTES);
    for (const range of own) {
      const done = this.fetchInto(entry, range);
      const flight = { range, done };
      entry.inflight.push(flight);
      waits.push(done.finally(() => entry.inflight.splice(entry.inflight.indexOf(flight), 1)));
    }
    await Promise.all(waits);
    return own.length > 0;
  }

  private async fetchInto(entry: Entry, [start, end]: Interval): Promise<void> {
    const fh = await open(entry.path, 'r+');
    let at = start;
    try {
      const body = await this.opts.fetch(entry.key, start, end - start);
      for await (const chunk of body) {
        if (at + chunk.byteLength > end) throw new Error(`object ${JSON.stringify(entry.key)}: more bytes than the range ${start}-${end - 1} asked for`);
        await fh.write(chunk, 0, chunk.byteLength, at);
        at += chunk.byteLength;
      }
    } finally {
      await fh.close();
    }
    if (at !== end) {
      throw new Error(`object ${JSON.stringify(entry.key)} ended at byte ${at}, before ${end} (its meta.json says ${entry.size} bytes)`);
    }
    const before = totalBytes(entry.present);
    entry.present = normalize([...entry.present, [start, end]]);
    // An entry evicted meanwhile is not counted (it was pinned, so this cannot happen; kept exact anyway).
    if (this.entries.get(entry.key) === entry) this.bytes += totalBytes(entry.present) - before;
    backendMetrics.cacheBytes.set(this.bytes);
  }

  /** Deletes least recently used unpinned files while over maxBytes. */
  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.opts.maxBytes) break;
      if (entry.pins > 0) continue;
      this.entries.delete(key);
      this.bytes -= totalBytes(entry.present);
      backendMetrics.cacheEvictions.inc();
      void entry.created.then(() => unlink(entry.path)).catch(() => undefined);
    }
    backendMetrics.cacheBytes.set(this.bytes);
  }
}

/** A file of `size` bytes that takes no disk space until written to. */
async function createSparse(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}
