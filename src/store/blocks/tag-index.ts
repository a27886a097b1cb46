// A tag index: the distinct attribute names of a set of spans per scope, each
// name's distinct typed values, and the values of the intrinsics autocomplete
// lists (span names, status, kind, …). Blocks keep one in tags.json
// (docs/block-format.md) and the head maintains one as spans arrive, so tag
// names and values are answered from a few small dictionaries instead of a scan.
//
// Every set is bounded. A name with too many distinct values is kept as "high
// cardinality" (its values dropped), and a scope with too many names stops
// taking new ones; callers then scan that block or head as before. So the index
// only ever answers exactly or says it cannot.
import { stringAttribute, type AnyValue, type InstrumentationScope, type KeyValue, type Resource, type Span, type StoredSpan } from '../../otlp/model.js';

export type IndexScope = 'resource' | 'span' | 'event' | 'link' | 'instrumentation';
export const INDEX_SCOPES: readonly IndexScope[] = ['resource', 'span', 'event', 'link', 'instrumentation'];

/** Intrinsics whose values are listed (the others are per-span numbers or IDs). */
export type IndexedIntrinsic =
  | 'name'
  | 'statusMessage'
  | 'rootName'
  | 'rootServiceName'
  | 'event:name'
  | 'instrumentation:name'
  | 'instrumentation:version'
  | 'status'
  | 'kind';
export const INDEXED_INTRINSICS: readonly IndexedIntrinsic[] = [
  'name',
  'statusMessage',
  'rootName',
  'rootServiceName',
  'event:name',
  'instrumentation:name',
  'instrumentation:version',
  'status',
  'kind',
];

export type IndexedValueType = 'string' | 'int' | 'float' | 'bool' | 'keyword';
export interface IndexedValue {
  type: IndexedValueType;
  value: string;
}

/** What a condition compares with, to tell whether a block can hold a match. */
export type ProbeValue = { type: 'string'; value: string } | { type: 'number'; value: number } | { type: 'bool'; value: boolean };

export interface TagIndexLimits {
  /** Distinct values kept per name; one more makes the name high-cardinality. */
  valuesPerName: number;
  /** Bytes of values kept per name (strings by length, numbers as 8). */
  valueBytesPerName: number;
  /** Distinct names kept per scope; beyond it the scope's names are incomplete. */
  namesPerScope: number;
  /** Bytes of values in the whole index; beyond it, a name gaining a value becomes high-cardinality. */
  totalValueBytes: number;
}

export const DEFAULT_TAG_INDEX_LIMITS: TagIndexLimits = {
  valuesPerName: 1000,
  valueBytesPerName: 64 * 1024,
  namesPerScope: 2000,
  totalValueBytes: 16 * 1024 * 1024,
};

export const TAG_INDEX_FORMAT = 'skein-tags-v1';

const STATUS_WORDS = ['unset', 'ok', 'error'];
const KIND_WORDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const BOOL_FALSE = 1;
const BOOL_TRUE = 2;

/** The values of one name. Typed sets, so that adding a value allocates nothing when it is known. */
class Entry {
  s = new Set<string>();
  i = new Set<bigint>();
  f = new Set<number>();
  /** BOOL_FALSE | BOOL_TRUE bits. */
  b = 0;
  /** Some value was an array: its elements are not listed, but TraceQL compares them one by one. */
  arrays = false;
  count = 0;
  bytes = 0;
  high = false;
  /**
   * The value added last, as the object it came in: spans repeat their neighbours' values,
   * and the decoder hands a repeated string value out as the same object (see otlp/wire.ts),
   * so most repeats are known by identity before any set is asked.
   */
  last: unknown = undefined;
}

interface ScopeNames {
  names: Map<string, Entry>;
  /** False once a name was refused for the namesPerScope cap: absent names may then exist. */
  complete: boolean;
  /**
   * Attributes already added, by identity: the decoder hands a repeated attribute out as the same
   * frozen KeyValue, whose second add would change nothing. Bounded; emptied when full.
   */
  added: Set<KeyValue>;
}

/** Attributes remembered as added per scope (see ScopeNames.added). */
const ADDED_LIMIT = 8192;

export class TagIndex {
  private readonly scopes = new Map<IndexScope, ScopeNames>(INDEX_SCOPES.map((s) => [s, { names: new Map(), complete: true, added: new Set() }]));
  private readonly intrinsics = new Map<IndexedIntrinsic, Entry>(INDEXED_INTRINSICS.map((k) => [k, new Entry()]));
  /** The scope every span's attributes go to, looked up once. */
  private readonly spanNames = this.scopes.get('span')!;
  private valueBytes = 0;
  private nameBytes = 0;
  /** Resources and scopes already indexed, by identity (decoders share one object per distinct one). */
  private seen = new WeakSet<object>();

