// The head: spans acknowledged since the last block cut, queryable at once.
// Spans are held as their encoded protobuf bytes (not object graphs) so the
// head costs about what the wire did; resources and scopes are interned, since
// a batch repeats them for every span.
import { stringAttribute, toHex, type ResourceSpans, type StoredSpan, type TraceSpans } from '../../otlp/model.js';
import {
  decodeResource,
  decodeScope,
  decodeSpan,
  encodeResource,
  encodeScope,
  encodeSpan,
  type EncodedResourceSpans,
  type EncodedScopeSpans,
} from '../../otlp/protobuf.js';
import { walkTracesData } from '../../otlp/traces-data-layout.js';
import { wireFormOf } from '../../otlp/wire-form.js';
import { TagIndex } from '../blocks/tag-index.js';
import { SpanArena } from './span-arena.js';

interface Interned {
  bytes: Uint8Array;
  schemaUrl: string;
}

interface HeadTrace {
  /** Address in Head.arena of each span's encoded bytes… */
  spans: number[];
  /** …and their length. */
  sizes: number[];
  /** Index into Head.resources for each span. */
  resource: number[];
  /** Index into Head.scopes for each span. */
  scope: number[];
  /** Each span's kind | status code << 3, and its duration in nanoseconds (0 when it ends before it starts): what search's head filter checks. */
  codes: number[];
  durations: number[];
  startUnixNano: bigint;
  endUnixNano: bigint;
  /** Encoded bytes of its spans (the sum of `sizes`), for max_bytes_per_trace at ingest. */
  bytes: number;
}

/** What Head.traceSummaries gives of one trace; per-span arrays are parallel. */
export interface HeadTraceSummary {
  traceId: string;
  startUnixNano: bigint;
  endUnixNano: bigint;
  /** kind | status code << 3 */
  codes: readonly number[];
  /** Nanoseconds, 0 when a span ends before it starts. */
  durations: readonly number[];
  /** Index into `services`. */
  resource: readonly number[];
  /** service.name of each resource, when a string. */
  services: ReadonlyArray<string | undefined>;
}

/** A batch encoded once, ready both for the WAL record and for the head. */
export interface EncodedBatch {
  parts: EncodedResourceSpans[];
  /** Trace ID (hex) of each span, in the order of parts → scopeSpans → spans. */
  traceIds: string[];
  starts: bigint[];
  ends: bigint[];
  spanCount: number;
  bytes: number;
  /** The decoded batch, parallel to `parts`: the head indexes its tags from it without decoding. */
  source: readonly ResourceSpans[];
}

export function encodeBatch(batch: readonly ResourceSpans[]): EncodedBatch {
  const parts: EncodedResourceSpans[] = [];
  const traceIds: string[] = [];
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  let bytes = 0;
  for (const rs of batch) {
    const resource = encodeResource(rs.resource);
    bytes += resource.length;
    const scopeSpans = rs.scopeSpans.map((ss) => {
      const scope = encodeScope(ss.scope);
      bytes += scope.length;
      const spans = ss.spans.map((span) => {
        const encoded = encodeSpan(span);
        bytes += encoded.length;
        traceIds.push(toHex(span.traceId));
        starts.push(span.startTimeUnixNano);
        ends.push(span.endTimeUnixNano);
        return encoded;
      });
      return { scope, schemaUrl: ss.schemaUrl, spans };
    });
    parts.push({ resource, schemaUrl: rs.schemaUrl, scopeSpans });
  }
  return { parts, traceIds, starts, ends, spanCount: traceIds.length, bytes, source: batch };
}

/**
 * encodeBatch without encoding: the resource, scope and span bodies are views
 * of `wire`, the bytes the batch was decoded from (see otlp/wire-form.ts).
 * Undefined when the bytes' layout does not match the batch one for one, in
 * which case the caller encodes.
 */
