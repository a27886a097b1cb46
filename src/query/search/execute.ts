// Search: the most recent traces of one tenant that match a TraceQL query.
//
// Candidates come from two places, both ordered by (an upper bound of) trace start,
// newest first: a DuckDB scan of the blocks in the time range that applies the
// pushed-down condition (pushdown.ts), and the traces held in the head. Each
// candidate's spans are then gathered from head and blocks together (de-duplicated by
// span ID) and the full query is evaluated in JS (evaluate.ts). The search stops once
// `limit` traces matched and no unread candidate can start later than the last of them,
// so the answer is exactly the `limit` most recent matches, ordered by start time
// (newest first) and then trace ID.
//
// Every loop over candidates and spans paces itself (QueryBudget): the event loop gets a
// turn every few milliseconds, and query.timeout is enforced there, inside the evaluation
// of a trace, and by interrupting DuckDB scans in flight.
import type { Store } from '../../store/store.js';
import type { HeadTraceSummary } from '../../store/head/head.js';
import type { DuckEngine } from '../../store/engine/duckdb.js';
import { fileList } from '../../store/blocks/reader.js';
import { sqlString } from '../../store/blocks/schema.js';
import type { PipelineExpr } from '../traceql/ast.js';
import { evaluateQuery, type Spanset } from '../traceql/engine/evaluate.js';
import { headTraceTest, traceCondition, traceConditionWithRows, type SpanFacts } from './pushdown.js';
import { buildTrace, type EvalTrace } from '../traceql/engine/trace.js';
import { QueryBudget } from '../budget.js';

export interface SearchRequest {
  tenant: string;
  query: PipelineExpr;
  /** Traces overlapping [startUnixNano, endUnixNano) are searched; either end may be open. */
  startUnixNano?: bigint | undefined;
  endUnixNano?: bigint | undefined;
  /** Trace duration bounds, inclusive. */
  minDurationNano?: bigint | undefined;
  maxDurationNano?: bigint | undefined;
  limit: number;
  /** Date.now() after which the search gives up. */
  deadlineMs: number;
  /** Aborts when the client has gone away: the search stops. */
  cancelled?: AbortSignal | undefined;
  /** 0 = no limit. */
  maxBytesInspected: number;
}

export interface MatchedTrace {
  trace: EvalTrace;
  spansets: Spanset[];
}

export interface SearchMetrics {
  inspectedTraces: number;
  inspectedBytes: number;
  totalBlocks: number;
}

export interface SearchResult {
  traces: MatchedTrace[];
  metrics: SearchMetrics;
}

/** A query refused for exceeding one of the `query:` limits; `status` is the HTTP status to answer. */
export class QueryLimitError extends Error {
  constructor(
    readonly status: 400 | 413 | 429,
    message: string,
  ) {
    super(message);
    this.name = 'QueryLimitError';
  }
}

interface Candidate {
  traceId: string;
  /** Never earlier than the trace's start. */
  key: bigint;
}

/** Candidates fetched together: the blocks are read once per part for a whole batch. */
const MIN_BATCH = 16;
const MAX_BATCH = 512;

/** Intrinsics whose value is in a span's own columns (or derived from the trace's tree), not in attribute, event or link lists. */
const SPAN_FIELD_INTRINSICS = new Set([
  'duration',
  'name',
  'status',
  'statusMessage',
  'kind',
  'childCount',
  'rootName',
  'rootServiceName',
  'traceDuration',
  'nestedSetLeft',
  'nestedSetRight',
  'nestedSetParent',
  'trace:id',
  'span:id',
  'span:parentID',
  'instrumentation:name',
  'instrumentation:version',
]);

/**
 * Whether the query (conditions, by(), select() …) looks at nothing but intrinsics of
 * SPAN_FIELD_INTRINSICS and resource.service.name: then candidates' spans are read
 * without their attribute, event and link lists (BlockStore.findTraces' `slim`), and
 * the evaluator and the response (which shows the attributes the query looked at, and
 * service.name) see the same values as from whole spans.
 */
