// A metrics first stage (store/fetch/request.ts FetchAggregateRequest) as one DuckDB
// aggregate over a block's span rows (docs/block-format.md), grouped by interval, by()
// values and log2 bucket. Unlike narrowing for search, this SQL is the answer, so every
// expression here agrees with the engine exactly: the filter is conditions-sql.ts's
// (compared as values.ts compares), by() values are the attribute element the engine
// picks, a measured value is a number only when the engine's toNumber gives one (NaN
// doubles have none), durations are whole nanoseconds summed as exact integers, and
// only integers and durations have a bucket (Tempo's Log2Bucketize).
//
// What SQL cannot judge goes to the engine as whole traces: rows the filter may misjudge
// (array values), rows whose by() values are arrays, maps or bytes, and traces the caller
// names (those the head also holds). Such traces are left out of the aggregate entirely,
// so nothing is counted twice. A filter or field with no exact form (several event:name
// conditions, by(event:name)) leaves every trace that may hold a counted span.
import type { DuckEngine, QueryContext } from '../engine/duckdb.js';
import type { AggregateRow, FetchAggregateRequest, FetchField } from '../fetch/request.js';
import { KIND_BY_CODE, STATUS_BY_CODE, type Val } from '../fetch/values.js';
import { attributeLookup, compileSpanFilter, mayMatchSql } from './conditions-sql.js';
import { fileList } from './reader.js';

export type AggregateQuery = Pick<FetchAggregateRequest, 'afterUnixNano' | 'atOrBeforeUnixNano' | 'stepNano' | 'filter' | 'by' | 'value' | 'buckets' | 'exemplars'>;

export interface PartsAggregate {
  rows: AggregateRow[];
  /** Traces left to the engine (in no order): the caller's `shared` ones the parts hold, and those SQL could not judge. Never counted in `rows`. */
  traceIds: string[];
  /** False when nothing was aggregated: every trace that may hold a counted span is in `traceIds`. */
  aggregated: boolean;
}

/** Type codes of a by() value column beyond the attribute types of schema.ts ValueType (1 string … 7 bytes). */
const T_STATUS = 100;
const T_KIND = 101;
const T_DURATION = 102;

/** The trace IDs of the one parameter, comma-separated. */
const LISTED = `(SELECT unnest(string_split(?, ',')))`;

interface Plan {
  where: string;
  /** Rows SQL cannot judge, or null. */
  undecided: string | null;
  /** One STRUCT(type, str, int, dbl, bool) per by() field, NULL for nil. */
  by: string[];
  /** The measured value as DOUBLE (nanoseconds for durations), NULL when the span has no number. */
  value: string | null;
  /** The log2 bucket exponent, NULL when the span has none (and is not counted). */
  exponent: string | null;
  /** The value is a duration: summed as an exact integer. */
  duration: boolean;
}

/**
 * The aggregate of the spans starting in (after, atOrBefore] over the parts, and the
 * traces it leaves to the engine. `shared` names traces that must be left whatever
 * their rows say. Interrupted with `ctx`'s signal.
 */
export async function aggregateParts(
  engine: DuckEngine,
  paths: readonly string[],
  q: AggregateQuery,
  shared: readonly string[],
  ctx: QueryContext | undefined,
): Promise<PartsAggregate> {
  const files = fileList(paths);
  const inRange = `start_unix_nano > ${q.afterUnixNano} AND start_unix_nano <= ${q.atOrBeforeUnixNano}`;
  /** Traces with a row in range meeting `rows`, and the shared ones the parts hold. */
  const leave = async (rows: string | null): Promise<string[]> => {
    const conds: string[] = [];
    if (shared.length > 0) conds.push(`trace_id IN ${LISTED}`);
    if (rows !== null) conds.push(`(${inRange} AND (${rows}))`);
    if (conds.length === 0) return [];
    const found = await engine.all<{ trace_id: string }>(
      `SELECT DISTINCT trace_id FROM read_parquet(${files}) WHERE ${conds.join(' OR ')}`,
      shared.length > 0 ? [shared.join(',')] : [],
      ctx,
    );
    return found.map((r) => r.trace_id);
  };

  try {
    const plan = planOf(q);
    if (plan.kind === 'engine') return { rows: [], traceIds: await leave(plan.mayMatch), aggregated: false };
    const traceIds = await leave(plan.undecided);
    const rows = await engine.all(aggregateSql(files, inRange, q, plan, traceIds.length > 0), traceIds.length > 0 ? [traceIds.join(',')] : [], ctx);
    return { rows: rows.map((r) => rowOf(r, q)), traceIds, aggregated: true };
  } catch (err) {
    // An expression DuckDB refuses (an RE2 regex the engine accepts, say) costs only
    // speed: every trace with a span in range goes to the engine. Not so a query
    // interrupted at its deadline.
    if (ctx?.signal?.aborted) throw err;
    return { rows: [], traceIds: await leave('TRUE'), aggregated: false };
  }
}

