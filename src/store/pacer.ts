// What the store needs from a query that reads through it (src/query/budget.ts's
// QueryBudget): what the engine needs of it (QueryContext: the signal that aborts at
// the query's deadline, the rest after each statement), and a turn for the event loop
// between units of work.
import type { QueryContext } from './engine/duckdb.js';

export interface Pacer extends QueryContext {
  /** Date.now() after which the query gives up: the peers asked for their part (RemoteSources) are given the same. */
  readonly deadlineMs?: number;
  /** Counts `units` of work (spans) and, when the query's slice is spent, yields to the event loop; throws past the deadline. */
  pace(units?: number): Promise<void>;
}
