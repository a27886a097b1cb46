// Tag names and values as DuckDB SQL over blocks' span rows (docs/block-format.md):
// what tag queries read from Parquet where a block's tag index cannot answer. One
// query per scope for names (SELECT DISTINCT over the unnested attribute lists), one
// for values, both within the time range and the request's conditions, compiled by
// the one compiler of conditions (conditions-sql.ts).
import type { FetchRange, SpanFilter, TagScope, TagTarget, TagValue, TagValueType } from '../fetch/request.js';
import type { DuckEngine, QueryContext } from '../engine/duckdb.js';
import { compileSpanFilter, mayMatchSql } from './conditions-sql.js';
import { fileList } from './reader.js';
import { sqlString } from './schema.js';

/** Span rows of some Parquet parts: those overlapping a range that may meet a filter (null: every span). */
export interface TagRows {
  parts: ReadonlyArray<{ path: string }>;
  range: FetchRange;
  filter: SpanFilter | null;
}

const NAME_LISTS: Record<TagScope, string> = {
  span: 'list_transform(attrs, lambda a: a.key)',
  resource: 'list_transform(resource_attrs, lambda a: a.key)',
  instrumentation: 'list_transform(scope_attrs, lambda a: a.key)',
  event: 'flatten(list_transform(events, lambda e: list_transform(e.attrs, lambda a: a.key)))',
  link: 'flatten(list_transform(links, lambda l: list_transform(l.attrs, lambda a: a.key)))',
};

/** The scope's attribute names over the rows, sorted, at most `limit + 1` of them (one more says the answer was cut). */
export async function blockTagNames(engine: DuckEngine, rows: TagRows, scope: TagScope, limit: number, query: QueryContext | undefined): Promise<string[]> {
  const found = await engine.all<{ k: string }>(
    `SELECT DISTINCT unnest(${NAME_LISTS[scope]}) AS k FROM ${from(rows)} WHERE ${where(rows)} ORDER BY k LIMIT ${limit + 1}`,
    undefined,
    query,
  );
  return found.map((r) => r.k);
}

/** How a target's values are read from a row: items of attribute lists with its key, or one scalar per row. */
type ValueSql = { attr: { key: string; lists: string[] } } | { scalar: { sql: string; type: TagValueType; where?: string } };

const STATUS_WORDS = ['unset', 'ok', 'error'];
const KIND_WORDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

const ATTR_LISTS: Record<TagScope | 'none', string[]> = {
  span: ['attrs'],
  resource: ['resource_attrs'],
  none: ['attrs', 'resource_attrs'],
  instrumentation: ['scope_attrs'],
  event: ['flatten(list_transform(events, lambda e: e.attrs))'],
  link: ['flatten(list_transform(links, lambda l: l.attrs))'],
};

function valueSql(target: TagTarget): ValueSql {
  const root = 'octet_length(parent_span_id) = 0';
  switch (target.type) {
    case 'attribute':
      // service.name has a column of its own: no need to unnest every span's resource attributes.
      if (target.scope === 'resource' && target.name === 'service.name') return { scalar: { sql: 'service_name', type: 'string' } };
      return { attr: { key: target.name, lists: ATTR_LISTS[target.scope] } };
    case 'legacy': {
      // v1: string values of span and resource attributes, and span names for `name`.
      const strs = (list: string) => `list_transform(list_filter(${list}, lambda a: a.key = ${sqlString(target.name)} AND a.type = 1), lambda a: a.str)`;
      const lists = [strs('attrs'), target.name === 'service.name' ? '[service_name]' : strs('resource_attrs')];
      if (target.name === 'name') lists.push('[name]');
      return { scalar: { sql: `unnest(flatten([${lists.join(', ')}]))`, type: 'string' } };
    }
    case 'intrinsic':
      switch (target.name) {
        case 'name':
          return { scalar: { sql: 'name', type: 'string' } };
        case 'statusMessage':
          return { scalar: { sql: 'status_message', type: 'string' } };
        case 'rootName':
          return { scalar: { sql: 'name', type: 'string', where: root } };
        case 'rootServiceName':
          return { scalar: { sql: 'service_name', type: 'string', where: root } };
        case 'instrumentation:name':
          return { scalar: { sql: 'scope_name', type: 'string' } };
        case 'instrumentation:version':
          return { scalar: { sql: 'scope_version', type: 'string' } };
        case 'event:name':
          return { scalar: { sql: 'unnest(list_transform(events, lambda e: e.name))', type: 'string' } };
        case 'status':
          return { scalar: { sql: `[${STATUS_WORDS.map(sqlString).join(', ')}][status_code + 1]`, type: 'keyword' } };
        case 'kind':
          return { scalar: { sql: `[${KIND_WORDS.map(sqlString).join(', ')}][kind + 1]`, type: 'keyword' } };
      }
  }
}

