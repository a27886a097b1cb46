// The head: spans acknowledged since the last block cut, queryable at once.
// Spans are held as their encoded protobuf bytes (not object graphs) so the
// head costs about what the wire did; resources and scopes are interned, since
// a batch repeats them for every span.
import { stringAttribute, type ResourceSpans, type ScopeSpans, type StoredSpan, type TraceSpans } from '../../otlp/model.js';
import { decodeResource, decodeScope, decodeSpan, encodeTracesData } from '../../otlp/protobuf.js';
import { traceIdHex } from '../../otlp/trace-id-hex.js';
import { walkTracesData } from '../../otlp/traces-data-layout.js';
import { wireFormOf, wireLayoutOf, type WireLayout } from '../../otlp/wire-form.js';
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

/**
 * A batch as the one TracesData that is both its WAL record and where the head
 * copies its spans from, with where each message lies in it.
 */
export interface EncodedBatch {
  /** The TracesData. */
  record: Uint8Array;
  /** Where the resources, scopes and spans lie in `record`, in the order of `source`. */
  layout: WireLayout;
  /** Trace ID (hex) of each span, in the order of resources → scopes → spans. */
  traceIds: string[];
  spanCount: number;
  /** Bytes of the encoded resources, scopes and spans (what the head holds for them). */
  bytes: number;
  /** The decoded batch the record encodes: the head reads span fields and indexes tags from it without decoding. */
  source: readonly ResourceSpans[];
}

/** The batch encoded anew (when it no longer has the bytes it arrived in). */
export function encodeBatch(batch: readonly ResourceSpans[]): EncodedBatch {
  const record = encodeTracesData(batch);
  // Canonical bytes of the batch itself: their layout always matches it.
  return encodeBatchFromWire(batch, record)!;
}

/**
 * The batch with `wire`, the bytes it was decoded from, as its record; the
 * layout is read from the bytes. Undefined when the bytes' layout does not
 * match the batch one for one, in which case the caller encodes.
 */
export function encodeBatchFromWire(batch: readonly ResourceSpans[], wire: Uint8Array): EncodedBatch | undefined {
  const layout: WireLayout = { resources: [], scopes: [], spans: [] };
  const at = (bytes: Uint8Array) => (bytes.length === 0 ? 0 : bytes.byteOffset - wire.byteOffset);
  let rs: ResourceSpans | undefined;
  let ss: ScopeSpans | undefined;
  let resources = 0;
  let scopeIndex = -1;
  let spans = 0;
  let matches = true;
  try {
    walkTracesData(wire, {
      resource(bytes) {
        if (ss !== undefined && spans !== ss.spans.length) matches = false;
        rs = batch[resources++];
        ss = undefined;
        scopeIndex = -1;
        if (rs === undefined) matches = false;
        layout.resources.push(at(bytes), at(bytes) + bytes.length);
      },
      scope(bytes) {
        if (ss !== undefined && spans !== ss.spans.length) matches = false;
        ss = rs?.scopeSpans[++scopeIndex];
        spans = 0;
        if (ss === undefined) matches = false;
        layout.scopes.push(at(bytes), at(bytes) + bytes.length);
      },
      span(offset, length) {
        if (ss === undefined || spans++ >= ss.spans.length) matches = false;
        layout.spans.push(offset, offset + length);
      },
    });
  } catch {
    return undefined;
  }
  if (ss !== undefined && spans !== ss.spans.length) matches = false;
  if (!matches || resources !== batch.length) return undefined;
  let scopes = 0;
  for (const r of batch) scopes += r.scopeSpans.length;
  if (layout.scopes.length !== 2 * scopes) return undefined;
  return laidOut(batch, wire, layout);
}