function planOf(q: AggregateQuery): ({ kind: 'sql' } & Plan) | { kind: 'engine'; mayMatch: string } {
  const filter = compileSpanFilter(q.filter);
  const fields = q.value === null ? q.by : [...q.by, q.value];
  const perSpan = fields.every((f) => f.type !== 'intrinsic' || f.name !== 'event:name');
  if (!filter.exact || !perSpan) return { kind: 'engine', mayMatch: mayMatchSql(filter) };

  // by() values the engine keeps whole (arrays, maps, bytes): their rows go to it, when counted
  // (tested first: the lookup is cheaper than most filters, and seldom true).
  const odd = q.by.flatMap((f) => (f.type === 'attribute' ? [`coalesce((${attributeLookup(f)}).type IN (5, 6, 7), FALSE)`] : []));
  const undecided = [...(filter.undecided === null ? [] : [filter.undecided]), ...(odd.length > 0 ? [`((${odd.join(' OR ')}) AND ${filter.sql})`] : [])];
  const v = q.value === null ? null : numericValue(q.value);
  return {
    kind: 'sql',
    where: filter.sql,
    undecided: undecided.length > 0 ? undecided.join(' OR ') : null,
    by: q.by.map(valueStruct),
    value: v?.expr ?? null,
    // Tempo buckets integers and durations; floats have no bucket and drop the span.
    exponent: q.buckets ? (v === null ? 'NULL::INTEGER' : `CASE WHEN ${v.integral} AND ${v.expr} >= 2 THEN ceil(log2(${v.expr}))::INTEGER END`) : null,
    duration: q.value !== null && q.value.type === 'intrinsic' && q.value.name === 'duration',
  };
}

function aggregateSql(files: string, inRange: string, q: AggregateQuery, plan: Plan, excluding: boolean): string {
  const cols = [`((start_unix_nano - ${q.afterUnixNano + 1n}) // ${q.stepNano})::BIGINT AS iv`, ...plan.by.map((b, i) => `${b} AS b${i}`)];
  if (plan.exponent !== null) cols.push(`${plan.exponent} AS bk`);
  const value = plan.value ?? 'NULL::DOUBLE';
  const aggs = ['count(*) AS n', `min(${value}) AS mn`, `max(${value}) AS mx`, `count(${value}) AS nv`];
  // Durations are whole nanoseconds: an exact integer sum, as the engine's (below 2^53).
  aggs.push(plan.duration ? 'sum(duration_nano)::DOUBLE AS sm' : `sum(${value}) AS sm`);
  if (q.exemplars) aggs.push(`min({'st': start_unix_nano, 't': trace_id, 's': lower(hex(span_id)), 'v': ${value}}) AS ex`);
  const where = [inRange, plan.where];
  if (plan.exponent !== null) where.push(`(${plan.exponent}) IS NOT NULL`);
  // Rows SQL cannot judge need no test of their own: their traces are among those excluded.
  if (excluding) where.push(`trace_id NOT IN ${LISTED}`);
  const groupBy = ['iv', ...plan.by.map((_, i) => `b${i}`), ...(plan.exponent !== null ? ['bk'] : [])];
  return `SELECT ${[...cols, ...aggs].join(', ')} FROM read_parquet(${files}) WHERE ${where.join(' AND ')} GROUP BY ${groupBy.join(', ')}`;
}

