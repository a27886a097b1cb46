// The traces waiting for a decision, held compactly (ARCHITECTURE decision 6).
//
// Spans stay in the encoded TracesData they were written to the WAL as (one
// per request, the "payload"); nothing is copied or decoded on arrival. A trace
// is an index of its spans — for each, which payload, where in it, and its
// resource and scope — plus the few figures most policies need (span count,
// earliest start, latest end, status codes seen), taken as spans arrive.
// Resources and scopes are stored once per distinct value. A payload is
// dropped once no waiting trace has spans in it; since traces are decided in
// about the order they arrived, payloads go in about that order too.
//
// Index entry (per span, in the trace's index Buffer):
//   varint payload slot, varint offset, varint length, varint resource slot, varint scope slot
// where a slot indexes the trace's own short list of payload, resource or
// scope ids: a trace holds one reference to each, whatever its span count.
import { decodeResource, decodeScope, decodeSpan } from '../../../otlp/protobuf.js';
import type { InstrumentationScope, Resource, ResourceSpans, ScopeSpans, Span } from '../../../otlp/model.js';
import type { TraceView } from './policies/policy.js';

const TRACE_ID_BYTES = 16;
/** First size of a trace's index: room for a handful of spans. */
const INITIAL_INDEX_BYTES = 48;

/** A trace's key: its ID as 16 latin1 characters followed by the tenant (IDs are fixed-size, so no separator is needed). */
export function traceKey(traceId: Uint8Array, tenant: string): string {
  return String.fromCharCode.apply(null, traceId as unknown as number[]) + tenant;
}

/**
 * traceKey() for spans as they arrive, without its concatenation: the ID and
 * the tenant are written into a reused buffer and read out as one flat string
 * (the concatenation made a second string, flattened again to be hashed, for
 * every span). Same keys as traceKey(): a tenant with characters beyond
 * latin1 takes traceKey() itself.
 */
export class TraceKeys {
  private buf = Buffer.allocUnsafe(64);
  private tenant: string | undefined;
  private end = 0;

  of(traceId: Uint8Array, tenant: string): string {
    if (tenant !== this.tenant && !this.setTenant(tenant)) return traceKey(traceId, tenant);
    this.buf.set(traceId, 0);
    return this.buf.toString('latin1', 0, this.end);
  }

  private setTenant(tenant: string): boolean {
    // eslint-disable-next-line no-control-regex
    if (!/^[\u0000-\u00ff]*$/.test(tenant)) return false;
    const end = TRACE_ID_BYTES + tenant.length;
    if (end > this.buf.length) this.buf = Buffer.allocUnsafe(end);
    this.buf.write(tenant, TRACE_ID_BYTES, 'latin1');
    this.tenant = tenant;
    this.end = end;
    return true;
  }
}

export function traceIdOfKey(key: string): Uint8Array {
  const id = new Uint8Array(TRACE_ID_BYTES);
  for (let i = 0; i < TRACE_ID_BYTES; i++) id[i] = key.charCodeAt(i);
  return id;
}

/** Things counted by reference and dropped when nothing refers to them; ids are reused. */
class RefTable<T extends { refs: number }> {
  protected readonly entries: Array<T | undefined> = [];
  private readonly freeIds: number[] = [];

  protected add(entry: T): number {
    const id = this.freeIds.pop() ?? this.entries.length;
    this.entries[id] = entry;
    return id;
  }

  ref(id: number): void {
    this.entries[id]!.refs++;
  }

  /** Drops a reference; returns the entry if that was the last one. */
  unref(id: number): T | undefined {
    const entry = this.entries[id]!;
    if (--entry.refs > 0) return undefined;
    this.entries[id] = undefined;
    this.freeIds.push(id);
    return entry;
  }

  get(id: number): T {
    return this.entries[id]!;
  }
}

interface Interned<T> {
  key: string;
  bytes: Uint8Array;
  schemaUrl: string;
  refs: number;
  /** Decoded on first use by a policy, kept while referenced. */
  decoded: T | undefined;
}