export function encodeBatchFromWire(batch: readonly ResourceSpans[], wire: Uint8Array): EncodedBatch | undefined {
  const parts: EncodedResourceSpans[] = [];
  const traceIds: string[] = [];
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  let bytes = 0;
  let rs: ResourceSpans | undefined;
  let spans: Uint8Array[] = [];
  let scopeSpans: EncodedScopeSpans[] = [];
  let scopeIndex = -1;
  let matches = true;
  try {
    walkTracesData(wire, {
      resource(resource) {
        rs = batch[parts.length];
        if (rs === undefined) {
          matches = false;
          return;
        }
        scopeSpans = [];
        scopeIndex = -1;
        parts.push({ resource, schemaUrl: rs.schemaUrl, scopeSpans });
        bytes += resource.length;
      },
      scope(scope) {
        const ss = rs?.scopeSpans[++scopeIndex];
        if (ss === undefined) {
          matches = false;
          return;
        }
        spans = [];
        scopeSpans.push({ scope, schemaUrl: ss.schemaUrl, spans });
        bytes += scope.length;
      },
      span(offset, length) {
        const span = rs?.scopeSpans[scopeIndex]?.spans[spans.length];
        if (span === undefined) {
          matches = false;
          return;
        }
        spans.push(wire.subarray(offset, offset + length));
        bytes += length;
        traceIds.push(toHex(span.traceId));
        starts.push(span.startTimeUnixNano);
        ends.push(span.endTimeUnixNano);
      },
    });
  } catch {
    return undefined;
  }
  if (!matches || parts.length !== batch.length) return undefined;
  for (let i = 0; i < parts.length; i++) {
    const decoded = batch[i]!.scopeSpans;
    const encoded = parts[i]!.scopeSpans;
    if (encoded.length !== decoded.length) return undefined;
    for (let j = 0; j < encoded.length; j++) if (encoded[j]!.spans.length !== decoded[j]!.spans.length) return undefined;
  }
  return { parts, traceIds, starts, ends, spanCount: traceIds.length, bytes, source: batch };
}

/**
 * The batch ready for the WAL and the head: taken from its wire form when it
 * has one that matches it (`wire` is then what the WAL record is), else
 * encoded span by span.
 */
export function encodedBatchOf(batch: readonly ResourceSpans[]): { encoded: EncodedBatch; wire: Uint8Array | undefined } {
  const wire = wireFormOf(batch);
  const fromWire = wire === undefined ? undefined : encodeBatchFromWire(batch, wire);
  return fromWire === undefined ? { encoded: encodeBatch(batch), wire: undefined } : { encoded: fromWire, wire };
}

export class Head {
  private readonly traces = new Map<string, HeadTrace>();
  private readonly arena = new SpanArena();
  private readonly resources: Interned[] = [];
  private readonly scopes: Interned[] = [];
  private readonly resourceIndex = new Map<string, number>();
  private readonly scopeIndex = new Map<string, number>();
  /** service.name (when a string) of each of this.resources. */
  private readonly services: Array<string | undefined> = [];
  private bytesHeld = 0;
  private spansHeld = 0;
  /** The most bytes any one trace holds: when even it has room for a whole batch, no trace needs checking. */
  private largestTrace = 0;
  private minStart: bigint | undefined;
  private maxEnd: bigint | undefined;
  /**
   * Tag names and values of the spans held, kept as they arrive (resources and scopes once
   * per distinct one) so that tag queries need not decode the head. Bounded (see TagIndex);
   * it goes with the head when the head is cut.
   */
  readonly tags = new TagIndex();
  /** Appends that target this head and have not been inserted yet (see TenantStore.cut). */
  private pending = 0;
  private drainWaiters: Array<() => void> = [];
  readonly createdAt = Date.now();
  firstAppendAt: number | undefined;
  /**
   * Resources and scopes decoded for lookups (find), kept with the head: search reads
   * hundreds of its traces per request, most under the same few resources.
   */
  private readonly lookups = new Decoded(this.resources, this.scopes);

  /** Marks an append in flight towards this head (its WAL write has been issued). */
  beginAppend(): void {
    this.pending++;
  }

  endAppend(): void {
    if (--this.pending === 0) {
      for (const wake of this.drainWaiters) wake();
      this.drainWaiters = [];
    }
  }

