// What the query side asks the store for (Store.fetch): the seam between TraceQL and
// storage, as Tempo's FetchSpansRequest is. Requests speak of span conditions, time
// ranges and what to return; only the store knows heads, Parquet and SQL. The query
// side builds requests from the TraceQL AST (query/traceql/fetch-request.ts).
import type { StoredSpan } from '../../otlp/model.js';
import type { Pacer } from '../pacer.js';
import type { CompareOp, Val } from './values.js';

/**
 * Which of a store's spans a fetch reads. `all` (the default): everything this instance
 * holds, and in a cluster every other peer's part too (RemoteSources). The rest are what
 * a peer answers for another (never asking further): `head`, its heads only (spans no
 * block holds yet); `recent`, its heads and the blocks this process published lately,
 * which the other instances may not have listed yet (Store.fetch says how lately). A scope
 * chooses where spans are looked for (block scans, tag scans, trace by ID); traces found
 * are still read whole, from every block, so each is judged over all its spans.
 */
export type FetchScope = 'all' | 'head' | 'recent';

/**
 * The tenants a request reads: one, or several read as one (Tempo's `a|b` federation), whose
 * parts are merged as a cluster's peers' are (merge.ts). Each trace is judged within its tenant.
 */
export type Tenants = string | readonly string[];

/** Some peers did not answer (an error, or cluster.peer_query_timeout): their spans are missing from the answer. */
export interface PartialAnswer {
  /** The peers left out, by id. */
  peers: string[];
  message: string;
}

/** Intrinsics a condition can test on one span, without the rest of its trace. */
export type SpanIntrinsic = 'name' | 'status' | 'statusMessage' | 'kind' | 'duration' | 'instrumentation:name' | 'instrumentation:version' | 'event:name';

/** `none` is TraceQL's unscoped `.key`: the span's attribute, else the resource's. */
export type AttributeScope = 'span' | 'resource' | 'none' | 'instrumentation';

export type FetchField = { type: 'intrinsic'; name: SpanIntrinsic } | { type: 'attribute'; scope: AttributeScope; name: string };

/**
 * `field op value`, meaning what the engine's `compare` means (values.ts); `!= nil` tests
 * existence. A condition on `event:name` holds when one of the span's events has such a name.
 */
export interface Condition {
  field: FetchField;
  op: CompareOp;
  value: Val;
}

/** Conditions on one span, combined with and/or. */
export type SpanFilter = { type: 'condition'; condition: Condition } | { type: 'and' | 'or'; args: SpanFilter[] };

export type AggregateFn = 'count' | 'avg' | 'min' | 'max' | 'sum';

/**
 * Over a trace's spans: `some` holds when one span meets its filter (`null`: any span);
 * `aggregate` when `fn(field)` over the spans meeting its filter (exactly the spans the
 * engine selects; at least one) compares with `value` as the engine compares it (a
 * pipeline's `{ kind = server } | avg(duration) > 100ms`; `field` null for count());
 * `and` / `or` combine such tests, each looking for its own span.
 */
export type TraceFilter =
  | { type: 'some'; filter: SpanFilter | null }
  | { type: 'aggregate'; filter: SpanFilter | null; fn: AggregateFn; field: FetchField | null; op: CompareOp; value: Val }
  | { type: 'and' | 'or'; args: TraceFilter[] };

/** Unix nanoseconds; `end` exclusive; either end open. */
export interface FetchRange {
  startUnixNano?: bigint | undefined;
  endUnixNano?: bigint | undefined;
}

/** How a request is paced and bounded; the errors are the query side's to word. */
export interface FetchLimits {
  /** Spaces the work out and interrupts it at the query's deadline. */
  pacer?: Pacer | undefined;
  /** 0 = no limit. */
  maxBytesInspected: number;
  /** The error to throw once more than maxBytesInspected would be read (`bytes` so far, or planned: the blocks to read, before reading). */
  overLimit: (bytes: number, planned?: boolean) => Error;
}

/**
 * Traces that may match, with their spans, most recent first (search), or in any order
 * (`order: 'none'`, metrics over a whole range). The store narrows by `filter` as far as
 * it can; the engine has the last word on every trace it is given.
 */
