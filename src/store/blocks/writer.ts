// Writes traces into the Parquet parts of a block. The spans of a part are put in
// block order first; then DuckDB's COPY reads them through a table function, and
// for each chunk of rows it asks for, JS builds the rows as columns in DuckDB's
// vector layout (block-columns.ts) and copies them into the chunk's vectors.
// Nothing is staged on disk, nothing is parsed, and a write holds one chunk of
// columns at a time. The candidates measured before this one (NDJSON staging read
// back by read_json, the appender into a temporary table, Arrow and parquet-wasm)
// are in docs/block-format.md.
//
// A block is split into parts of a bounded number of spans, each part a sorted
// Parquet file covering its own trace-ID range, and a trace never straddles two
// parts. Trace-by-ID then opens one small file whatever the size of the block:
// DuckDB 1.5 spends time on every row group of a file it scans, even the ones its
// statistics rule out, so one big file made lookups slower as blocks grew.
import { randomUUID } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { StoredSpan, TraceSpans } from '../../otlp/model.js';
import { computeNestedSets } from '../../otlp/nested-set.js';
import type { DuckEngine, RowSource } from '../engine/duckdb.js';
import { BlockRows } from './block-columns.js';
import { sqlString } from './schema.js';
import { TagIndex } from './tag-index.js';

/** Rows built between two yields to the event loop. */
const ROWS_PER_YIELD = 2000;
const TRACE_ID_RE = /^[0-9a-f]{32}$/;
/** Row groups per part: few enough that a lookup's cost stays that of a small file. */
export const ROW_GROUPS_PER_PART = 8;

export interface ParquetWriteOptions {
  rowGroupSpans: number;
  /** zstd level of the parts (default ZSTD_LEVEL; the benchmark tries others). */
  zstdLevel?: number;
}

/** See parquetCopyOptions. */
export const ZSTD_LEVEL = 9;

export function spansPerPart(opts: ParquetWriteOptions): number {
  return rowGroupRows(opts) * ROW_GROUPS_PER_PART;
}

function rowGroupRows(opts: ParquetWriteOptions): number {
  return Math.max(1, Math.floor(opts.rowGroupSpans));
}

/** What went into the parts. */
export interface BuiltRows {
  spanCount: number;
  traceCount: number;
  /** Tag names and values of the spans written (after de-duplication), complete once every part is flushed. */
  tags: TagIndex;
}

/**
 * Puts traces in block order: traces by ID (the input must come sorted; entries of
 * the same trace next to each other are merged), spans of a trace de-duplicated by
 * span ID and sorted by start time, then span ID, nested sets computed. A part ends
 * at the first trace boundary after `partSpans` rows: `flush` gets its rows (once
 * per part, the last one included) to read before the next part starts.
 */
export async function buildParts(
  traces: AsyncIterable<TraceSpans> | Iterable<TraceSpans>,
  partSpans: number,
  flush: (rows: RowSource) => Promise<void>,
): Promise<BuiltRows> {
  const built: BuiltRows = { spanCount: 0, traceCount: 0, tags: new TagIndex() };
  const part = new BlockRows(built.tags);
  let sinceYield = 0;
  let current: { traceId: string; spans: StoredSpan[] } | undefined;

  const addCurrent = async (): Promise<void> => {
    if (!current) return;
    if (part.rowCount >= partSpans) {
      await flush(part);
      part.clear();
    }
    const rows = addTrace(part, current.traceId, current.spans);
    built.traceCount++;
    built.spanCount += rows;
    sinceYield += rows;
    if (sinceYield >= ROWS_PER_YIELD) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  };

  for await (const t of traces) {
    if (!TRACE_ID_RE.test(t.traceId)) throw new Error(`invalid trace ID ${JSON.stringify(t.traceId)}: expected 32 lowercase hex digits`);
    if (current && t.traceId === current.traceId) {
      for (const s of t.spans) current.spans.push(s);
      continue;
    }
    if (current && t.traceId < current.traceId) throw new Error(`traces must come sorted by trace ID: ${t.traceId} after ${current.traceId}`);
    await addCurrent();
    current = { traceId: t.traceId, spans: [...t.spans] };
  }
  await addCurrent();
  if (part.rowCount > 0) await flush(part);
  return built;
}

