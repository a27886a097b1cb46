// Reads from a block's Parquet parts: the spans of one trace, and the summary
// (counts, ranges, row groups, trace IDs) its meta.json and bloom are built from.
import type { StoredSpan } from '../../otlp/model.js';
import type { DuckEngine, QueryContext } from '../engine/duckdb.js';
import type { RowGroupRange } from './meta.js';
import { rowToStoredSpan, SLIM_SPAN_COLUMNS, slimRowToStoredSpan, SPAN_COLUMNS, type SlimSpanRow, type SpanRow } from './row-codec.js';
import { sqlString } from './schema.js';
import { TRACE_HAS_DROPPED, TRACE_HAS_EVENTS, TRACE_HAS_LINKS, TRACE_HAS_SCOPE_ATTRS, TRACE_HAS_STATUS_MESSAGE_OR_STATE, type TraceRows } from './trace-index.js';

/**
 * The spans of one trace in one part. The SQL text is fixed per file and set of columns
 * and the ID is a parameter, so the engine prepares the statement once per file, columns
 * and connection; DuckDB then reads only the row groups whose trace_id min/max admit the
 * ID. `known`: columns whose value in every row of the trace is known (its trace index
 * says so, constantColumnsOf), read as that constant without decoding them.
 */
export async function readTraceSpans(engine: DuckEngine, partPath: string, traceIdHex: string, known: readonly KnownColumn[] = []): Promise<StoredSpan[]> {
  const columns = withConstants(await lookupColumns(engine, partPath), known);
  const rows = await engine.all<SpanRow & Record<string, unknown>>(`SELECT ${columns} FROM read_parquet(${sqlString(partPath)}) WHERE trace_id = $1`, [traceIdHex]);
  return rows.map(rowToStoredSpan);
}

/** A column of SPAN_COLUMNS and the SQL constant it holds in every row of some trace. */
export type KnownColumn = readonly [column: string, value: string];

const NO_DROPPED: readonly KnownColumn[] = ['dropped_attributes_count', 'dropped_events_count', 'dropped_links_count'].map((c) => [c, '0::UINTEGER'] as const);

/**
 * The columns a trace's index flags (trace-index.ts) say hold the same value in every
 * span of it: a list column none of its spans uses (NULL reads as an empty list, as
 * rowToStoredSpan decodes an empty one), and the status message, trace state and dropped
 * counts when every span has them empty or zero. DuckDB's cost for a lookup grows with
 * the columns it decodes, list columns most (docs/block-format.md).
 */
export function constantColumnsOf(flags: number): KnownColumn[] {
  const out: KnownColumn[] = [];
  if ((flags & TRACE_HAS_EVENTS) === 0) out.push(['events', 'NULL']);
  if ((flags & TRACE_HAS_LINKS) === 0) out.push(['links', 'NULL']);
  if ((flags & TRACE_HAS_SCOPE_ATTRS) === 0) out.push(['scope_attrs', 'NULL']);
  if ((flags & TRACE_HAS_STATUS_MESSAGE_OR_STATE) === 0) out.push(['status_message', "''"], ['trace_state', "''"]);
  if ((flags & TRACE_HAS_DROPPED) === 0) out.push(...NO_DROPPED);
  return out;
}

/**
 * Every trace of a block's parts (given in block order) with its part, rows and the
 * flags, in block order: what its trace index is built from. One scan of the trace ID
 * column, the list lengths of three columns and a few scalar columns.
 */