  constructor(readonly limits: TagIndexLimits = DEFAULT_TAG_INDEX_LIMITS) {}

  // ── building ───────────────────────────────────────────────────────────

  addAttributes(scope: IndexScope, attrs: readonly KeyValue[]): void {
    this.addTo(this.scopes.get(scope)!, attrs);
  }

  private addTo(sc: ScopeNames, attrs: readonly KeyValue[]): void {
    for (let i = 0; i < attrs.length; i++) {
      const kv = attrs[i]!;
      if (sc.added.has(kv)) continue;
      if (Object.isFrozen(kv)) {
        if (sc.added.size >= ADDED_LIMIT) sc.added.clear();
        sc.added.add(kv);
      }
      let e = sc.names.get(kv.key);
      if (e === undefined) {
        if (sc.names.size >= this.limits.namesPerScope) {
          sc.complete = false;
          continue;
        }
        e = new Entry();
        sc.names.set(kv.key, e);
        this.nameBytes += kv.key.length;
      }
      if (!e.high && kv.value !== e.last) {
        e.last = kv.value;
        this.addValue(e, kv.value);
      }
    }
  }

  addResource(resource: Resource): void {
    if (this.seen.has(resource)) return;
    this.seen.add(resource);
    this.addAttributes('resource', resource.attributes);
  }

  addScope(scope: InstrumentationScope): void {
    if (this.seen.has(scope)) return;
    this.seen.add(scope);
    this.addAttributes('instrumentation', scope.attributes);
    this.addIntrinsic('instrumentation:name', scope.name);
    this.addIntrinsic('instrumentation:version', scope.version);
  }

  /** A span's own attributes, events, links and intrinsics; `serviceName` is its resource's (for rootServiceName). */
  addSpan(span: Span, serviceName: string | undefined): void {
    this.addTo(this.spanNames, span.attributes);
    for (const e of span.events) {
      if (e.attributes.length > 0) this.addAttributes('event', e.attributes);
      this.addIntrinsic('event:name', e.name);
    }
    for (const l of span.links) if (l.attributes.length > 0) this.addAttributes('link', l.attributes);
    this.addIntrinsic('name', span.name);
    this.addIntrinsic('statusMessage', span.status.message);
    this.addIntrinsic('status', STATUS_WORDS[span.status.code] ?? 'unset');
    this.addIntrinsic('kind', KIND_WORDS[span.kind] ?? 'unspecified');
    if (span.parentSpanId.length === 0) {
      this.addIntrinsic('rootName', span.name);
      if (serviceName !== undefined) this.addIntrinsic('rootServiceName', serviceName);
    }
  }

  addStoredSpan(s: StoredSpan): void {
    this.addResource(s.resource);
    this.addScope(s.scope);
    this.addSpan(s.span, s.span.parentSpanId.length === 0 ? stringAttribute(s.resource.attributes, 'service.name') : undefined);
  }

  /** Everything `other` holds (compaction: the output's index is the union of its inputs'). */
  merge(other: TagIndex): void {
    for (const scope of INDEX_SCOPES) {
      const mine = this.scopes.get(scope)!;
      const theirs = other.scopes.get(scope)!;
      if (!theirs.complete) mine.complete = false;
      for (const [name, e] of theirs.names) {
        let m = mine.names.get(name);
        if (m === undefined) {
          if (mine.names.size >= this.limits.namesPerScope) {
            mine.complete = false;
            continue;
          }
          m = new Entry();
          mine.names.set(name, m);
          this.nameBytes += name.length;
        }
        this.mergeEntry(m, e);
      }
    }
    for (const k of INDEXED_INTRINSICS) this.mergeEntry(this.intrinsics.get(k)!, other.intrinsics.get(k)!);
  }

  // ── reading ────────────────────────────────────────────────────────────

  /** About what the index holds: bytes of its names and values (what answering from it inspects). */
  get sizeBytes(): number {
    return this.nameBytes + this.valueBytes;
  }

  /** The scope's attribute names, or undefined when there were too many to keep. */
  names(scope: IndexScope): string[] | undefined {
    const sc = this.scopes.get(scope)!;
    return sc.complete ? [...sc.names.keys()] : undefined;
  }