/** A span of a trace being ordered; the IDs are keys for comparing, not hex (see idKey). */
interface OrderedSpan {
  s: StoredSpan;
  start: bigint;
  spanId: string;
  /** '' for a root (no parent, or an all-zero one), as computeNestedSets expects. */
  parentSpanId: string;
}

/** Adds one trace's spans to the part in block order; returns how many rows that made. */
function addTrace(part: BlockRows, traceId: string, spans: readonly StoredSpan[]): number {
  const seen = new Set<string>();
  const ordered: OrderedSpan[] = [];
  for (const s of spans) {
    const spanId = idKey(s.span.spanId);
    if (seen.has(spanId)) continue;
    seen.add(spanId);
    ordered.push({ s, start: s.span.startTimeUnixNano, spanId, parentSpanId: parentKey(s.span.parentSpanId) });
  }
  ordered.sort(byStartThenId);
  const nested = computeNestedSets(ordered);
  for (let i = 0; i < ordered.length; i++) part.add(traceId, ordered[i]!.s, nested[i]!);
  return ordered.length;
}

function byStartThenId(a: OrderedSpan, b: OrderedSpan): number {
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/**
 * An ID as a string that sorts as its bytes do (one character per byte), which is
 * how hex sorts, at a fraction of the cost of hex. The '#' in front keeps any key
 * from looking like an all-zero hex ID to computeNestedSets.
 */
function idKey(id: Uint8Array): string {
  if (id.length === 8) return String.fromCharCode(35, id[0]!, id[1]!, id[2]!, id[3]!, id[4]!, id[5]!, id[6]!, id[7]!);
  let key = '#';
  for (const b of id) key += String.fromCharCode(b);
  return key;
}

function parentKey(id: Uint8Array): string {
  for (const b of id) if (b !== 0) return idKey(id);
  return '';
}

/**
 * COPY options of every part. Measured on the workload of docs/block-format.md:
 * zstd level 9 stores 8% fewer bytes than the default level 3 for 8% more write
 * time (level 15 saves 3% more at twice the time); Parquet v2 encodings came out
 * larger, so the files stay v1, which every reader understands. DuckDB cuts row
 * groups at multiples of its 2048-row vectors, so that is the smallest that works.
 */
export function parquetCopyOptions(opts: ParquetWriteOptions): string {
  return `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${opts.zstdLevel ?? ZSTD_LEVEL}, ROW_GROUP_SIZE ${rowGroupRows(opts)}`;
}

/** Runs `COPY (query) TO path` and makes the file durable. */
export async function copyToParquet(engine: DuckEngine, query: string, path: string, opts: ParquetWriteOptions): Promise<void> {
  try {
    await engine.write(`COPY (${query}) TO ${sqlString(path)} (${parquetCopyOptions(opts)})`);
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

/** copyToParquet of a query over rows built in JS: `query` gets the FROM item that reads them. */
export async function copyRowsToParquet(
  engine: DuckEngine,
  rows: RowSource,
  query: (from: string) => string,
  path: string,
  opts: ParquetWriteOptions,
): Promise<void> {
  const source = engine.rows(rows);
  try {
    await copyToParquet(engine, query(source.from), path, opts);
  } finally {
    source.release();
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
  const paths: string[] = [];
  try {
    const built = await buildParts(traces, spansPerPart(opts), async (rows) => {
      const path = join(stagingDir, `${name}.${paths.length}.parquet`);
      // Rows are built in block order and the table function hands them over in that
      // order (no ORDER BY needed); the block tests check the order of what is written.
      await copyRowsToParquet(engine, rows, (from) => `SELECT * FROM ${from}`, path, opts);
      paths.push(path);
    });
    if (built.spanCount === 0) throw new Error('no spans to write');
    return { paths, ...built };
  } catch (err) {
    await Promise.all(paths.map((p) => rm(p, { force: true })));
    throw err;
  }
}