function struct(type: number, str: string, int: string): string {
  return `{'type': ${type}::UTINYINT, 'str': ${str}::VARCHAR, 'int': ${int}::BIGINT, 'dbl': NULL::DOUBLE, 'bool': NULL::BOOLEAN}`;
}

/** A by() value as a STRUCT(type, str, int, dbl, bool), or NULL for nil. */
function valueStruct(f: FetchField): string {
  if (f.type === 'attribute') {
    const l = attributeLookup(f);
    return `{'type': (${l}).type, 'str': (${l}).str, 'int': (${l}).int, 'dbl': (${l}).dbl, 'bool': (${l}).bool}`;
  }
  switch (f.name) {
    case 'name':
      return struct(1, 'name', 'NULL');
    case 'statusMessage':
      return struct(1, 'status_message', 'NULL');
    case 'instrumentation:name':
      return struct(1, 'scope_name', 'NULL');
    case 'instrumentation:version':
      return struct(1, 'scope_version', 'NULL');
    case 'status':
      return struct(T_STATUS, 'NULL', 'status_code');
    case 'kind':
      return struct(T_KIND, 'NULL', 'kind');
    case 'duration':
      return struct(T_DURATION, 'NULL', 'duration_nano');
    case 'event:name':
      throw new Error('by(event:name) has no value per span');
  }
}

/** A by() value column back as a value. */
function valOf(s: { type: number | null; str: string | null; int: bigint | null; dbl: number | null; bool: boolean | null } | null): Val {
  if (s === null || s.type === null) return { t: 'nil' };
  switch (s.type) {
    case 1:
      return { t: 'string', v: s.str ?? '' };
    case 2:
      return { t: 'bool', v: s.bool ?? false };
    case 3:
      return { t: 'int', v: s.int ?? 0n };
    case 4:
      return { t: 'float', v: s.dbl ?? 0 };
    case T_STATUS:
      return { t: 'status', v: STATUS_BY_CODE[Number(s.int)] ?? 'unset' };
    case T_KIND:
      return { t: 'kind', v: KIND_BY_CODE[Number(s.int)] ?? 'unspecified' };
    case T_DURATION:
      return { t: 'duration', v: s.int ?? 0n };
    default:
      return { t: 'nil' };
  }
}

/** The field as a DOUBLE when the engine's toNumber gives one (NULL otherwise), and whether it is an integer. */
function numericValue(f: FetchField): { expr: string; integral: string } {
  if (f.type === 'intrinsic') {
    // Other span intrinsics are strings, statuses and kinds: never numbers.
    return f.name === 'duration' ? { expr: 'duration_nano::DOUBLE', integral: 'TRUE' } : { expr: 'NULL::DOUBLE', integral: 'FALSE' };
  }
  const l = attributeLookup(f);
  return {
    expr: `CASE WHEN (${l}).type = 3 THEN (${l}).int::DOUBLE WHEN (${l}).type = 4 AND NOT isnan((${l}).dbl) THEN (${l}).dbl END`,
    integral: `(${l}).type = 3`,
  };
}

function rowOf(r: Record<string, unknown>, q: AggregateQuery): AggregateRow {
  const ex = r['ex'] as { st: bigint; t: string; s: string; v: number | null } | undefined | null;
  return {
    interval: Number(r['iv'] as bigint),
    by: q.by.map((_, i) => valOf(r[`b${i}`] as Parameters<typeof valOf>[0])),
    bucket: q.buckets ? Number(r['bk']) : undefined,
    count: Number(r['n'] as bigint),
    min: (r['mn'] as number | null) ?? NaN,
    max: (r['mx'] as number | null) ?? NaN,
    sum: (r['sm'] as number | null) ?? 0,
    valued: Number(r['nv'] as bigint),
    exemplar: ex ? { traceId: ex.t, spanId: ex.s, start: ex.st, value: ex.v ?? undefined } : undefined,
  };
}