  /** The name's values (scalars only, as the endpoints list them), or undefined when the index cannot tell. */
  values(scope: IndexScope, name: string): IndexedValue[] | undefined {
    const sc = this.scopes.get(scope)!;
    const e = sc.names.get(name);
    if (e === undefined) return sc.complete ? [] : undefined;
    if (e.high) return undefined;
    const out: IndexedValue[] = [];
    for (const v of e.s) out.push({ type: 'string', value: v });
    for (const v of e.i) out.push({ type: 'int', value: v.toString() });
    for (const v of e.f) out.push({ type: 'float', value: String(v) });
    if (e.b & BOOL_FALSE) out.push({ type: 'bool', value: 'false' });
    if (e.b & BOOL_TRUE) out.push({ type: 'bool', value: 'true' });
    return out;
  }

  /** The intrinsic's values (non-empty), or undefined when there were too many to keep. */
  intrinsicValues(key: IndexedIntrinsic): IndexedValue[] | undefined {
    const e = this.intrinsics.get(key)!;
    if (e.high) return undefined;
    const type = key === 'status' || key === 'kind' ? 'keyword' : 'string';
    return [...e.s].map((value) => ({ type, value }));
  }

  /** False only when no span here has the attribute (with that value, when given, or an array that may hold it). */
  mayHave(scope: IndexScope, name: string, value?: ProbeValue): boolean {
    const sc = this.scopes.get(scope)!;
    const e = sc.names.get(name);
    if (e === undefined) return !sc.complete;
    if (value === undefined || e.high || e.arrays) return true;
    switch (value.type) {
      case 'string':
        return e.s.has(value.value);
      case 'bool':
        return (e.b & (value.value ? BOOL_TRUE : BOOL_FALSE)) !== 0;
      case 'number':
        // As the head compares: ints and floats alike, as doubles.
        if (e.f.has(value.value)) return true;
        for (const i of e.i) if (Number(i) === value.value) return true;
        return false;
    }
  }

  /** False only when no span here has this value of the intrinsic (empty strings are not indexed). */
  mayHaveIntrinsic(key: IndexedIntrinsic, value: string): boolean {
    const e = this.intrinsics.get(key)!;
    return e.high || value === '' || e.s.has(value);
  }

  // ── tags.json ──────────────────────────────────────────────────────────

  serialize(): Uint8Array {
    const entry = (e: Entry): SerializedEntry => {
      if (e.high) return { high: true };
      const out: SerializedEntry = {};
      if (e.s.size > 0) out.s = [...e.s].sort();
      if (e.i.size > 0) out.i = [...e.i].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
      if (e.f.size > 0) out.f = [...e.f].sort((a, b) => a - b).map(String);
      if (e.b !== 0) out.b = [...(e.b & BOOL_FALSE ? [false] : []), ...(e.b & BOOL_TRUE ? [true] : [])];
      if (e.arrays) out.a = true;
      return out;
    };
    const doc: SerializedIndex = {
      format: TAG_INDEX_FORMAT,
      limits: this.limits,
      scopes: Object.fromEntries(
        INDEX_SCOPES.map((scope) => {
          const sc = this.scopes.get(scope)!;
          const names = [...sc.names.keys()].sort();
          return [scope, { complete: sc.complete, names: Object.fromEntries(names.map((n) => [n, entry(sc.names.get(n)!)])) }];
        }),
      ) as SerializedIndex['scopes'],
      intrinsics: Object.fromEntries(INDEXED_INTRINSICS.map((k) => [k, entry(this.intrinsics.get(k)!)])) as SerializedIndex['intrinsics'],
    };
    return Buffer.from(JSON.stringify(doc));
  }

  /** Parses a tags.json; throws naming the first problem. */
  static parse(data: Uint8Array): TagIndex {
    const doc = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<SerializedIndex>;
    if (doc.format !== TAG_INDEX_FORMAT) throw new Error(`tags.json: unsupported format ${JSON.stringify(doc.format)} (this Skein reads ${TAG_INDEX_FORMAT})`);
    const limits = { ...DEFAULT_TAG_INDEX_LIMITS, ...(doc.limits ?? {}) };
    const index = new TagIndex(limits);
    const entry = (where: string, raw: SerializedEntry | undefined): Entry => {
      if (typeof raw !== 'object' || raw === null) throw new Error(`tags.json: ${where} must be an object`);
      const e = new Entry();
      if (raw.high === true) {
        e.high = true;
        return e;
      }
      for (const v of raw.s ?? []) e.s.add(String(v));
      for (const v of raw.i ?? []) e.i.add(BigInt(v));
      for (const v of raw.f ?? []) e.f.add(Number(v));
      for (const v of raw.b ?? []) e.b |= v ? BOOL_TRUE : BOOL_FALSE;
      e.arrays = raw.a === true;
      e.count = e.s.size + e.i.size + e.f.size + (raw.b?.length ?? 0);
      for (const v of e.s) e.bytes += v.length;
      e.bytes += 8 * (e.i.size + e.f.size) + (raw.b?.length ?? 0);
      return e;
    };
    for (const scope of INDEX_SCOPES) {
      const raw = doc.scopes?.[scope];
      if (typeof raw !== 'object' || raw === null) throw new Error(`tags.json: scopes.${scope} is missing`);
      const sc = index.scopes.get(scope)!;
      sc.complete = raw.complete === true;
      for (const [name, e] of Object.entries(raw.names ?? {})) {
        const parsed = entry(`scopes.${scope}.names[${JSON.stringify(name)}]`, e);
        sc.names.set(name, parsed);
        index.nameBytes += name.length;
        index.valueBytes += parsed.bytes;
      }
    }
    for (const k of INDEXED_INTRINSICS) {
      const parsed = entry(`intrinsics.${k}`, doc.intrinsics?.[k]);
      index.intrinsics.set(k, parsed);
      index.valueBytes += parsed.bytes;
    }
    return index;
  }

