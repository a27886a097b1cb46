// A trace filter (fetch/request.ts) as SQL over the span rows of blocks grouped by trace
// (GROUP BY trace_id … HAVING): `some(f)` is `bool_or` of f's may-match SQL, an aggregate
// the aggregate over the rows f selects (when SQL selects exactly the engine's spans), and
// the combinations are AND and OR. Every trace the filter holds for meets it; it may let
// through more (rows SQL cannot judge), never fewer.
import type { TraceFilter } from '../fetch/request.js';
import { compileSpanFilter, mayMatchSql, type CompileOptions } from './conditions-sql.js';

export interface TraceConditionSql {
  /** Over a trace's grouped rows; null when nothing narrows. */
  having: string | null;
  /**
   * True of every row whose `bool_or` the condition may need (the OR of the `some` filters),
   * or null when there is no such filter. The condition combines its `bool_or` terms only with
   * AND and OR, so a trace meeting it has a row where `rows` holds, and over the rows `rows`
   * keeps each term has the value it has over all of them: rows may be filtered before grouping.
   */
  rows: string | null;
  /** Whether a `some` filter reads attribute or event lists: then evaluating it is most of a scan. */
  readsLists: boolean;
  /**
   * Whether one span meeting one `some` filter is enough (a single one, or an OR of them):
   * then the condition over part of a trace's rows (a block's) holds whenever it holds over
   * all of them. Otherwise (`{ a } && { b }`) a trace may meet it only with rows of two blocks.
   */
  oneSpanSuffices: boolean;
}

export function traceConditionSql(filter: TraceFilter | null, opts: CompileOptions = {}): TraceConditionSql {
  const leaves: string[] = [];
  let readsLists = false;
  const walk = (f: TraceFilter): string | null => {
    if (f.type === 'aggregate') {
      const compiled = compileSpanFilter(f.filter, opts);
      readsLists ||= compiled.readsLists;
      // The aggregate is over exactly the engine's spans; when SQL may misjudge some, only "one of them exists" narrows.
      const exact = compiled.exact && compiled.undecided === null;
      const spans = exact ? compiled.sql : mayMatchSql(compiled);
      leaves.push(spans);
      const value = exact ? aggregateSql(f, spans) : null;
      return value === null ? `bool_or(${spans})` : `(bool_or(${spans}) AND ${value})`;
    }
    if (f.type === 'some') {
      // Any span at all: every trace has one.
      if (f.filter === null) return null;
      const compiled = compileSpanFilter(f.filter, opts);
      readsLists ||= compiled.readsLists;
      const sql = mayMatchSql(compiled);
      leaves.push(sql);
      return `bool_or(${sql})`;
    }
    const args = f.args.map(walk);
    if (f.type === 'or') return args.length === 0 || args.some((a) => a === null) ? null : `(${args.join(' OR ')})`;
    const known = args.filter((a): a is string => a !== null);
    return known.length === 0 ? null : `(${known.join(' AND ')})`;
  };
  const having = filter === null ? null : walk(filter);
  return {
    having,
    rows: having === null || leaves.length === 0 ? null : [...new Set(leaves)].map((l) => `(${l})`).join(' OR '),
    readsLists,
    oneSpanSuffices: filter === null || having === null || oneSpan(filter),
  };
}

/**
 * The aggregate compared as the engine compares it, never false when the engine's answer is
 * true: counts exactly, durations as doubles with a margin (the engine rounds an average
 * to whole nanoseconds and converts to doubles on its own); null when SQL cannot tell.
 */
function aggregateSql(f: Extract<TraceFilter, { type: 'aggregate' }>, spans: string): string | null {
  const { fn, field, op, value } = f;
  if (value.t !== 'int' && value.t !== 'duration' && value.t !== 'float') return null;
  if (value.t === 'float' && !Number.isFinite(value.v)) return null;
  if (fn === 'count') {
    if (field !== null || !(op in SQL_OP)) return null;
    return `count(*) FILTER (WHERE ${spans}) ${SQL_OP[op]} ${value.t === 'float' ? `${value.v}::DOUBLE` : `${value.v}`}`;
  }
  if (field?.type !== 'intrinsic' || field.name !== 'duration') return null;
  const x = Number(value.v);
  const margin = 1 + Math.abs(x) * 1e-9;
  const agg = `${fn}(duration_nano) FILTER (WHERE ${spans})::DOUBLE`;
  switch (op) {
    case '>':
    case '>=':
      return `${agg} > ${x - margin}`;
    case '<':
    case '<=':
      return `${agg} < ${x + margin}`;
    case '=':
      return `${agg} BETWEEN ${x - margin} AND ${x + margin}`;
    default:
      return null;
  }
}

const SQL_OP: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

function oneSpan(f: TraceFilter): boolean {
  if (f.type === 'some') return true;
  // An aggregate over part of a trace's rows says nothing of the whole.
  if (f.type === 'aggregate') return false;
  if (f.type === 'or') return f.args.every(oneSpan);
  // `{ } && { a }`: the empty filter holds for any trace.
  const narrowing = f.args.filter(hasFilter);
  return narrowing.length <= 1 && narrowing.every(oneSpan);
}

function hasFilter(f: TraceFilter): boolean {
  if (f.type === 'aggregate') return true;
  return f.type === 'some' ? f.filter !== null : f.args.some(hasFilter);
}