/**
 * The target's distinct values over the rows, in (value, type) order, cut to `limit + 1`
 * values and to those starting within `maxBytes`: the bounds are applied in SQL over the
 * sorted distinct values, so a tag with millions of long values never reaches JS.
 * Attribute values are scalars only (TraceQL cannot compare a literal with the others).
 */
export async function blockTagValues(
  engine: DuckEngine,
  rows: TagRows,
  target: TagTarget,
  bounds: { limit: number; maxBytes: number },
  query: QueryContext | undefined,
): Promise<TagValue[]> {
  const src = valueSql(target);
  let inner: string;
  if ('attr' in src) {
    const key = sqlString(src.attr.key);
    const lists = src.attr.lists.map((list) => `list_filter(${list}, lambda a: a.key = ${key} AND a.type IN (1, 2, 3, 4))`);
    const all = lists.length === 1 ? lists[0]! : `flatten([${lists.join(', ')}])`;
    inner = `SELECT DISTINCT CASE a.type WHEN 1 THEN 'string' WHEN 2 THEN 'bool' WHEN 3 THEN 'int' ELSE 'float' END AS type,
                    CASE a.type WHEN 1 THEN a.str WHEN 2 THEN a.bool::VARCHAR WHEN 3 THEN a.int::VARCHAR ELSE a.dbl::VARCHAR END AS v,
                    a.dbl AS dbl
             FROM (SELECT unnest(${all}) AS a FROM ${from(rows)} WHERE ${where(rows)})`;
  } else {
    const s = src.scalar;
    inner = `SELECT DISTINCT '${s.type}' AS type, v, NULL::DOUBLE AS dbl
             FROM (SELECT ${s.sql} AS v FROM ${from(rows)} WHERE ${where(rows)}${s.where ? ` AND (${s.where})` : ''})
             WHERE v IS NOT NULL AND v <> ''`;
  }
  const found = await engine.all<{ type: TagValueType; v: string; dbl: number | null }>(
    `SELECT type, v, dbl FROM (
       SELECT type, v, dbl, sum(strlen(v)) OVER (ORDER BY v, type ROWS UNBOUNDED PRECEDING) AS running
       FROM (${inner}))
     WHERE running - strlen(v) <= ${bounds.maxBytes}
     ORDER BY v, type LIMIT ${bounds.limit + 1}`,
    undefined,
    query,
  );
  // Floats as JavaScript prints them, as the head and the tag indexes give them.
  return found.map((r) => ({ type: r.type, value: r.type === 'float' && r.dbl !== null ? String(r.dbl) : r.v }));
}

function from(rows: TagRows): string {
  return `read_parquet(${fileList(rows.parts.map((p) => p.path))})`;
}

/**
 * Rows of spans overlapping [start, end) that may meet the filter. Rows the compiler
 * cannot judge (array attributes) are kept: the answer may be wider, never narrower.
 */
function where(rows: TagRows): string {
  const clauses: string[] = [];
  if (rows.range.startUnixNano !== undefined) clauses.push(`start_unix_nano + duration_nano >= ${rows.range.startUnixNano}`);
  if (rows.range.endUnixNano !== undefined) clauses.push(`start_unix_nano < ${rows.range.endUnixNano}`);
  if (rows.filter !== null) clauses.push(mayMatchSql(compileSpanFilter(rows.filter)));
  return clauses.length === 0 ? 'TRUE' : clauses.join(' AND ');
}