export function readsOnlySpanFields(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(readsOnlySpanFields);
  if (node === null || typeof node !== 'object') return true;
  const n = node as { type?: unknown; name?: unknown; scope?: unknown; parent?: unknown };
  if (n.type === 'attribute') return n.scope === 'resource' && n.name === 'service.name' && n.parent === false;
  if (n.type === 'intrinsic') return typeof n.name === 'string' && SPAN_FIELD_INTRINSICS.has(n.name);
  return Object.values(node).every(readsOnlySpanFields);
}

function newerFirst(a: { key: bigint; traceId: string }, b: { key: bigint; traceId: string }): number {
  return a.key > b.key ? -1 : a.key < b.key ? 1 : a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
}

export async function searchTraces(store: Store, req: SearchRequest, options: { timeoutText: string; maxBytesText: string }): Promise<SearchResult> {
  const budget = new QueryBudget(req.deadlineMs, () => searchTimeout(options.timeoutText), req.cancelled);
  return budget.run(() => search(store, req, options, budget));
}

/** The answer to a search that outlasted query.timeout (also while it waited for admission). */
export function searchTimeout(timeoutText: string): QueryLimitError {
  return new QueryLimitError(429, `search exceeded query.timeout=${timeoutText}; narrow the time range or the query`);
}

async function search(store: Store, req: SearchRequest, options: { maxBytesText: string }, budget: QueryBudget): Promise<SearchResult> {
  const metrics: SearchMetrics = { inspectedTraces: 0, inspectedBytes: 0, totalBlocks: 0 };
  const addBytes = (n: number) => {
    metrics.inspectedBytes += n;
    if (req.maxBytesInspected > 0 && metrics.inspectedBytes > req.maxBytesInspected) {
      throw new QueryLimitError(
        413,
        `search would inspect more than query.max_bytes_inspected=${options.maxBytesText} (${metrics.inspectedBytes} bytes so far); narrow the time range or the query`,
      );
    }
  };

  const head = await headCandidates(store, req, await store.headTraceSummaries(req.tenant, budget), budget);

  const range = { startUnixNano: req.startUnixNano, endUnixNano: req.endUnixNano };
  return store.blocks.withBlocks(req.tenant, range, async (blocks, engine) => {
    const parts = blocks.flatMap((b) => b.parts);
    metrics.totalBlocks = blocks.length;
    // Every span of these blocks lies in the range, so every trace with a span in them overlaps it.
    const rangeImplied = blocks.every(
      (b) => (req.startUnixNano === undefined || b.minStartUnixNano >= req.startUnixNano) && (req.endUnixNano === undefined || b.maxEndUnixNano < req.endUnixNano),
    );
    const partBytes = parts.reduce((n, p) => n + p.bytes, 0);
    if (req.maxBytesInspected > 0 && partBytes > req.maxBytesInspected) {
      throw new QueryLimitError(
        413,
        `search would inspect ${partBytes} bytes of blocks, over query.max_bytes_inspected=${options.maxBytesText}; narrow the time range`,
      );
    }
    const blockPages = new BlockCandidates(engine, parts, req, addBytes, rangeImplied, budget);
    const matched: MatchedTrace[] = [];
    const seen = new Set<string>();
    let h = 0;
    const next = async (): Promise<Candidate | undefined> => {
      for (;;) {
        const b = await blockPages.peek();
        const fromHead = h < head.length ? head[h]! : undefined;
        let c: Candidate | undefined;
        if (b && (!fromHead || newerFirst(b, fromHead) <= 0)) c = blockPages.take();
        else if (fromHead) {
          c = fromHead;
          h++;
        } else return undefined;
        if (!c || seen.has(c.traceId)) continue;
        seen.add(c.traceId);
        return c;
      }
    };

    const slim = readsOnlySpanFields(req.query);
    // The first batch is what a precise pushdown needs; each later one doubles, so a
    // loose one (or the head's traces, which have no pushdown) costs few reads.
    let batchSize = Math.max(req.limit, MIN_BATCH);
    for (;;) {
      budget.check();
      const batch: Candidate[] = [];
      let last = false;
      while (batch.length < batchSize) {
        const c = await next();
        // The next candidate starts too early to make the list: nothing later can either.
        if (!c || (matched.length >= req.limit && c.key < matched[req.limit - 1]!.trace.start)) {
          last = true;
          break;
        }
        batch.push(c);
      }
      if (batch.length === 0) break;
      const found = await store.findTraces(
        req.tenant,
        batch.map((c) => c.traceId),
        { slim, pacer: budget },
      );
      addBytes(found.inspectedBytes);
      for (const c of batch) {
        const spans = found.traces.get(c.traceId);
        if (!spans) continue;
        metrics.inspectedTraces++;
        await budget.pace(spans.length);
        const trace = buildTrace(c.traceId, spans);
        if (!inRange(trace, req)) continue;
        const spansets = evaluateQuery(req.query, trace, budget);
        if (spansets.length > 0) matched.push({ trace, spansets });
      }
      matched.sort((a, b) => newerFirst({ key: a.trace.start, traceId: a.trace.traceId }, { key: b.trace.start, traceId: b.trace.traceId }));
      if (last && matched.length >= req.limit) break;
      batchSize = Math.min(batchSize * 2, MAX_BATCH);
    }
    return { traces: matched.slice(0, req.limit), metrics };
  });
}

