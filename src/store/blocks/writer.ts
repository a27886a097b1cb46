// Writes traces into the Parquet parts of a block. JS turns spans into NDJSON rows
// in staging files (the fastest way we measured to hand nested rows to DuckDB)
// and DuckDB's COPY turns each part into zstd Parquet on its own threads.
//
// A block is split into parts of a bounded number of spans, each part a sorted
// Parquet file covering its own trace-ID range, and a trace never straddles two
// parts. Trace-by-ID then opens one small file whatever the size of the block:
// DuckDB 1.5 spends time on every row group of a file it scans, even the ones its
// statistics rule out, so one big file made lookups slower as blocks grew.
import { randomUUID } from 'node:crypto';
import { open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { toHex, type StoredSpan, type TraceSpans } from '../../otlp/model.js';
import type { DuckEngine } from '../engine/duckdb.js';
import { computeNestedSets } from '../../otlp/nested-set.js';
import { StagedRowEncoder } from './row-codec.js';
import { TagIndex } from './tag-index.js';
import { RESOURCE_REF, SCOPE_REF, selectFromStaged, sqlString, stagedJsonColumns } from './schema.js';

/** Rows encoded between two yields to the event loop. */
const ROWS_PER_YIELD = 2000;
/** Staged bytes buffered before they are written out. */
const WRITE_CHUNK_BYTES = 2 << 20;
const TRACE_ID_RE = /^[0-9a-f]{32}$/;
const DEFAULT_MAX_JSON_OBJECT_BYTES = 16 * 1024 * 1024;
/** Row groups per part: few enough that a lookup's cost stays that of a small file. */
export const ROW_GROUPS_PER_PART = 8;

export interface ParquetWriteOptions {
  rowGroupSpans: number;
}

export function spansPerPart(opts: ParquetWriteOptions): number {
  return rowGroupRows(opts) * ROW_GROUPS_PER_PART;
}

function rowGroupRows(opts: ParquetWriteOptions): number {
  return Math.max(1, Math.floor(opts.rowGroupSpans));
}

export interface StagedPart {
  spansPath: string;
  spanCount: number;
}

export interface StagedTraces {
  parts: StagedPart[];
  resourcesPath: string;
  scopesPath: string;
  spanCount: number;
  traceCount: number;
  /** Longest staged line, in bytes (read_json must be told about lines over its 16 MiB default). */
  maxRowBytes: number;
  /** Tag names and values of the spans staged (after de-duplication). */
  tags: TagIndex;
}

/**
 * Stages traces as NDJSON rows in block order: traces by ID (the input must come
 * sorted; entries of the same trace next to each other are merged), spans of a
 * trace de-duplicated by span ID and sorted by start time, nested sets computed.
 * A new part starts at the first trace boundary after `partSpans` spans. Writes
 * `<pathPrefix>.<n>.spans.ndjson` per part, and `.resources.ndjson` and
 * `.scopes.ndjson` shared by all parts.
 */
export async function stageTraces(
  traces: AsyncIterable<TraceSpans> | Iterable<TraceSpans>,
  pathPrefix: string,
  partSpans = Number.POSITIVE_INFINITY,
): Promise<StagedTraces> {
  const staged: StagedTraces = {
    parts: [],
    resourcesPath: `${pathPrefix}.resources.ndjson`,
    scopesPath: `${pathPrefix}.scopes.ndjson`,
    spanCount: 0,
    traceCount: 0,
    maxRowBytes: 0,
    tags: new TagIndex(),
  };
  const encoder = new StagedRowEncoder();
  // Rows are written straight into a byte buffer: joining many row strings into
  // one measured twice as slow (string flattening and GC).
  let chunk = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  let used = 0;
  let sinceYield = 0;
  let fh: FileHandle | undefined;
  let part: StagedPart | undefined;
  let current: { traceId: string; spans: StoredSpan[] } | undefined;

  const flushChunk = async (room: number): Promise<void> => {
    if (used > 0) await fh!.write(chunk, 0, used);
    if (room > chunk.length) chunk = Buffer.allocUnsafe(room);
    used = 0;
  };

  const closePart = async (): Promise<void> => {
    if (!fh) return;
    await flushChunk(0);
    await fh.close();
    fh = undefined;
  };

  const flushTrace = async (): Promise<void> => {
    if (!current) return;
    if (!part || part.spanCount >= partSpans) {
      await closePart();
      part = { spansPath: `${pathPrefix}.${staged.parts.length}.spans.ndjson`, spanCount: 0 };
      staged.parts.push(part);
      fh = await open(part.spansPath, 'w');
    }
    const rows = traceRows(current.traceId, current.spans, encoder, staged.tags);
    staged.traceCount++;
    staged.spanCount += rows.length;
    part.spanCount += rows.length;
    for (const row of rows) {
      // A UTF-16 code unit takes at most 3 bytes in UTF-8.
      if (used + row.length * 3 > chunk.length) await flushChunk(row.length * 3);
      const written = chunk.write(row, used);
      used += written;
      if (written > staged.maxRowBytes) staged.maxRowBytes = written;
    }
    sinceYield += rows.length;
    if (sinceYield >= ROWS_PER_YIELD) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  };

  try {
    try {
      for await (const t of traces) {
        if (!TRACE_ID_RE.test(t.traceId)) throw new Error(`invalid trace ID ${JSON.stringify(t.traceId)}: expected 32 lowercase hex digits`);
        if (current && t.traceId === current.traceId) {
          current.spans.push(...t.spans);
          continue;
        }
        if (current && t.traceId < current.traceId) throw new Error(`traces must come sorted by trace ID: ${t.traceId} after ${current.traceId}`);
        await flushTrace();
        current = { traceId: t.traceId, spans: [...t.spans] };
      }
      await flushTrace();
    } finally {
      await closePart();
    }
    await writeFile(staged.resourcesPath, encoder.resourcesNdjson());
    await writeFile(staged.scopesPath, encoder.scopesNdjson());
  } catch (err) {
    await removeStaged(staged);
    throw err;
  }
  return staged;
}

export async function removeStaged(staged: StagedTraces): Promise<void> {
  await Promise.all([...staged.parts.map((p) => p.spansPath), staged.resourcesPath, staged.scopesPath].map((p) => rm(p, { force: true })));
}

/** The staged rows of one trace, in block order. */
function traceRows(traceId: string, spans: readonly StoredSpan[], encoder: StagedRowEncoder, tags: TagIndex): string[] {
  const unique = new Map<string, { s: StoredSpan; parent: string }>();
  for (const s of spans) {
    const id = toHex(s.span.spanId);
    if (!unique.has(id)) unique.set(id, { s, parent: toHex(s.span.parentSpanId) });
  }
  const ordered = [...unique].map(([spanId, v]) => ({ spanId, parentSpanId: v.parent, s: v.s }));
  ordered.sort((a, b) => {
    const d = a.s.span.startTimeUnixNano - b.s.span.startTimeUnixNano;
    if (d !== 0n) return d < 0n ? -1 : 1;
    return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
  });
  for (const o of ordered) tags.addStoredSpan(o.s);
  const nested = computeNestedSets(ordered);
  return ordered.map((o, i) => encoder.encode(traceId, o.s, nested[i]!, o.spanId, o.parentSpanId));
}

/**
 * A FROM source reading one staged part as block columns, in staging order. Each
 * span picks its resource and scope out of a list by index rather than by a join:
 * a join would lose the row order (and cost a sort to get it back), and the lookup
 * measured twice as fast.
 */
export function stagedSource(staged: StagedTraces, part: StagedPart): string {
  // read_json sizes its buffers by maximum_object_size, so it is raised only when a row needs it.
  const maxObject = Math.max(DEFAULT_MAX_JSON_OBJECT_BYTES, 2 ** Math.ceil(Math.log2(staged.maxRowBytes + 1)));
  const read = (path: string, file: 'spans' | 'resources' | 'scopes'): string =>
    `read_json(${sqlString(path)}, format = 'newline_delimited', columns = ${stagedJsonColumns(file)}, maximum_object_size = ${maxObject})`;
  return (
    `(SELECT ${selectFromStaged()} FROM (` +
    `SELECT s.*, resources[s.${RESOURCE_REF} + 1] AS res, scopes[s.${SCOPE_REF} + 1] AS sco ` +
    `FROM ${read(part.spansPath, 'spans')} s, ` +
    `(SELECT list(r ORDER BY r.${RESOURCE_REF}) AS resources FROM ${read(staged.resourcesPath, 'resources')} r), ` +
    `(SELECT list(c ORDER BY c.${SCOPE_REF}) AS scopes FROM ${read(staged.scopesPath, 'scopes')} c)) x)`
  );
}

/**
 * COPY options of every part. Measured on the workload of docs/block-format.md:
 * zstd level 9 stores 8% fewer bytes than the default level 3 for 8% more write
 * time (level 15 saves 3% more at twice the time); Parquet v2 encodings came out
 * larger, so the files stay v1, which every reader understands. DuckDB cuts row
 * groups at multiples of its 2048-row vectors, so that is the smallest that works.
 */
export function parquetCopyOptions(opts: ParquetWriteOptions): string {
  return `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE ${rowGroupRows(opts)}`;
}

/** Runs `COPY (query) TO path` and makes the file durable. */
export async function copyToParquet(engine: DuckEngine, query: string, path: string, opts: ParquetWriteOptions): Promise<void> {
  try {
    await engine.run(`COPY (${query}) TO ${sqlString(path)} (${parquetCopyOptions(opts)})`);
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}

/** Writes sorted traces into new Parquet parts in stagingDir; returns their paths (in trace-ID order) and counts. */
export async function writeTracesParquet(
  engine: DuckEngine,
  stagingDir: string,
  traces: AsyncIterable<TraceSpans> | Iterable<TraceSpans>,
  opts: ParquetWriteOptions,
): Promise<{ paths: string[]; spanCount: number; traceCount: number; tags: TagIndex }> {
  const name = randomUUID();
  const staged = await stageTraces(traces, join(stagingDir, name), spansPerPart(opts));
  const paths: string[] = [];
  try {
    if (staged.spanCount === 0) throw new Error('no spans to write');
    for (const [i, part] of staged.parts.entries()) {
      const path = join(stagingDir, `${name}.${i}.parquet`);
      // Rows are staged in block order and DuckDB keeps insertion order (no join, no
      // ORDER BY needed); the block tests check the order of what is written.
      await copyToParquet(engine, `SELECT * FROM ${stagedSource(staged, part)}`, path, opts);
      paths.push(path);
    }
  } catch (err) {
    await Promise.all(paths.map((p) => rm(p, { force: true })));
    throw err;
  } finally {
    await removeStaged(staged);
  }
  return { paths, spanCount: staged.spanCount, traceCount: staged.traceCount, tags: staged.tags };
}
