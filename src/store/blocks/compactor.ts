// Compaction: which blocks to merge, and merging them into one block's Parquet parts.
//
// Only blocks whose spans start in the same time window are merged, so a block
// never spans more time than a window and retention, which deletes whole blocks,
// stays close to exact. Most traces live in exactly one input and their rows are
// copied through by DuckDB untouched; the few that straddle inputs (spans that
// arrived after a head cut) are read back, merged, de-duplicated and renumbered
// (nested sets) in JS, then sorted in with the rest.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceSpans } from '../../otlp/model.js';
import type { DuckEngine } from '../engine/duckdb.js';
import type { BlockMeta } from './meta.js';
import { rowToStoredSpan, SPAN_COLUMNS, type SpanRow } from './row-codec.js';
import { allColumns, SORT_ORDER, sqlString } from './schema.js';
import { buildParts, copyRowsToParquet, copyToParquet, spansPerPart, type ParquetWriteOptions } from './writer.js';

export interface CompactionPolicy {
  windowMs: number;
  /** Blocks this large are left alone, and no merge grows past it. */
  maxBlockBytes: number;
  minInputBlocks: number;
}

/** The compaction window a block belongs to: floor(minStart / window). */
export function compactionWindow(meta: BlockMeta, windowMs: number): bigint {
  const windowNs = BigInt(Math.max(1, Math.round(windowMs))) * 1_000_000n;
  return BigInt(meta.minStartUnixNano) / windowNs;
}

/**
 * The blocks to merge next, or undefined when no window has enough small blocks.
 * The oldest qualifying window goes first; within it, the least compacted and
 * smallest blocks, as many as fit under maxBlockBytes together.
 */
export function planCompaction(blocks: readonly BlockMeta[], policy: CompactionPolicy): BlockMeta[] | undefined {
  const byWindow = new Map<bigint, BlockMeta[]>();
  for (const b of blocks) {
    if (b.sizeBytes >= policy.maxBlockBytes) continue;
    const w = compactionWindow(b, policy.windowMs);
    const list = byWindow.get(w);
    if (list) list.push(b);
    else byWindow.set(w, [b]);
  }
  const windows = [...byWindow.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const w of windows) {
    const candidates = byWindow.get(w)!;
    if (candidates.length < policy.minInputBlocks) continue;
    candidates.sort((a, b) => a.compactionLevel - b.compactionLevel || a.sizeBytes - b.sizeBytes || a.blockId.localeCompare(b.blockId));
    const chosen: BlockMeta[] = [];
    let total = 0;
    for (const b of candidates) {
      if (total + b.sizeBytes > policy.maxBlockBytes) continue;
      chosen.push(b);
      total += b.sizeBytes;
    }
    if (chosen.length >= policy.minInputBlocks) return chosen;
  }
  return undefined;
}

/**
 * Merges Parquet blocks into new parts in stagingDir (block order, spans
 * de-duplicated, a trace never split across parts); returns their paths in
 * trace-ID order.
 */
export async function mergeParquet(engine: DuckEngine, stagingDir: string, inputPaths: readonly string[], opts: ParquetWriteOptions): Promise<string[]> {
  const files = `[${inputPaths.map(sqlString).join(', ')}]`;
  const shared = `SELECT trace_id FROM read_parquet(${files}, filename = true) GROUP BY trace_id HAVING count(DISTINCT filename) > 1`;
  const rows = await engine.all<SpanRow & Record<string, unknown>>(
    `SELECT ${SPAN_COLUMNS} FROM read_parquet(${files}) WHERE trace_id IN (${shared}) ORDER BY trace_id`,
  );
  const name = randomUUID();
  const merged = join(stagingDir, `${name}.parquet`);
  if (rows.length === 0) {
    await copyToParquet(engine, `SELECT ${allColumns()} FROM read_parquet(${files}) ORDER BY ${SORT_ORDER}`, merged, opts);
  } else {
    // The straddling traces, merged and renumbered, as one part of rows sorted in with the rest.
    await buildParts(groupByTrace(rows), Number.POSITIVE_INFINITY, (built) =>
      copyRowsToParquet(
        engine,
        built,
        (from) =>
          `SELECT * FROM (SELECT ${allColumns()} FROM read_parquet(${files}) WHERE trace_id NOT IN (${shared}) ` +
          `UNION ALL SELECT * FROM ${from}) ORDER BY ${SORT_ORDER}`,
        merged,
        opts,
      ),
    );
  }
  return splitIntoParts(engine, stagingDir, merged, opts);
}

/**
 * Cuts a sorted Parquet file into parts of about spansPerPart spans at trace
 * boundaries, as the head's writer does; the input is consumed. A file that
 * already fits is kept as it is.
 */
async function splitIntoParts(engine: DuckEngine, stagingDir: string, sortedPath: string, opts: ParquetWriteOptions): Promise<string[]> {
  const limit = spansPerPart(opts);
  const paths: string[] = [];
  try {
    const counts = await engine.all<{ trace_id: string; n: bigint }>(
      `SELECT trace_id, count(*) AS n FROM read_parquet(${sqlString(sortedPath)}) GROUP BY trace_id ORDER BY trace_id`,
    );
    const ranges: { first: string; last: string }[] = [];
    let spans = 0;
    for (const c of counts) {
      const open = ranges.at(-1);
      if (!open || spans >= limit) {
        ranges.push({ first: c.trace_id, last: c.trace_id });
        spans = 0;
      } else {
        open.last = c.trace_id;
      }
      spans += Number(c.n);
    }
    if (ranges.length <= 1) return [sortedPath];
    for (const [i, r] of ranges.entries()) {
      const path = join(stagingDir, `${randomUUID()}.${i}.parquet`);
      await copyToParquet(
        engine,
        `SELECT * FROM read_parquet(${sqlString(sortedPath)}) WHERE trace_id BETWEEN ${sqlString(r.first)} AND ${sqlString(r.last)} ORDER BY ${SORT_ORDER}`,
        path,
        opts,
      );
      paths.push(path);
    }
    await rm(sortedPath, { force: true });
    return paths;
  } catch (err) {
    await Promise.all([sortedPath, ...paths].map((p) => rm(p, { force: true })));
    throw err;
  }
}

/** Rows sorted by trace ID → one TraceSpans per trace (buildParts de-duplicates and renumbers). */
function* groupByTrace(rows: readonly SpanRow[]): Generator<TraceSpans> {
  let current: TraceSpans | undefined;
  for (const r of rows) {
    if (!current || current.traceId !== r.trace_id) {
      if (current) yield current;
      current = { traceId: r.trace_id, spans: [] };
    }
    current.spans.push(rowToStoredSpan(r));
  }
  if (current) yield current;
}