export async function readTraceRows(engine: DuckEngine, paths: readonly string[]): Promise<TraceRows[]> {
  const rows = await engine.all<{ file: string; trace_id: string; spans: bigint; first_row: bigint; last_row: bigint; flags: number }>(
    `SELECT filename AS file, trace_id, count(*) AS spans, min(file_row_number) AS first_row, max(file_row_number) AS last_row,
            (bool_or(len(events) > 0)::INTEGER * ${TRACE_HAS_EVENTS} + bool_or(len(links) > 0)::INTEGER * ${TRACE_HAS_LINKS}
             + bool_or(len(scope_attrs) > 0)::INTEGER * ${TRACE_HAS_SCOPE_ATTRS}
             + bool_or(status_message <> '' OR trace_state <> '')::INTEGER * ${TRACE_HAS_STATUS_MESSAGE_OR_STATE}
             + bool_or(dropped_attributes_count > 0 OR dropped_events_count > 0 OR dropped_links_count > 0)::INTEGER * ${TRACE_HAS_DROPPED}) AS flags
     FROM read_parquet(${fileList(paths)}, filename = true, file_row_number = true)
     GROUP BY filename, trace_id ORDER BY trace_id, first_row`,
  );
  const partOf = new Map(paths.map((p, i) => [p, i]));
  return rows.map((r) => ({
    traceId: r.trace_id,
    part: partOf.get(r.file)!,
    firstRow: Number(r.first_row),
    lastRow: Number(r.last_row),
    spans: Number(r.spans),
    flags: Number(r.flags),
  }));
}

/**
 * What a query that looks only at a span's own fields reads of it: the fields TraceQL can
 * ask about (IDs, times, name, kind, status, scope name and version) and the resource's
 * service.name (the service_name column; see slimRowToStoredSpan). The
 * rest reads as empty: attribute, event and link lists, trace state, flags, dropped counts
 * and schema URLs. Reading the lists is most of a lookup's cost, and each further column
 * is a decompression of every row group a trace is in. A span whose service_name is NULL
 * (no string service.name) must have its resource read whole to tell what it has instead.
 */
const SLIM_COLUMNS = `${SLIM_SPAN_COLUMNS}, service_name`;

const TRACE_ID_32_RE = /^[0-9a-f]{32}$/;

/**
 * The spans of several traces in several parts, in one query per set of columns the parts
 * need (usually one): a statement costs milliseconds before it reads a row. DuckDB evaluates
 * the IN list on the trace_id column first (skipping row groups whose range holds none of
 * the IDs) and decodes the other columns only around matching rows, so the cost grows with
 * the traces found rather than with the parts. `slim` reads SLIM_COLUMNS (for queries that
 * look at nothing else; traces with a span that has no string service.name are then read
 * whole), `no-events` all but the event and link lists.
 */
export async function readTracesSpans(
  engine: DuckEngine,
  reads: ReadonlyArray<{ path: string; traceIdsHex: readonly string[] }>,
  columns: 'slim' | 'no-events' | 'all',
  query?: QueryContext,
): Promise<StoredSpan[]> {
  for (const r of reads) for (const id of r.traceIdsHex) if (!TRACE_ID_32_RE.test(id)) throw new Error(`not a padded lowercase trace ID: ${id}`);
  const select = async <R extends Record<string, unknown>>(columns: string, paths: readonly string[], ids: readonly string[]) =>
    ids.length === 0 ? [] : engine.all<R>(`SELECT ${columns} FROM read_parquet(${fileList(paths)}) WHERE trace_id IN (${ids.map(sqlString).join(', ')})`, undefined, query);
  const idsOf = (rs: ReadonlyArray<{ traceIdsHex: readonly string[] }>) => [...new Set(rs.flatMap((r) => r.traceIdsHex))];
  const whole = async (rs: ReadonlyArray<{ path: string; traceIdsHex: readonly string[] }>): Promise<SpanRow[]> => {
    const byColumns = new Map<string, Array<{ path: string; traceIdsHex: readonly string[] }>>();
    for (const r of rs) {
      let list = await lookupColumns(engine, r.path);
      if (columns === 'no-events') list = withoutLists(list, ['events', 'links']);
      const group = byColumns.get(list);
      if (group) group.push(r);
      else byColumns.set(list, [r]);
    }
    const rows: SpanRow[] = [];
    for (const [list, group] of byColumns) {
      rows.push(
        ...(await select<SpanRow & Record<string, unknown>>(
          list,
          group.map((r) => r.path),
          idsOf(group),
        )),
      );
    }
    return rows;
  };
  if (columns !== 'slim') return (await whole(reads)).map(rowToStoredSpan);
  const rows = await select<SlimSpanRow & { service_name: string | null } & Record<string, unknown>>(
    SLIM_COLUMNS,
    reads.map((r) => r.path),
    idsOf(reads),
  );
  const noService = new Set(rows.filter((r) => r.service_name === null).map((r) => r.trace_id));
  const out = rows.filter((r) => !noService.has(r.trace_id)).map((r) => slimRowToStoredSpan(r, r.service_name!));
  if (noService.size > 0) {
    const again = reads.map((r) => ({ path: r.path, traceIdsHex: r.traceIdsHex.filter((id) => noService.has(id)) })).filter((r) => r.traceIdsHex.length > 0);
    out.push(...(await whole(again)).map(rowToStoredSpan));
  }
  return out;
}

