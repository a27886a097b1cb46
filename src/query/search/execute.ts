// Search: the most recent traces of one tenant (or several: Tempo's `a|b`) that match a TraceQL query.
//
// The query becomes one fetch request (traceql/fetch-request.ts: the trace filter every
// match meets, its conditions, and whether the engine needs more than a span's own
// fields), and the store hands back the traces that may match, most recent first by a
// key never earlier than a trace's start (Store.fetch). Each is evaluated here in full
// (evaluate.ts). The search stops once `limit` traces matched and no trace left can start
// later than the last of them (keyFloor), so the answer is exactly the `limit` most recent
// matches, ordered by start time (newest first) and then trace ID.
//
// Several tenants' traces come as one stream (Store.fetch), each judged within its tenant; a
// trace ID matched in two tenants is one entry holding the parts matched, as Tempo's
// federated search combines them. Each part is read in its own place in the stream, so with
// a limit reached, a part starting before the last entry kept is not read into it.
//
// Every loop over traces and spans paces itself (QueryBudget): the event loop gets a turn
// every few milliseconds, and query.timeout is enforced there, inside the evaluation of a
// trace, and by interrupting the store's reads in flight.
import type { Store } from '../../store/store.js';
import type { FetchTracesRequest, PartialAnswer, Tenants } from '../../store/fetch/request.js';
import type { PipelineExpr } from '../traceql/ast.js';
import { conditionsOf, traceFilterOf } from '../traceql/fetch-request.js';
import { evaluateQuery, type Spanset } from '../traceql/engine/evaluate.js';
import { buildTrace, type EvalTrace } from '../traceql/engine/trace.js';
import { QueryBudget } from '../budget.js';

export interface SearchRequest {
  tenants: Tenants;
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
  /** Set when some cluster peers did not answer: matches they hold may be missing. */
  partial?: PartialAnswer | undefined;
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

/**
 * Whether the query looks at events or links (their attributes or intrinsics). Search
 * responses never show them, so a query that does not reads spans without them.
 */
export function readsEventsOrLinks(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(readsEventsOrLinks);
  if (node === null || typeof node !== 'object') return false;
  const n = node as { type?: unknown; name?: unknown; scope?: unknown };
  if (n.type === 'attribute') return n.scope === 'event' || n.scope === 'link';
  if (n.type === 'intrinsic') return typeof n.name === 'string' && (n.name.startsWith('event:') || n.name.startsWith('link:'));
  return Object.values(node).some(readsEventsOrLinks);
}

/** Newest first: by start, then trace ID. */
function newerFirst(a: MatchedTrace, b: MatchedTrace): number {
  const x = a.trace;
  const y = b.trace;
  return x.start > y.start ? -1 : x.start < y.start ? 1 : x.traceId < y.traceId ? -1 : x.traceId > y.traceId ? 1 : 0;
}

export async function searchTraces(store: Store, req: SearchRequest, options: { timeoutText: string; maxBytesText: string }): Promise<SearchResult> {
  const budget = new QueryBudget(req.deadlineMs, () => searchTimeout(options.timeoutText), req.cancelled);
  return budget.run(() => search(store, req, options, budget));
}

/** The answer to a search that outlasted query.timeout (also while it waited for admission). */
export function searchTimeout(timeoutText: string): QueryLimitError {
  return new QueryLimitError(429, `search exceeded query.timeout=${timeoutText}; narrow the time range or the query`);
}

/** The fetch request of a search: built once from the query. */
function searchFetchRequest(req: SearchRequest): Omit<FetchTracesRequest, 'pacer' | 'maxBytesInspected' | 'overLimit' | 'keyFloor'> {
  const filter = traceFilterOf(req.query);
  return {
    kind: 'traces',
    startUnixNano: req.startUnixNano,
    endUnixNano: req.endUnixNano,
    minTraceDurationNano: req.minDurationNano,
    maxTraceDurationNano: req.maxDurationNano,
    ...conditionsOf(filter),
    filter,
    secondPass: readsOnlySpanFields(req.query) ? 'span-fields' : readsEventsOrLinks(req.query) ? 'all' : 'attributes',
    limit: req.limit,
    order: 'most-recent-first',
  };
}

async function search(store: Store, req: SearchRequest, options: { maxBytesText: string }, budget: QueryBudget): Promise<SearchResult> {
  const matched: MatchedTrace[] = [];
  const several = typeof req.tenants !== 'string' && req.tenants.length > 1;
  const fetched = store.fetch(req.tenants, {
    ...searchFetchRequest(req),
    pacer: budget,
    maxBytesInspected: req.maxBytesInspected,
    overLimit: (bytes, planned) =>
      new QueryLimitError(
        413,
        planned
          ? `search would inspect ${bytes} bytes of blocks, over query.max_bytes_inspected=${options.maxBytesText}; narrow the time range`
          : `search would inspect more than query.max_bytes_inspected=${options.maxBytesText} (${bytes} bytes so far); narrow the time range or the query`,
      ),
    // A trace whose key is below the limit-th match's start starts too early to make the list, and so does every one after it.
    keyFloor: () => (matched.length >= req.limit ? matched[req.limit - 1]!.trace.start : undefined),
  });
  for await (const { traceId, spans } of fetched) {
    await budget.pace(spans.length);
    const trace = buildTrace(traceId, spans);
    const spansets = evaluateQuery(req.query, trace, budget);
    if (spansets.length === 0) continue;
    let m: MatchedTrace = { trace, spansets };
    if (several) {
      const other = matched.findIndex((x) => sameTraceId(x.trace.traceId, traceId));
      if (other >= 0) m = combineParts(matched.splice(other, 1)[0]!, m);
    }
    // Kept sorted: keyFloor reads the limit-th.
    let at = matched.length;
    while (at > 0 && newerFirst(matched[at - 1]!, m) > 0) at--;
    matched.splice(at, 0, m);
  }
  const { inspectedTraces, inspectedBytes, totalBlocks, partial } = fetched.stats;
  return { traces: matched.slice(0, req.limit), metrics: { inspectedTraces, inspectedBytes, totalBlocks }, ...(partial && { partial }) };
}

function sameTraceId(a: string, b: string): boolean {
  return a.toLowerCase().padStart(32, '0') === b.toLowerCase().padStart(32, '0');
}

/** One trace's matches in two tenants as one entry: its spans together, each part's spansets. */
function combineParts(a: MatchedTrace, b: MatchedTrace): MatchedTrace {
  const spans = [...a.trace.spans, ...b.trace.spans].map((s) => s.stored);
  return { trace: buildTrace(a.trace.traceId, spans), spansets: [...a.spansets, ...b.spansets] };
}