/**
 * The head's traces in the range, newest first, less those the pushed-down condition rules
 * out on the head's span summaries. A trace whose other spans may sit in a block is kept
 * whatever its head spans say: the block scan judges the block's spans alone, so only
 * reading the whole trace can tell.
 */
async function headCandidates(store: Store, req: SearchRequest, summaries: Map<string, HeadTraceSummary[]>, budget: QueryBudget): Promise<Candidate[]> {
  const test = headTraceTest(req.query);
  const facts: SpanFacts = { service: undefined, kind: 0, status: 0, durationNano: 0 };
  let segments: HeadTraceSummary[] = [];
  const anySpan = (p: (s: SpanFacts) => boolean): boolean => {
    for (const seg of segments) {
      for (let i = 0; i < seg.codes.length; i++) {
        const code = seg.codes[i]!;
        facts.service = seg.services[seg.resource[i]!];
        facts.kind = code & 7;
        facts.status = code >> 3;
        facts.durationNano = seg.durations[i]!;
        if (p(facts)) return true;
      }
    }
    return false;
  };
  const out: Candidate[] = [];
  for (const [traceId, segs] of summaries) {
    await budget.pace();
    let start = segs[0]!.startUnixNano;
    let end = segs[0]!.endUnixNano;
    for (const s of segs) {
      if (s.startUnixNano < start) start = s.startUnixNano;
      if (s.endUnixNano > end) end = s.endUnixNano;
    }
    if (req.startUnixNano !== undefined && end < req.startUnixNano) continue;
    if (req.endUnixNano !== undefined && start >= req.endUnixNano) continue;
    segments = segs;
    if (test !== null && !test(anySpan) && !store.blocks.mayHoldTrace(req.tenant, traceId)) continue;
    out.push({ traceId, key: start });
  }
  return out.sort(newerFirst);
}

function inRange(t: EvalTrace, req: SearchRequest): boolean {
  if (req.startUnixNano !== undefined && t.end < req.startUnixNano) return false;
  if (req.endUnixNano !== undefined && t.start >= req.endUnixNano) return false;
  const d = t.end - t.start;
  if (req.minDurationNano !== undefined && d < req.minDurationNano) return false;
  if (req.maxDurationNano !== undefined && d > req.maxDurationNano) return false;
  return true;
}

/**
 * Pages of candidate trace IDs from the blocks, newest first. Each page is one scan
 * of the parts (the keyset condition resumes after the last row), twice as long as
 * the one before, so a query whose pushdown is loose still costs few scans.
 */
class BlockCandidates {
  private buffer: Candidate[] = [];
  private done: boolean;
  private pageSize: number;
  private last: Candidate | undefined;
  private fallback = false;

  constructor(
    private readonly engine: DuckEngine,
    private readonly parts: ReadonlyArray<{ path: string; bytes: number }>,
    private readonly req: SearchRequest,
    private readonly addBytes: (n: number) => void,
    private readonly rangeImplied: boolean,
    private readonly budget: QueryBudget,
  ) {
    this.done = parts.length === 0;
    this.pageSize = Math.max(32, req.limit * 2);
  }

  async peek(): Promise<Candidate | undefined> {
    if (this.buffer.length === 0 && !this.done) await this.fetch();
    return this.buffer[0];
  }