/** `columns` (SPAN_COLUMNS or a subset) with these list columns read as empty. */
function withoutLists(columns: string, lists: readonly string[]): string {
  return withConstants(
    columns,
    lists.map((list) => [list, 'NULL'] as const),
  );
}

/** `columns` (SPAN_COLUMNS or a subset) with these columns read as constants (a column already replaced stays as it is). */
function withConstants(columns: string, known: readonly KnownColumn[]): string {
  for (const [column, value] of known) columns = columns.replace(new RegExp(`(^|, )${column}(?=,|$)`), `$1${value} AS ${column}`);
  return columns;
}

/** The list columns of SPAN_COLUMNS: a lookup skips those a part holds no element of. */
const LIST_COLUMNS = ['attrs', 'events', 'links', 'resource_attrs', 'scope_attrs'] as const;
/** Parts whose lookup columns are known, per engine; bounded, as blocks come and go. */
const lookupColumnCache = new WeakMap<DuckEngine, Map<string, string>>();
const LOOKUP_COLUMN_CACHE_SIZE = 4096;

/**
 * SPAN_COLUMNS for one part, with `NULL AS <column>` for each list column that is empty
 * in every row of it (decoded as an empty list, the same as reading it). DuckDB's cost
 * for a lookup grows with the leaf columns it reads: links and scope attributes are 19
 * of the 62 and usually empty, and skipping them measured ~20% less CPU per lookup.
 * Known from the Parquet footer alone: every leaf column under the list is null in every
 * row group (an element, were there one, has a non-null key / trace ID / time).
 */