/** Distinct encoded resources (or scopes), each referenced by the spans that have it. */
class InternTable<T> extends RefTable<Interned<T>> {
  private readonly ids = new Map<string, number>();
  bytes = 0;

  constructor(private readonly decode: (bytes: Uint8Array) => T) {
    super();
  }

  /** The id of this value, added (copied, with no references) if new. */
  intern(bytes: Uint8Array, schemaUrl: string): number {
    const key = `${schemaUrl}\n${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    // A copy: the bytes passed in are a view into a payload that may go long before this value does.
    const id = this.add({ key, bytes: Uint8Array.from(bytes), schemaUrl, refs: 0, decoded: undefined });
    this.ids.set(key, id);
    this.bytes += bytes.byteLength + key.length;
    return id;
  }

  override unref(id: number): Interned<T> | undefined {
    const gone = super.unref(id);
    if (gone) {
      this.ids.delete(gone.key);
      this.bytes -= gone.bytes.byteLength + gone.key.length;
    }
    return gone;
  }

  decoded(id: number): T {
    const entry = this.get(id);
    return (entry.decoded ??= this.decode(entry.bytes));
  }
}

interface Payload {
  bytes: Uint8Array;
  /** Waiting traces with spans in it. */
  refs: number;
}

/** The encoded TracesData of each request, kept while a waiting trace has spans in it. */
class PayloadTable extends RefTable<Payload> {
  bytes = 0;

  register(bytes: Uint8Array): number {
    this.bytes += bytes.byteLength;
    return this.add({ bytes, refs: 0 });
  }

  override unref(id: number): Payload | undefined {
    const gone = super.unref(id);
    if (gone) this.bytes -= gone.bytes.byteLength;
    return gone;
  }
}

export class BufferedTrace {
  /** One entry per span (see the layout at the top). */
  index: Buffer = EMPTY;
  used = 0;
  spanCount = 0;
  earliestStartNs = 0n;
  latestEndNs = 0n;
  statusCodes = 0;
  /**
   * Ids of the payloads, resources and scopes of this trace's spans; index
   * entries refer to them by position. Replaced, not grown, when one is added:
   * a trace has only a few, and a grown array would carry room for 16.
   */
  payloads: readonly number[] = NO_IDS;
  resources: readonly number[] = NO_IDS;
  scopes: readonly number[] = NO_IDS;
  /** WAL epochs holding spans of this trace (see persistence.ts): one number in the common case. */
  epochs: number | number[] = -1;

  constructor(
    readonly key: string,
    readonly tenant: string,
    /** When its first span arrived (ms since the epoch); the decision is due decision_wait later. */
    readonly arrivalMs: number,
  ) {}

  hasEpoch(epoch: number): boolean {
    return typeof this.epochs === 'number' ? this.epochs === epoch : this.epochs.includes(epoch);
  }

  addEpoch(epoch: number): void {
    if (this.epochs === -1) this.epochs = epoch;
    else if (typeof this.epochs === 'number') this.epochs = [this.epochs, epoch];
    else this.epochs.push(epoch);
  }

  epochList(): number[] {
    if (this.epochs === -1) return [];
    return typeof this.epochs === 'number' ? [this.epochs] : this.epochs;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_IDS: readonly number[] = [];

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

interface EntryVisitor {
  (payloadId: number, offset: number, length: number, resourceId: number, scopeId: number): void;
}

type IdList = 'payloads' | 'resources' | 'scopes';

/** Position of `id` in one of a trace's lists, added (with a reference taken) if missing. */
function slotOf(trace: BufferedTrace, list: IdList, id: number, table: { ref(id: number): void }): number {
  const ids = trace[list];
  // Spans of one trace mostly share the last payload, resource and scope added.
  const last = ids.length - 1;
  if (last >= 0 && ids[last] === id) return last;
  const slot = ids.indexOf(id);
  if (slot >= 0) return slot;
  table.ref(id);
  // Sized exactly (a spread or push would leave room for a dozen more).
  const grown = new Array<number>(ids.length + 1);
  for (let i = 0; i < ids.length; i++) grown[i] = ids[i]!;
  grown[ids.length] = id;
  trace[list] = grown;
  return ids.length;
}

/** Walks a trace's index. */
function forEachEntry(trace: BufferedTrace, visit: EntryVisitor): void {
  const index = trace.index;
  let pos = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = index[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (pos < trace.used) {
    const payload = varint();
    const offset = varint();
    const length = varint();
    const resource = varint();
    const scope = varint();
    visit(trace.payloads[payload]!, offset, length, trace.resources[resource]!, trace.scopes[scope]!);
  }
}

export class TraceBuffer {
  /** In order of arrival: the oldest trace is the first. */
  private readonly traces = new Map<string, BufferedTrace>();
  readonly resources = new InternTable<Resource>(decodeResource);
  readonly scopes = new InternTable<InstrumentationScope>(decodeScope);
  readonly payloads = new PayloadTable();
  spanCount = 0;
  /** Bytes of the traces' indexes. */
  indexBytes = 0;

  get traceCount(): number {
    return this.traces.size;
  }

  /** Bytes held for waiting traces: payloads, indexes, resources and scopes. */
  get bytes(): number {
    return this.payloads.bytes + this.indexBytes + this.resources.bytes + this.scopes.bytes;
  }

  get(key: string): BufferedTrace | undefined {
    return this.traces.get(key);
  }

  create(key: string, tenant: string, arrivalMs: number): BufferedTrace {
    const trace = new BufferedTrace(key, tenant, arrivalMs);
    this.traces.set(key, trace);
    return trace;
  }

  oldest(): BufferedTrace | undefined {
    return this.traces.values().next().value;
  }

  /** Traces in arrival order, oldest first. */
  inArrivalOrder(): IterableIterator<BufferedTrace> {
    return this.traces.values();
  }

  /**
   * Adds one span: its body is bytes [offset, offset + length) of the payload,
   * its resource and scope ids come from the intern tables.
   */
  appendSpan(trace: BufferedTrace, payloadId: number, offset: number, length: number, resourceId: number, scopeId: number, span: Span): void {
    const payload = slotOf(trace, 'payloads', payloadId, this.payloads);
    const resource = slotOf(trace, 'resources', resourceId, this.resources);
    const scope = slotOf(trace, 'scopes', scopeId, this.scopes);
    const need = varintSize(payload) + varintSize(offset) + varintSize(length) + varintSize(resource) + varintSize(scope);
    if (trace.used + need > trace.index.length) this.grow(trace, need);
    let pos = writeVarint(trace.index, trace.used, payload);
    pos = writeVarint(trace.index, pos, offset);
    pos = writeVarint(trace.index, pos, length);
    pos = writeVarint(trace.index, pos, resource);
    trace.used = writeVarint(trace.index, pos, scope);

    if (trace.spanCount === 0 || span.startTimeUnixNano < trace.earliestStartNs) trace.earliestStartNs = span.startTimeUnixNano;
    if (trace.spanCount === 0 || span.endTimeUnixNano > trace.latestEndNs) trace.latestEndNs = span.endTimeUnixNano;
    const code = span.status.code;
    if (code >= 0 && code <= 2) trace.statusCodes |= 1 << code;
    trace.spanCount++;
    this.spanCount++;
  }

  private grow(trace: BufferedTrace, need: number): void {
    // Small and short-lived: Node's pooled allocation suits them (no malloc per trace).
    const size = Math.max(INITIAL_INDEX_BYTES, trace.used + need, 2 * trace.index.length);
    const index = Buffer.allocUnsafe(size);
    trace.index.copy(index, 0, 0, trace.used);
    this.indexBytes += size - trace.index.length;
    trace.index = index;
  }

  /** Takes a trace out of the waiting set; its spans stay readable until release(). */
  remove(trace: BufferedTrace): void {
    if (this.traces.get(trace.key) === trace) this.traces.delete(trace.key);
  }

  /** Frees a removed trace's index and its references to payloads, resources and scopes. */
  release(trace: BufferedTrace): void {
    for (const id of trace.payloads) this.payloads.unref(id);
    for (const id of trace.resources) this.resources.unref(id);
    for (const id of trace.scopes) this.scopes.unref(id);
    this.spanCount -= trace.spanCount;
    this.indexBytes -= trace.index.length;
    trace.index = EMPTY;
    trace.used = 0;
    trace.payloads = NO_IDS;
    trace.resources = NO_IDS;
    trace.scopes = NO_IDS;
  }

  view(trace: BufferedTrace): TraceView {
    return new BufferedTraceView(this, trace);
  }

  /** Decodes the spans of one trace, each with the ids of its resource and scope. */
  decodeSpans(trace: BufferedTrace, visit: (resourceId: number, scopeId: number, span: Span) => void): void {
    forEachEntry(trace, (payloadId, offset, length, resourceId, scopeId) => {
      visit(resourceId, scopeId, decodeSpan(this.payloads.get(payloadId).bytes.subarray(offset, offset + length)));
    });
  }

  /** The traces' spans as OTLP batches, grouped by resource and scope, decoded afresh (the next stage may change them). */
  toResourceSpans(traces: readonly BufferedTrace[]): ResourceSpans[] {
    const byResource = new Map<number, { rs: ResourceSpans; scopes: Map<number, ScopeSpans> }>();
    for (const trace of traces) {
      this.decodeSpans(trace, (resourceId, scopeId, span) => {
        let group = byResource.get(resourceId);
        if (!group) {
          const resource = this.resources.get(resourceId);
          group = { rs: { resource: decodeResource(resource.bytes), schemaUrl: resource.schemaUrl, scopeSpans: [] }, scopes: new Map() };
          byResource.set(resourceId, group);
        }
        let scopeSpans = group.scopes.get(scopeId);
        if (!scopeSpans) {
          const scope = this.scopes.get(scopeId);
          scopeSpans = { scope: decodeScope(scope.bytes), schemaUrl: scope.schemaUrl, spans: [] };
          group.scopes.set(scopeId, scopeSpans);
          group.rs.scopeSpans.push(scopeSpans);
        }
        scopeSpans.spans.push(span);
      });
    }
    return [...byResource.values()].map((g) => g.rs);
  }
}

/** What the policies see of a buffered trace; spans and resources are decoded on first use. */
class BufferedTraceView implements TraceView {
  readonly traceId: Uint8Array;
  private decodedSpans: Span[] | undefined;
  private resourceIds: Set<number> | undefined;

  constructor(
    private readonly buffer: TraceBuffer,
    private readonly trace: BufferedTrace,
  ) {
    this.traceId = traceIdOfKey(trace.key);
  }

  get spanCount(): number {
    return this.trace.spanCount;
  }

  get earliestStartNs(): bigint {
    return this.trace.earliestStartNs;
  }

  get latestEndNs(): bigint {
    return this.trace.latestEndNs;
  }

  get statusCodes(): number {
    return this.trace.statusCodes;
  }

  spans(): readonly Span[] {
    if (!this.decodedSpans) this.decode();
    return this.decodedSpans!;
  }

  resources(): readonly Resource[] {
    if (!this.resourceIds) this.decode();
    return [...this.resourceIds!].map((id) => this.buffer.resources.decoded(id));
  }

  private decode(): void {
    const spans: Span[] = [];
    const resourceIds = new Set<number>();
    this.buffer.decodeSpans(this.trace, (resourceId, _scopeId, span) => {
      spans.push(span);
      resourceIds.add(resourceId);
    });
    this.decodedSpans = spans;
    this.resourceIds = resourceIds;
  }
}