  take(): Candidate | undefined {
    return this.buffer.shift();
  }

  private async fetch(): Promise<void> {
    this.addBytes(this.parts.reduce((n, p) => n + p.bytes, 0));
    const rows = await (this.fallback ? this.scan(null) : this.scanNarrowed()).catch(async (err: unknown) => {
      // A pushed-down regex DuckDB's RE2 refuses (or any other SQL the engine
      // rejects) only costs the narrowing: the evaluator still decides. A scan
      // interrupted at the deadline is not retried.
      this.budget.check();
      if (this.fallback) throw err;
      this.fallback = true;
      return this.scan(null);
    });
    this.buffer = rows.map((r) => ({ traceId: r.trace_id, key: r.s }));
    if (rows.length < this.pageSize) this.done = true;
    this.last = this.buffer[this.buffer.length - 1] ?? this.last;
    this.pageSize *= 2;
  }

  /**
   * With a row filter (traceConditionWithRows) and nothing that needs whole-trace bounds
   * (no duration bounds, a time range every block lies in), only the spans the condition
   * looks at are grouped, and the scan is split in two halves of the trace-ID space run
   * at once (parts are sorted by trace ID, so each half skips the other's row groups; a
   * trace's spans are all in one half). The key is then the earliest start among those
   * spans: never earlier than the trace's start, which is all the ordering needs.
   */
  private async scanNarrowed(): Promise<Array<{ trace_id: string; s: bigint }>> {
    const narrowed = traceConditionWithRows(this.req.query);
    const { minDurationNano, maxDurationNano } = this.req;
    if (narrowed === null || !this.rangeImplied || minDurationNano !== undefined || maxDurationNano !== undefined) return this.scan(traceCondition(this.req.query));
    const start = 'min(start_unix_nano)';
    const having = [narrowed.having];
    if (this.last) having.push(`(${start} < ${this.last.key} OR (${start} = ${this.last.key} AND trace_id > ${sqlString(this.last.traceId)}))`);
    const halves = await Promise.all(
      [`trace_id < '8'`, `trace_id >= '8'`].map((half) =>
        this.engine.all<{ trace_id: string; s: bigint }>(
          `SELECT trace_id, ${start} AS s FROM read_parquet(${fileList(this.parts.map((p) => p.path))}) WHERE ${half} AND (${narrowed.rows})` +
            ` GROUP BY trace_id HAVING ${having.join(' AND ')} ORDER BY s DESC, trace_id LIMIT ${this.pageSize}`,
          undefined,
          this.budget,
        ),
      ),
    );
    return halves
      .flat()
      .sort((a, b) => newerFirst({ key: a.s, traceId: a.trace_id }, { key: b.s, traceId: b.trace_id }))
      .slice(0, this.pageSize);
  }

  private scan(cond: string | null): Promise<Array<{ trace_id: string; s: bigint }>> {
    const having: string[] = [];
    if (cond !== null) having.push(cond);
    const { startUnixNano, endUnixNano, minDurationNano, maxDurationNano } = this.req;
    const end = 'max(start_unix_nano + duration_nano)';
    const start = 'min(start_unix_nano)';
    if (startUnixNano !== undefined) having.push(`${end} >= ${startUnixNano}`);
    if (endUnixNano !== undefined) having.push(`${start} < ${endUnixNano}`);
    if (minDurationNano !== undefined) having.push(`${end} - ${start} >= ${minDurationNano}`);
    if (maxDurationNano !== undefined) having.push(`${end} - ${start} <= ${maxDurationNano}`);
    if (this.last) having.push(`(${start} < ${this.last.key} OR (${start} = ${this.last.key} AND trace_id > ${sqlString(this.last.traceId)}))`);
    const sql =
      `SELECT trace_id, ${start} AS s FROM read_parquet(${fileList(this.parts.map((p) => p.path))}) GROUP BY trace_id` +
      (having.length > 0 ? ` HAVING ${having.join(' AND ')}` : '') +
      ` ORDER BY s DESC, trace_id LIMIT ${this.pageSize}`;
    return this.engine.all<{ trace_id: string; s: bigint }>(sql, undefined, this.budget);
  }
}