  // ── internals ──────────────────────────────────────────────────────────

  private addIntrinsic(key: IndexedIntrinsic, value: string): void {
    if (value === '') return;
    const e = this.intrinsics.get(key)!;
    if (e.high || value === e.last) return;
    e.last = value;
    if (e.s.has(value)) return;
    if (this.admit(e, value.length)) e.s.add(value);
  }

  private addValue(e: Entry, v: AnyValue): void {
    switch (v.type) {
      case 'string':
        if (!e.s.has(v.value) && this.admit(e, v.value.length)) e.s.add(v.value);
        return;
      case 'int':
        if (!e.i.has(v.value) && this.admit(e, 8)) e.i.add(v.value);
        return;
      case 'double':
        if (!e.f.has(v.value) && this.admit(e, 8)) e.f.add(v.value);
        return;
      case 'bool': {
        const bit = v.value ? BOOL_TRUE : BOOL_FALSE;
        if ((e.b & bit) === 0 && this.admit(e, 1)) e.b |= bit;
        return;
      }
      case 'array':
        // Not listed as values (TraceQL compares a literal with their elements, not with them), but noted.
        e.arrays = true;
        return;
      default:
        // Maps and bytes are not listed as values (TraceQL cannot compare them with a literal).
        return;
    }
  }

  /** Counts one more value into `e`, or makes `e` high-cardinality and returns false. */
  private admit(e: Entry, bytes: number): boolean {
    const l = this.limits;
    if (e.count + 1 > l.valuesPerName || e.bytes + bytes > l.valueBytesPerName || this.valueBytes + bytes > l.totalValueBytes) {
      this.makeHigh(e);
      return false;
    }
    e.count++;
    e.bytes += bytes;
    this.valueBytes += bytes;
    return true;
  }

  private makeHigh(e: Entry): void {
    e.high = true;
    this.valueBytes -= e.bytes;
    e.s = new Set();
    e.i = new Set();
    e.f = new Set();
    e.b = 0;
    e.count = 0;
    e.bytes = 0;
  }

  private mergeEntry(into: Entry, from: Entry): void {
    if (into.high) return;
    if (from.high) return this.makeHigh(into);
    into.arrays ||= from.arrays;
    for (const v of from.s) if (!into.s.has(v) && !this.admitOrStop(into, v.length, () => into.s.add(v))) return;
    for (const v of from.i) if (!into.i.has(v) && !this.admitOrStop(into, 8, () => into.i.add(v))) return;
    for (const v of from.f) if (!into.f.has(v) && !this.admitOrStop(into, 8, () => into.f.add(v))) return;
    for (const bit of [BOOL_FALSE, BOOL_TRUE]) if (from.b & bit && !(into.b & bit) && !this.admitOrStop(into, 1, () => (into.b |= bit))) return;
  }

  private admitOrStop(e: Entry, bytes: number, add: () => unknown): boolean {
    if (!this.admit(e, bytes)) return false;
    add();
    return true;
  }
}

interface SerializedEntry {
  high?: true;
  s?: string[];
  /** Decimal strings: JSON numbers cannot hold 64 bits. */
  i?: string[];
  /** As JavaScript prints them ("NaN" and "Infinity" included). */
  f?: string[];
  b?: boolean[];
  /** Some value was an array (absent in files written before arrays were noted). */
  a?: true;
}

interface SerializedIndex {
  format: typeof TAG_INDEX_FORMAT;
  limits: TagIndexLimits;
  scopes: Record<IndexScope, { complete: boolean; names: Record<string, SerializedEntry> }>;
  intrinsics: Record<IndexedIntrinsic, SerializedEntry>;
}