/** The EncodedBatch of a batch whose bytes and their layout are known. */
function laidOut(batch: readonly ResourceSpans[], record: Uint8Array, layout: WireLayout): EncodedBatch {
  const traceIds: string[] = [];
  let bytes = 0;
  for (let i = 0; i < layout.resources.length; i += 2) bytes += layout.resources[i + 1]! - layout.resources[i]!;
  for (let i = 0; i < layout.scopes.length; i += 2) bytes += layout.scopes[i + 1]! - layout.scopes[i]!;
  for (let i = 0; i < layout.spans.length; i += 2) bytes += layout.spans[i + 1]! - layout.spans[i]!;
  for (const rs of batch) for (const ss of rs.scopeSpans) for (const span of ss.spans) traceIds.push(traceIdHex(span.traceId));
  return { record, layout, traceIds, spanCount: traceIds.length, bytes, source: batch };
}

/**
 * The batch ready for the WAL and the head: taken from its wire form when it
 * has one that matches it (`reused`: the record is then the bytes it arrived
 * in), else encoded.
 */
export function encodedBatchOf(batch: readonly ResourceSpans[]): { encoded: EncodedBatch; reused: boolean } {
  const known = wireLayoutOf(batch);
  if (known !== undefined) return { encoded: laidOut(batch, known.bytes, known.layout), reused: true };
  const wire = wireFormOf(batch);
  const fromWire = wire === undefined ? undefined : encodeBatchFromWire(batch, wire);
  return fromWire === undefined ? { encoded: encodeBatch(batch), reused: false } : { encoded: fromWire, reused: true };
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
    const { record, layout, traceIds } = batch;
    // The whole record in one copy: its spans' addresses are their offsets from where it lands.
    const base = this.arena.add(record);
    let i = 0;
    let scopeIndex = 0;
    let traceId: string | undefined;
    let trace: HeadTrace | undefined;
    for (let p = 0; p < batch.source.length; p++) {
      const decoded = batch.source[p]!;
      const resourcesBefore = this.resources.length;
      const r = intern(this.resources, this.resourceIndex, record.subarray(layout.resources[2 * p]!, layout.resources[2 * p + 1]!), decoded.schemaUrl);
      if (this.resources.length > resourcesBefore) this.tags.addResource(decoded.resource);
      const serviceName = stringAttribute(decoded.resource.attributes, 'service.name');
      if (this.services.length < this.resources.length) this.services.push(serviceName);
      for (const ss of decoded.scopeSpans) {
        const scopesBefore = this.scopes.length;
        const s = intern(this.scopes, this.scopeIndex, record.subarray(layout.scopes[2 * scopeIndex]!, layout.scopes[2 * scopeIndex + 1]!), ss.schemaUrl);
        scopeIndex++;
        if (this.scopes.length > scopesBefore) this.tags.addScope(ss.scope);
        for (const span of ss.spans) {
          this.tags.addSpan(span, serviceName);
          const offset = layout.spans[2 * i]!;
          const size = layout.spans[2 * i + 1]! - offset;
          const start = span.startTimeUnixNano;
          const end = span.endTimeUnixNano;
          // Spans of one trace often come one after the other: the trace is looked up once per run.
          if (traceIds[i] !== traceId) {
            traceId = traceIds[i]!;
            trace = this.traces.get(traceId);
            if (trace === undefined) {
              trace = { spans: [], sizes: [], resource: [], scope: [], codes: [], durations: [], startUnixNano: start, endUnixNano: end, bytes: 0 };
              this.traces.set(traceId, trace);
            }
          }
          i++;
          const t = trace!;
          t.spans.push(base + offset);
          t.sizes.push(size);
          t.bytes += size;
          if (t.bytes > this.largestTrace) this.largestTrace = t.bytes;
          t.resource.push(r);
          t.scope.push(s);
          t.codes.push(span.kind | (span.status.code << 3));
          t.durations.push(end > start ? Number(end - start) : 0);
          if (start < t.startUnixNano) t.startUnixNano = start;
          if (end > t.endUnixNano) t.endUnixNano = end;
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