async function lookupColumns(engine: DuckEngine, partPath: string): Promise<string> {
  let cache = lookupColumnCache.get(engine);
  if (!cache) lookupColumnCache.set(engine, (cache = new Map()));
  const known = cache.get(partPath);
  if (known !== undefined) return known;
  const leaves = await engine.all<{ path_in_schema: string; num_values: bigint | null; stats_null_count: bigint | null }>(
    `SELECT path_in_schema, num_values, stats_null_count FROM parquet_metadata(${sqlString(partPath)})`,
  );
  let columns = SPAN_COLUMNS;
  for (const list of LIST_COLUMNS) {
    const under = leaves.filter((l) => l.path_in_schema.split(',')[0]!.trim() === list);
    // Without statistics, or with any non-null value, the column is read.
    const empty = under.length > 0 && under.every((l) => l.stats_null_count !== null && l.num_values !== null && l.stats_null_count === l.num_values);
    if (empty) columns = withoutLists(columns, [list]);
  }
  if (cache.size >= LOOKUP_COLUMN_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(partPath, columns);
  return columns;
}

export interface PartSummary {
  path: string;
  spanCount: number;
  minTraceId: string;
  maxTraceId: string;
  rowGroups: RowGroupRange[];
  /** Start of what follows the last row group (BlockPart.footerOffset). */
  footerOffset: number;
}

export interface ParquetSummary {
  spanCount: number;
  traceCount: number;
  minStartUnixNano: bigint;
  maxEndUnixNano: bigint;
  minTraceId: string;
  maxTraceId: string;
  /** In the order of the paths given. */
  parts: PartSummary[];
}

/** Counts, ranges and row groups of the Parquet parts of one block. */
export async function summarizeParquet(engine: DuckEngine, paths: readonly string[]): Promise<ParquetSummary> {
  const files = fileList(paths);
  const [totals] = await engine.all<{ spans: bigint; traces: bigint; min_start: bigint | null; max_end: bigint | null; min_trace: string | null; max_trace: string | null }>(
    `SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces, min(start_unix_nano) AS min_start,
            max(start_unix_nano + duration_nano) AS max_end, min(trace_id) AS min_trace, max(trace_id) AS max_trace
     FROM read_parquet(${files})`,
  );
  if (!totals || totals.spans === 0n) throw new Error(`${paths.join(', ')} hold no spans`);
  const perFile = await engine.all<{ file: string; spans: bigint; min_trace: string; max_trace: string }>(
    `SELECT filename AS file, count(*) AS spans, min(trace_id) AS min_trace, max(trace_id) AS max_trace
     FROM read_parquet(${files}, filename = true) GROUP BY filename`,
  );
  // A column chunk starts at its dictionary page when it has one (an offset of 0 is a
  // writer saying it has none), and its compressed size counts every page of it.
  const chunkStart = 'CASE WHEN dictionary_page_offset > 0 THEN least(dictionary_page_offset, data_page_offset) ELSE data_page_offset END';
  const groups = await engine.all<{ file: string; rows: bigint; bytes: bigint; start: bigint; end: bigint; min_trace: string | null; max_trace: string | null }>(
    `SELECT file_name AS file, any_value(row_group_num_rows) AS rows, sum(total_compressed_size) AS bytes,
            min(${chunkStart}) AS start, max(${chunkStart} + total_compressed_size) AS end,
            max(CASE WHEN path_in_schema = 'trace_id' THEN stats_min_value END) AS min_trace,
            max(CASE WHEN path_in_schema = 'trace_id' THEN stats_max_value END) AS max_trace
     FROM parquet_metadata(${files}) GROUP BY file_name, row_group_id ORDER BY file_name, row_group_id`,
  );
  return {
    spanCount: Number(totals.spans),
    traceCount: Number(totals.traces),
    minStartUnixNano: totals.min_start ?? 0n,
    maxEndUnixNano: totals.max_end ?? 0n,
    minTraceId: totals.min_trace ?? '',
    maxTraceId: totals.max_trace ?? '',
    parts: paths.map((path) => {
      const f = perFile.find((x) => x.file === path);
      if (!f) throw new Error(`${path} holds no spans`);
      const mine = groups.filter((g) => g.file === path);
      return {
        path,
        spanCount: Number(f.spans),
        minTraceId: f.min_trace,
        maxTraceId: f.max_trace,
        rowGroups: mine.map((g) => ({
          // A row group without statistics could hold any ID.
          minTraceId: g.min_trace ?? '',
          maxTraceId: g.max_trace ?? 'g',
          spans: Number(g.rows),
          bytes: Number(g.bytes),
          offset: Number(g.start),
          length: Number(g.end - g.start),
        })),
        // DuckDB writes bloom filters and the footer after the last row group.
        footerOffset: mine.reduce((n, g) => Math.max(n, Number(g.end)), 0),
      };
    }),
  };
}

/** Every trace ID in the parts, once each. */
export async function readTraceIds(engine: DuckEngine, paths: readonly string[]): Promise<string[]> {
  const rows = await engine.all<{ trace_id: string }>(`SELECT DISTINCT trace_id FROM read_parquet(${fileList(paths)})`);
  return rows.map((r) => r.trace_id);
}

/** A DuckDB list literal of file paths. */
export function fileList(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}
