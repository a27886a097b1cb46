// Traces of some blocks' Parquet parts that may match a trace condition (trace-sql.ts),
// newest first by key, in pages. Each page is one scan of the parts (a keyset condition
// resumes after the last row) four times as long as the one before, so a condition that
// lets through many traces still costs few scans.
//
// A trace's key is the earliest start among the rows the scan groups: never earlier than
// the trace's start, which is all the newest-first order needs (fetch/traces.ts).
import type { DuckEngine, QueryContext } from '../engine/duckdb.js';
import { fileList } from './reader.js';
import { sqlString } from './schema.js';
import type { TraceConditionSql } from './trace-sql.js';

export interface Candidate {
  traceId: string;
  /** Never earlier than the trace's start. */
  key: bigint;
}

export interface CandidateScan {
  parts: ReadonlyArray<{ path: string; bytes: number }>;
  condition: TraceConditionSql;
  /** Traces overlapping [start, end) (either end open), lasting between the bounds (inclusive). */
  startUnixNano?: bigint | undefined;
  endUnixNano?: bigint | undefined;
  minDurationNano?: bigint | undefined;
  maxDurationNano?: bigint | undefined;
  /** Every span of the parts lies in the range: a trace with one of them overlaps it. */
  rangeImplied: boolean;
  /** Resume after this candidate (newest first). */
  after?: Candidate | undefined;
  /** Rows of the first page; undefined: every candidate in one page. */
  pageSize: number | undefined;
  /** Scan without the condition (the engine refused it before). */
  unconditioned?: boolean;
}

/** Newer first: by key, then trace ID. */
export function newerFirst(a: Candidate, b: Candidate): number {
  return a.key > b.key ? -1 : a.key < b.key ? 1 : a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
}

type Row = { trace_id: string; s: bigint };

export class BlockCandidates {
  private buffer: Candidate[] = [];
  private done: boolean;
  private pageSize: number | undefined;
  private last: Candidate | undefined;
  private unconditioned: boolean;

  constructor(
    private readonly engine: DuckEngine,
    private readonly scan: CandidateScan,
    /** Counts the bytes each page reads (it may throw to stop the reading). */
    private readonly inspect: (bytes: number) => void,
    private readonly query: QueryContext | undefined,
  ) {
    this.done = scan.parts.length === 0;
    this.pageSize = scan.pageSize;
    this.last = scan.after;
    this.unconditioned = scan.unconditioned === true;
  }

  /** True once the engine refused the condition and the parts are scanned without it. */
  get refused(): boolean {
    return this.unconditioned;
  }

  /** Rows of the next page (undefined: unlimited). */
  get nextPageSize(): number | undefined {
    return this.pageSize;
  }

  /** The next candidate without taking it, reading a page when none is buffered. */
  async peek(): Promise<Candidate | undefined> {
    if (this.buffer.length === 0 && !this.done) await this.fetch();
    return this.buffer[0];
  }

  /** The next candidate if one is buffered (peek() reads). */
  buffered(): Candidate | undefined {
    return this.buffer[0];
  }

  get exhausted(): boolean {
    return this.done && this.buffer.length === 0;
  }

  /** The last candidate taken (or resumed after): its key bounds the next one's. */
  get lastTaken(): Candidate | undefined {
    return this.last;
  }

  take(): Candidate | undefined {
    const c = this.buffer.shift();
    if (c) this.last = c;
    return c;
  }

  private async fetch(): Promise<void> {
    this.inspect(this.scan.parts.reduce((n, p) => n + p.bytes, 0));
    const rows = await (this.unconditioned ? this.whole(null) : this.narrowed()).catch(async (err: unknown) => {
      // A condition DuckDB refuses (a regex its RE2 will not take, say) only costs the
      // narrowing: the engine still decides. A scan interrupted at the deadline is not retried.
      if (this.unconditioned || this.query?.signal?.aborted) throw err;
      this.unconditioned = true;
      return this.whole(null);
    });
    this.buffer = rows.map((r) => ({ traceId: r.trace_id, key: r.s }));
    if (this.pageSize === undefined || rows.length < this.pageSize) this.done = true;
    if (this.pageSize !== undefined) this.pageSize *= 4;
  }

  private keyset(start: string): string | null {
    const last = this.last;
    return last === undefined ? null : `(${start} < ${last.key} OR (${start} = ${last.key} AND trace_id > ${sqlString(last.traceId)}))`;
  }

  private run(where: string | null, having: string[]): Promise<Row[]> {
    const start = 'min(start_unix_nano)';
    const keyset = this.keyset(start);
    const all = keyset === null ? having : [...having, keyset];
    return this.engine.all<Row>(
      `SELECT trace_id, ${start} AS s FROM read_parquet(${fileList(this.scan.parts.map((p) => p.path))})` +
        (where === null ? '' : ` WHERE ${where}`) +
        ' GROUP BY trace_id' +
        (all.length > 0 ? ` HAVING ${all.join(' AND ')}` : '') +
        ` ORDER BY s DESC, trace_id${this.pageSize === undefined ? '' : ` LIMIT ${this.pageSize}`}`,
      undefined,
      this.query,
    );
  }

  /**
   * With a row filter and nothing that needs whole-trace bounds (no duration bounds, a range
   * every span lies in), only the rows the condition looks at are grouped. Not when the
   * condition reads attribute or event lists: computing it is then most of the scan, and
   * the filter would compute it a second time (DuckDB does not share it with the HAVING);
   * grouped whole, a trace's key is its start, too.
   */
  private narrowed(): Promise<Row[]> {
    const { condition, rangeImplied, minDurationNano, maxDurationNano } = this.scan;
    if (condition.rows === null || condition.having === null || condition.readsLists || !rangeImplied || minDurationNano !== undefined || maxDurationNano !== undefined) {
      return this.whole(condition.having);
    }
    return this.run(condition.rows, [condition.having]);
  }

  /** Every row grouped, so that the trace's bounds are whole (as far as these parts hold it). */
  private whole(cond: string | null): Promise<Row[]> {
    const having: string[] = [];
    if (cond !== null) having.push(cond);
    const { startUnixNano, endUnixNano, minDurationNano, maxDurationNano, rangeImplied } = this.scan;
    const end = 'max(start_unix_nano + duration_nano)';
    const start = 'min(start_unix_nano)';
    if (startUnixNano !== undefined && !rangeImplied) having.push(`${end} >= ${startUnixNano}`);
    if (endUnixNano !== undefined && !rangeImplied) having.push(`${start} < ${endUnixNano}`);
    if (minDurationNano !== undefined) having.push(`${end} - ${start} >= ${minDurationNano}`);
    if (maxDurationNano !== undefined) having.push(`${end} - ${start} <= ${maxDurationNano}`);
    return this.run(null, having);
  }
}