  /** Resolves once no append towards this head is in flight. */
  whenDrained(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  get inFlight(): number {
    return this.pending;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  get spanCount(): number {
    return this.spansHeld;
  }

  get traceCount(): number {
    return this.traces.size;
  }

  /** The encoded bytes of the largest trace held. */
  get largestTraceBytes(): number {
    return this.largestTrace;
  }

  /** The encoded bytes of a trace's spans, or undefined when the head does not hold the trace. */
  traceBytes(traceId: string): number | undefined {
    return this.traces.get(traceId)?.bytes;
  }

  /** Earliest and latest span start or end held (unix nanoseconds); undefined when empty. */
  get timeRange(): { startUnixNano: bigint; endUnixNano: bigint } | undefined {
    return this.minStart === undefined || this.maxEnd === undefined ? undefined : { startUnixNano: this.minStart, endUnixNano: this.maxEnd };
  }

  insert(batch: EncodedBatch): void {
    this.firstAppendAt ??= Date.now();
    let i = 0;
    for (const [p, rs] of batch.parts.entries()) {
      const decoded = batch.source[p]!;
      const resourcesBefore = this.resources.length;
      const r = intern(this.resources, this.resourceIndex, rs.resource, rs.schemaUrl);
      if (this.resources.length > resourcesBefore) this.tags.addResource(decoded.resource);
      const serviceName = stringAttribute(decoded.resource.attributes, 'service.name');
      if (this.services.length < this.resources.length) this.services.push(serviceName);
      for (const [q, ss] of rs.scopeSpans.entries()) {
        const decodedScope = decoded.scopeSpans[q]!;
        const scopesBefore = this.scopes.length;
        const s = intern(this.scopes, this.scopeIndex, ss.scope, ss.schemaUrl);
        if (this.scopes.length > scopesBefore) this.tags.addScope(decodedScope.scope);
        for (const span of decodedScope.spans) this.tags.addSpan(span, serviceName);
        for (const [j, span] of ss.spans.entries()) {
          const fields = decodedScope.spans[j]!;
          const traceId = batch.traceIds[i]!;
          const start = batch.starts[i]!;
          const end = batch.ends[i]!;
          i++;
          let trace = this.traces.get(traceId);
          if (!trace) {
            trace = { spans: [], sizes: [], resource: [], scope: [], codes: [], durations: [], startUnixNano: start, endUnixNano: end, bytes: 0 };
            this.traces.set(traceId, trace);
          }
          trace.spans.push(this.arena.add(span));
          trace.sizes.push(span.length);
          trace.bytes += span.length;
          if (trace.bytes > this.largestTrace) this.largestTrace = trace.bytes;
          trace.resource.push(r);
          trace.scope.push(s);
          trace.codes.push(fields.kind | (fields.status.code << 3));
          trace.durations.push(end > start ? Number(end - start) : 0);
          if (start < trace.startUnixNano) trace.startUnixNano = start;
          if (end > trace.endUnixNano) trace.endUnixNano = end;
          // Both ends of each span: a span whose clock made it end before it started still counts.
          const low = start < end ? start : end;
          const high = start < end ? end : start;
          if (this.minStart === undefined || low < this.minStart) this.minStart = low;
          if (this.maxEnd === undefined || high > this.maxEnd) this.maxEnd = high;
        }
      }
    }
    this.bytesHeld += batch.bytes;
    this.spansHeld += batch.spanCount;
  }

  has(traceId: string): boolean {
    return this.traces.has(traceId);
  }

  /** The spans of a trace, decoded; empty when the head does not hold it. */
  find(traceId: string, range?: { startUnixNano?: bigint; endUnixNano?: bigint }): { spans: StoredSpan[]; bytes: number } {
    const trace = this.traces.get(traceId);
    if (!trace) return { spans: [], bytes: 0 };
    if (range?.startUnixNano !== undefined && trace.endUnixNano < range.startUnixNano) return { spans: [], bytes: 0 };
    if (range?.endUnixNano !== undefined && trace.startUnixNano > range.endUnixNano) return { spans: [], bytes: 0 };
    return this.decodeTrace(trace, this.lookups);
  }

  /**
   * Every trace overlapping the range (unix nanoseconds, both ends inclusive), decoded lazily one
   * trace at a time, in no particular order: for scans such as tag listing. Each resource and scope
   * is decoded once per scan.
   */
  *scan(range?: { startUnixNano?: bigint; endUnixNano?: bigint }): Generator<TraceSpans & { bytes: number }> {
    const decoded = new Decoded(this.resources, this.scopes);
    for (const [traceId, trace] of this.traces) {
      if (range?.startUnixNano !== undefined && trace.endUnixNano < range.startUnixNano) continue;
      if (range?.endUnixNano !== undefined && trace.startUnixNano > range.endUnixNano) continue;
      const { spans, bytes } = this.decodeTrace(trace, decoded);
      yield { traceId, spans, bytes };
    }
  }

  /** Each trace's ID and time bounds, without decoding spans (search picks candidates from these). */
  *traceBounds(): Generator<{ traceId: string; startUnixNano: bigint; endUnixNano: bigint }> {
    for (const [traceId, t] of this.traces) yield { traceId, startUnixNano: t.startUnixNano, endUnixNano: t.endUnixNano };
  }

  /**
   * Each trace's ID, time bounds and, per span, its service, kind, status and duration, without
   * decoding anything: search checks its pushed-down condition on these before reading a trace.
   */
  *traceSummaries(): Generator<HeadTraceSummary> {
    for (const [traceId, t] of this.traces) {
      yield { traceId, startUnixNano: t.startUnixNano, endUnixNano: t.endUnixNano, codes: t.codes, durations: t.durations, resource: t.resource, services: this.services };
    }
  }

  /** One trace's summary (as traceSummaries gives it), or undefined when the head does not hold it. */
  traceSummary(traceId: string): HeadTraceSummary | undefined {
    const t = this.traces.get(traceId);
    return t && { traceId, startUnixNano: t.startUnixNano, endUnixNano: t.endUnixNano, codes: t.codes, durations: t.durations, resource: t.resource, services: this.services };
  }

  /**
   * The trace's spans as encoded protobuf, each with its resource's and scope's, nothing
   * decoded: a test on these bytes rules a trace out for a fraction of reading it. Views
   * of the head's memory, valid while it lives. Empty when the head does not hold the trace.
   */
  encodedSpans(traceId: string): Array<{ span: Uint8Array; resource: Uint8Array; scope: Uint8Array }> {
    const trace = this.traces.get(traceId);
    if (!trace) return [];
    const out = [];
    for (let i = 0; i < trace.spans.length; i++) {
      out.push({ span: this.arena.get(trace.spans[i]!, trace.sizes[i]!), resource: this.resources[trace.resource[i]!]!.bytes, scope: this.scopes[trace.scope[i]!]!.bytes });
    }
    return out;
  }

  /** Every trace ID held, sorted. */
  sortedTraceIds(): string[] {
    return [...this.traces.keys()].sort();
  }

  /**
   * Every trace (or those of `ids`, sorted IDs the head holds), sorted by trace ID, decoded lazily
   * one trace at a time (for the block writer).
   */
  *sortedTraces(ids: readonly string[] = this.sortedTraceIds()): Generator<TraceSpans> {
    const decoded = new Decoded(this.resources, this.scopes);
    for (const traceId of ids) {
      yield { traceId, spans: this.decodeTrace(this.traces.get(traceId)!, decoded).spans };
    }
  }

  private decodeTrace(trace: HeadTrace, decoded = new Decoded(this.resources, this.scopes)): { spans: StoredSpan[]; bytes: number } {
    const spans: StoredSpan[] = [];
    let bytes = 0;
    for (let i = 0; i < trace.spans.length; i++) {
      const encoded = this.arena.get(trace.spans[i]!, trace.sizes[i]!);
      bytes += encoded.length;
      const r = decoded.resource(trace.resource[i]!);
      const s = decoded.scope(trace.scope[i]!);
      spans.push({
        resource: r.value,
        resourceSchemaUrl: r.schemaUrl,
        scope: s.value,
        scopeSchemaUrl: s.schemaUrl,
        span: decodeSpan(encoded),
      });
    }
    return { spans, bytes };
  }
}

function intern(list: Interned[], index: Map<string, number>, bytes: Uint8Array, schemaUrl: string): number {
  // latin1 maps each byte to one char: a cheap, exact key for small messages.
  const key = `${schemaUrl}\u0000${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`;
  let i = index.get(key);
  if (i === undefined) {
    i = list.length;
    // A copy: the bytes may be a view of a whole request (see encodeBatchFromWire).
    list.push({ bytes: bytes.slice(), schemaUrl });
    index.set(key, i);
  }
  return i;
}

/** Decodes each interned resource and scope once per read. */
class Decoded {
  private readonly r = new Map<number, { value: StoredSpan['resource']; schemaUrl: string }>();
  private readonly s = new Map<number, { value: StoredSpan['scope']; schemaUrl: string }>();
  constructor(
    private readonly resources: readonly Interned[],
    private readonly scopes: readonly Interned[],
  ) {}

  resource(i: number) {
    let v = this.r.get(i);
    if (!v) {
      const item = this.resources[i]!;
      v = { value: decodeResource(item.bytes), schemaUrl: item.schemaUrl };
      this.r.set(i, v);
    }
    return v;
  }

  scope(i: number) {
    let v = this.s.get(i);
    if (!v) {
      const item = this.scopes[i]!;
      v = { value: decodeScope(item.bytes), schemaUrl: item.schemaUrl };
      this.s.set(i, v);
    }
    return v;
  }
}
