// The `q` of the tag endpoints: Grafana sends the query being typed so that
// autocomplete offers only names and values seen on spans it would match. As in
// Tempo, only the conjunctive comparisons of a lone spanset filter narrow; anything
// else (an invalid query, `||`, structural operators, arithmetic) is left out, which
// can only widen the answer, never hide a value a full query would find. The
// comparisons become the store's conditions (query/traceql/fetch-request.ts), which
// the store tests as the engine would.
import type { Condition } from '../../store/fetch/request.js';
import { parseTraceQL, TraceQLError, validateTraceQL, type FieldExpr } from '../traceql/index.js';
import { conditionOf } from '../traceql/fetch-request.js';

/**
 * The conditions of `q` that narrow tag names and values; [] when q is absent, incomplete,
 * invalid or not narrowable. Throws TraceQLError when q is one Skein refuses to run (a
 * regex RE2 refuses, a query past the length or depth limit): the search being typed would
 * be refused too, and a regex narrows the blocks' side in DuckDB, which would fail on it.
 */
export function conditionsOf(q: string | undefined): Condition[] {
  if (q === undefined || q.trim() === '') return [];
  let root;
  try {
    root = parseTraceQL(q).ast;
    validateTraceQL(root);
  } catch (err) {
    if (err instanceof TraceQLError && (err.kind === 'regex' || err.kind === 'limit')) throw err;
    return [];
  }
  if (root.query.type !== 'pipeline') return [];
  const first = root.query.stages[0];
  // Later pipeline stages only drop spansets, so the first filter alone gives a superset.
  if (!first || first.type !== 'spansetFilter' || first.expr === null) return [];
  const conjuncts: FieldExpr[] = [];
  if (!flattenAnd(first.expr, conjuncts)) return [];
  return conjuncts.map(conditionOf).filter((c): c is Condition => c !== undefined);
}

/** False when the expression has an `||` (Tempo drops such a filter from autocomplete). */
function flattenAnd(e: FieldExpr, out: FieldExpr[]): boolean {
  if (e.type === 'binary' && e.op === '&&') return flattenAnd(e.lhs, out) && flattenAnd(e.rhs, out);
  if (e.type === 'binary' && e.op === '||') return false;
  out.push(e);
  return true;
}
