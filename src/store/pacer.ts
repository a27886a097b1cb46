// What the store needs from a query that reads through it (src/query/budget.ts's
// QueryBudget): a turn for the event loop between units of work, and a signal that
// aborts at the query's deadline for reads the engine can interrupt.
export interface Pacer {
  /** Counts `units` of work (spans) and, when the query's slice is spent, yields to the event loop; throws past the deadline. */
  pace(units?: number): Promise<void>;
  readonly signal: AbortSignal | undefined;
  /** See QueryContext (engine/duckdb.ts). */
  afterStatement?(ms: number): Promise<void>;
}