export interface FetchTracesRequest extends FetchRange, FetchLimits {
  kind: 'traces';
  /** Every condition the query tests on single spans (Tempo's `Conditions`). */
  conditions: Condition[];
  /** True when a trace qualifies only through one span meeting every condition (then `filter` says no more). */
  allConditions: boolean;
  /** How the conditions combine over a trace; null: every trace in the range. */
  filter: TraceFilter | null;
  /** Trace duration bounds, inclusive. */
  minTraceDurationNano?: bigint | undefined;
  maxTraceDurationNano?: bigint | undefined;
  /**
   * What the second pass reads of each span: its own fields and service.name; those and the
   * attributes of the span, its resource and scope (no events or links); or everything.
   */
  secondPass: 'span-fields' | 'attributes' | 'all';
  /** Traces wanted: the first batch read is this size (the caller stops iterating when it has enough). */
  limit: number;
  order: 'most-recent-first' | 'none';
  /**
   * Most recent first: asked before each read, the key below which the caller wants no more
   * traces (it has enough newer ones), or undefined while it wants more. The iteration ends
   * at the first candidate below it, without reading it.
   */
  keyFloor?: (() => bigint | undefined) | undefined;
}

export interface FetchedTrace {
  traceId: string;
  /** Never earlier than the trace's start: the order traces come in (most recent first). */
  key: bigint;
  spans: StoredSpan[];
}

export interface FetchStats {
  inspectedBytes: number;
  inspectedTraces: number;
  totalBlocks: number;
  /** Set (by the end of the iteration) when some peers' traces are missing. */
  partial?: PartialAnswer | undefined;
}

/** An iteration over fetched traces; breaking out of it releases the blocks it holds. */
export interface FetchedTraces extends AsyncIterable<FetchedTrace> {
  readonly stats: FetchStats;
}

/** A metrics first stage the store runs itself: spans starting in (after, atOrBefore], grouped per step. */
export interface FetchAggregateRequest extends FetchLimits {
  kind: 'aggregate';
  /** Exclusive. */
  afterUnixNano: bigint;
  /** Inclusive. */
  atOrBeforeUnixNano: bigint;
  stepNano: bigint;
  /** Spans counted; null: every span. */
  filter: SpanFilter | null;
  by: FetchField[];
  /** The measured value (numeric); null for counts. */
  value: FetchField | null;
  /** Group values by their log2 bucket (histograms and quantiles; integers and durations only). */
  buckets: boolean;
  exemplars: boolean;
}

/** One group of spans the store aggregated. */
export interface AggregateRow {
  interval: number;
  by: Val[];
  bucket: number | undefined;
  count: number;
  min: number;
  max: number;
  sum: number;
  /** Spans that had a numeric value. */
  valued: number;
  exemplar: { traceId: string; spanId: string; start: bigint; value: number | undefined } | undefined;
}

export interface AggregateResult {
  rows: AggregateRow[];
  /**
   * Traces the store could not aggregate exactly (spans also in the head, values SQL cannot
   * compare): the engine evaluates these whole. Never overlapping `rows`.
   */
  traces: FetchedTraces;
  /** `sql`: blocks were aggregated in the store; `spans`: everything came back as traces. */
  blockPath: 'sql' | 'spans' | 'none';
}

export type TagScope = 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

/** Attribute names per scope, among spans in the range meeting every condition. */
export interface FetchTagNamesRequest extends FetchRange, FetchLimits {
  kind: 'tag-names';
  scopes: TagScope[];
  conditions: Condition[];
  limit: number;
  maxBytes: number;
}

export type TagValueType = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'keyword';

export interface TagValue {
  type: TagValueType;
  value: string;
}

/** Intrinsics whose values tag queries list, as a value: requests from the API and from peers are checked against it. */
export const TAG_INTRINSICS = [
  'name',
  'statusMessage',
  'rootName',
  'rootServiceName',
  'instrumentation:name',
  'instrumentation:version',
  'event:name',
  'status',
  'kind',
] as const;
export type TagIntrinsic = (typeof TAG_INTRINSICS)[number];

/** What tag's values are wanted. `legacy` is Tempo's v1 bare name: string values of span and resource attributes (and span names for `name`). */
export type TagTarget =
  | { type: 'attribute'; scope: TagScope | 'none'; name: string }
  | { type: 'legacy'; name: string }
  | { type: 'intrinsic'; name: TagIntrinsic };

/** Distinct values of one tag, among spans in the range meeting every condition. */
export interface FetchTagValuesRequest extends FetchRange, FetchLimits {
  kind: 'tag-values';
  target: TagTarget;
  conditions: Condition[];
  limit: number;
  maxBytes: number;
}

export interface TagNamesResult {
  scopes: Array<{ name: TagScope; tags: string[] }>;
  truncated: boolean;
  inspectedBytes: number;
  totalBlocks: number;
  partial?: PartialAnswer | undefined;
}

export interface TagValuesResult {
  values: TagValue[];
  truncated: boolean;
  inspectedBytes: number;
  totalBlocks: number;
  partial?: PartialAnswer | undefined;
}

export type FetchRequest = FetchTracesRequest | FetchAggregateRequest | FetchTagNamesRequest | FetchTagValuesRequest;
