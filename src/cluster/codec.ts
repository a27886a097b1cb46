// What peers send each other for a query part (peer-queries.ts asks, the API's
// /api/skein/cluster/ routes answer): a fetch request's data (store/fetch/request.ts, less
// the closures: the answering side makes its own pacer and limit errors from the limits
// sent as data), the answer, and spans.
//
// JSON, with two tags for what JSON lacks: a bigint is {"$n": "<decimal>"} and bytes are
// {"$b": "<base64>"}. No object of these messages has a key starting with `$`, so a tag
// cannot be mistaken for data. Spans travel as OTLP TracesData (the protobuf codec the
// receivers and the WAL use), in a `$b`. Everything read is checked against the shape of
// its type and bounded in size, and a message that is not one is refused naming the field.
import { flattenBatch, groupSpans } from '../otlp/assemble.js';
import type { StoredSpan } from '../otlp/model.js';
import { decodeTracesData, encodeTracesData } from '../otlp/protobuf.js';
import type {
  AggregateFn,
  AttributeScope,
  Condition,
  FetchAggregateRequest,
  FetchField,
  FetchTagNamesRequest,
  FetchTagValuesRequest,
  FetchTracesRequest,
  SpanFilter,
  SpanIntrinsic,
  TagNamesResult,
  TagScope,
  TagTarget,
  TagValue,
  TagValueType,
  TagValuesResult,
  TraceFilter,
} from '../store/fetch/request.js';
import { TAG_INTRINSICS } from '../store/fetch/request.js';
import type { PeerScope } from '../store/fetch/remote.js';
import type { CompareOp, KindValue, StatusValue, Val } from '../store/fetch/values.js';

/** The content type of a peer request's body and of its JSON answers (tagged JSON). */
export const PEER_CONTENT_TYPE = 'application/vnd.skein.peer+json';
/** A fetch request's part (PeerFetch): a traces stream (NDJSON of StreamLine), or a tag answer. */
export const PEER_FETCH_PATH = '/api/skein/cluster/fetch';
/** Trace by ID's part (PeerTraceLookup → PeerTraceAnswer). */
export const PEER_TRACE_PATH = '/api/skein/cluster/trace';

// ── tagged JSON ─────────────────────────────────────────────────────────────

/** `value` as tagged JSON text. */
export function encodeTagged(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    // The holder's own value: a Buffer's toJSON has already turned `v` into {type, data}.
    const raw = this[key];
    if (typeof raw === 'bigint') return { $n: raw.toString() };
    if (raw instanceof Uint8Array) return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    return v;
  });
}

const BIGINT_RE = /^-?\d{1,40}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Tagged JSON text as values; throws CodecError when it is not JSON or a tag is malformed. */
export function decodeTagged(text: string): unknown {
  try {
    return JSON.parse(text, (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const keys = Object.keys(v);
      if (keys.length !== 1) return v;
      const o = v as Record<string, unknown>;
      if (keys[0] === '$n') {
        if (typeof o['$n'] !== 'string' || !BIGINT_RE.test(o['$n'])) throw new CodecError('a bigint tag ($n) holds no decimal integer');
        return BigInt(o['$n']);
      }
      if (keys[0] === '$b') {
        if (typeof o['$b'] !== 'string' || !BASE64_RE.test(o['$b'])) throw new CodecError('a bytes tag ($b) holds no base64');
        return new Uint8Array(Buffer.from(o['$b'], 'base64'));
      }
      return v;
    });
  } catch (err) {
    if (err instanceof CodecError) throw err;
    // JSON.parse's own message (or its stack overflowing on absurd nesting).
    throw new CodecError(`not JSON: ${(err as Error).message}`);
  }
}

/** A message that is not what it should be; `message` names the field. */
export class CodecError extends Error {
  override name = 'CodecError';
}

// ── spans ───────────────────────────────────────────────────────────────────

/** Spans as OTLP TracesData bytes (grouped under their resources and scopes). */
export function encodeSpans(spans: readonly StoredSpan[]): Uint8Array {
  return encodeTracesData(groupSpans(spans));
}

export function decodeSpans(bytes: Uint8Array): StoredSpan[] {
  try {
    return flattenBatch(decodeTracesData(bytes));
  } catch (err) {
    throw new CodecError(`spans: ${(err as Error).message}`);
  }
}

// ── messages ────────────────────────────────────────────────────────────────

/** A fetch request's data: what is left of it without its closures. */
export type FetchData =
  | Omit<FetchTracesRequest, 'pacer' | 'overLimit' | 'keyFloor'>
  | Omit<FetchAggregateRequest, 'pacer' | 'overLimit'>
  | Omit<FetchTagNamesRequest, 'pacer' | 'overLimit'>
  | Omit<FetchTagValuesRequest, 'pacer' | 'overLimit'>;

/** POST /api/skein/cluster/fetch: run `request` in `scope` within `timeoutMs`. */
export interface PeerFetch {
  scope: PeerScope;
  /** How long the asking query has left: the answering side stops then. */
  timeoutMs: number;
  request: FetchData;
}

/** POST /api/skein/cluster/trace: the spans of one trace in `scope`. */
export interface PeerTraceLookup {
  scope: PeerScope;
  traceId: string;
  startUnixSec?: number | undefined;
  endUnixSec?: number | undefined;
}

/** The answer to a PeerTraceLookup. */
export interface PeerTraceAnswer {
  spans: Uint8Array;
  inspectedBytes: number;
}

/**
 * One line of a traces stream (NDJSON): a trace, then at the end the stream's stats, or
 * an error that ended it (`overLimit` when the request's byte limit was reached: the
 * asking side throws its own limit error, as though it had read the bytes itself).
 */
export type StreamLine =
  | { trace: { traceId: string; key: bigint; spans: Uint8Array } }
  | { end: { inspectedBytes: number; inspectedTraces: number } }
  | { error: { message: string; overLimit?: { bytes: number; planned: boolean } | undefined } };

/** Checks that `value` is a PeerFetch. */
export function readPeerFetch(value: unknown): PeerFetch {
  const r = new Reader();
  const o = r.object(value, 'body');
  const kind = r.oneOf(r.object(o['request'], 'request')['kind'], 'request.kind', ['traces', 'aggregate', 'tag-names', 'tag-values'] as const);
  return {
    scope: r.oneOf(o['scope'], 'scope', PEER_SCOPES),
    timeoutMs: r.int(o['timeoutMs'], 'timeoutMs', 1, MAX_TIMEOUT_MS),
    request: r.request(o['request'], kind),
  };
}

export function readPeerTraceLookup(value: unknown): PeerTraceLookup {
  const r = new Reader();
  const o = r.object(value, 'body');
  const traceId = r.string(o['traceId'], 'traceId', 32);
  if (!/^[0-9a-fA-F]{1,32}$/.test(traceId)) throw new CodecError('traceId: expected up to 32 hex digits');
  return {
    scope: r.oneOf(o['scope'], 'scope', PEER_SCOPES),
    traceId,
    startUnixSec: r.optional(o['startUnixSec'], (v) => r.int(v, 'startUnixSec', 0, MAX_UNIX_SEC)),
    endUnixSec: r.optional(o['endUnixSec'], (v) => r.int(v, 'endUnixSec', 0, MAX_UNIX_SEC)),
  };
}

export function readPeerTraceAnswer(value: unknown): PeerTraceAnswer {
  const r = new Reader();
  const o = r.object(value, 'answer');
  return { spans: r.bytes(o['spans'], 'spans'), inspectedBytes: r.int(o['inspectedBytes'], 'inspectedBytes', 0, Number.MAX_SAFE_INTEGER) };
}

export function readStreamLine(value: unknown): StreamLine {
  const r = new Reader();
  const o = r.object(value, 'line');
  if (o['trace'] !== undefined) {
    const t = r.object(o['trace'], 'trace');
    return { trace: { traceId: r.traceId(t['traceId'], 'trace.traceId'), key: r.bigint(t['key'], 'trace.key'), spans: r.bytes(t['spans'], 'trace.spans') } };
  }
  if (o['end'] !== undefined) {
    const e = r.object(o['end'], 'end');
    return { end: { inspectedBytes: r.int(e['inspectedBytes'], 'end.inspectedBytes', 0, Number.MAX_SAFE_INTEGER), inspectedTraces: r.int(e['inspectedTraces'], 'end.inspectedTraces', 0, Number.MAX_SAFE_INTEGER) } };
  }
  const e = r.object(o['error'], 'error');
  const over = r.optional(e['overLimit'], (v) => {
    const l = r.object(v, 'error.overLimit');
    return { bytes: r.int(l['bytes'], 'error.overLimit.bytes', 0, Number.MAX_SAFE_INTEGER), planned: r.bool(l['planned'], 'error.overLimit.planned') };
  });
  return { error: { message: r.string(e['message'], 'error.message', MAX_STRING), ...(over && { overLimit: over }) } };
}

export function readTagNamesResult(value: unknown): TagNamesResult {
  const r = new Reader();
  const o = r.object(value, 'answer');
  return {
    scopes: r.array(o['scopes'], 'scopes', TAG_SCOPES.length, (s, at) => {
      const so = r.object(s, at);
      return { name: r.oneOf(so['name'], `${at}.name`, TAG_SCOPES), tags: r.array(so['tags'], `${at}.tags`, MAX_ANSWER_ITEMS, (t, p) => r.string(t, p, MAX_STRING)) };
    }),
    truncated: r.bool(o['truncated'], 'truncated'),
    inspectedBytes: r.int(o['inspectedBytes'], 'inspectedBytes', 0, Number.MAX_SAFE_INTEGER),
    totalBlocks: r.int(o['totalBlocks'], 'totalBlocks', 0, Number.MAX_SAFE_INTEGER),
  };
}

export function readTagValuesResult(value: unknown): TagValuesResult {
  const r = new Reader();
  const o = r.object(value, 'answer');
  return {
    values: r.array(o['values'], 'values', MAX_ANSWER_ITEMS, (v, at): TagValue => {
      const vo = r.object(v, at);
      return { type: r.oneOf(vo['type'], `${at}.type`, TAG_VALUE_TYPES), value: r.string(vo['value'], `${at}.value`, MAX_STRING) };
    }),
    truncated: r.bool(o['truncated'], 'truncated'),
    inspectedBytes: r.int(o['inspectedBytes'], 'inspectedBytes', 0, Number.MAX_SAFE_INTEGER),
    totalBlocks: r.int(o['totalBlocks'], 'totalBlocks', 0, Number.MAX_SAFE_INTEGER),
  };
}

// ── bounds and the words of each type ───────────────────────────────────────

/** As a TraceQL query is bounded (query/traceql/parser.ts): its text, and how deep its tree. */
const MAX_STRING = 64 * 1024;
const MAX_DEPTH = 1000;
/** Filter nodes, conditions and values in one request, all told. */
const MAX_NODES = 100_000;
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
const MAX_UNIX_SEC = 1e12;
const MAX_LIMIT = 10_000_000;
/** Names or values in one tag answer (query.max_tag_values is far below). */
const MAX_ANSWER_ITEMS = 10_000_000;

const PEER_SCOPES = ['head', 'recent'] as const satisfies readonly PeerScope[];
const SPAN_INTRINSICS = [
  'name',
  'status',
  'statusMessage',
  'kind',
  'duration',
  'instrumentation:name',
  'instrumentation:version',
  'event:name',
] as const satisfies readonly SpanIntrinsic[];
const ATTRIBUTE_SCOPES = ['span', 'resource', 'none', 'instrumentation'] as const satisfies readonly AttributeScope[];
const COMPARE_OPS = ['=', '!=', '<', '<=', '>', '>=', '=~', '!~'] as const satisfies readonly CompareOp[];
const AGGREGATE_FNS = ['count', 'avg', 'min', 'max', 'sum'] as const satisfies readonly AggregateFn[];
const STATUS_VALUES = ['error', 'ok', 'unset'] as const satisfies readonly StatusValue[];
const KIND_VALUES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const satisfies readonly KindValue[];
const TAG_SCOPES = ['span', 'resource', 'event', 'link', 'instrumentation'] as const satisfies readonly TagScope[];
const TAG_VALUE_TYPES = ['string', 'int', 'float', 'bool', 'duration', 'keyword'] as const satisfies readonly TagValueType[];
// Each list names every word of its type: a word added to a type and not here fails to compile.
type Missing<T, L extends readonly unknown[]> = Exclude<T, L[number]>;
const complete: [
  Missing<SpanIntrinsic, typeof SPAN_INTRINSICS>,
  Missing<AttributeScope, typeof ATTRIBUTE_SCOPES>,
  Missing<CompareOp, typeof COMPARE_OPS>,
  Missing<AggregateFn, typeof AGGREGATE_FNS>,
  Missing<StatusValue, typeof STATUS_VALUES>,
  Missing<KindValue, typeof KIND_VALUES>,
  Missing<TagScope, typeof TAG_SCOPES>,
  Missing<TagValueType, typeof TAG_VALUE_TYPES>,
] extends never[] ? true : false = true;
void complete;

/** Reads one message, counting its nodes against MAX_NODES. */
class Reader {
  private nodes = 0;

  object(v: unknown, at: string): Record<string, unknown> {
    this.count(at);
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new CodecError(`${at}: expected an object`);
    return v as Record<string, unknown>;
  }

  array<T>(v: unknown, at: string, max: number, item: (v: unknown, at: string) => T): T[] {
    if (!Array.isArray(v)) throw new CodecError(`${at}: expected an array`);
    if (v.length > max) throw new CodecError(`${at}: ${v.length} items, at most ${max} accepted`);
    return v.map((x, i) => item(x, `${at}[${i}]`));
  }

  string(v: unknown, at: string, max: number): string {
    if (typeof v !== 'string') throw new CodecError(`${at}: expected a string`);
    if (v.length > max) throw new CodecError(`${at}: ${v.length} characters, at most ${max} accepted`);
    return v;
  }

  bool(v: unknown, at: string): boolean {
    if (typeof v !== 'boolean') throw new CodecError(`${at}: expected true or false`);
    return v;
  }

  int(v: unknown, at: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new CodecError(`${at}: expected an integer from ${min} to ${max}`);
    return v;
  }

  float(v: unknown, at: string): number {
    // JSON has no NaN nor infinities: they arrive as null, and a comparison with them matches nothing anyway.
    if (v === null) return NaN;
    if (typeof v !== 'number') throw new CodecError(`${at}: expected a number`);
    return v;
  }

  bigint(v: unknown, at: string): bigint {
    if (typeof v !== 'bigint') throw new CodecError(`${at}: expected a bigint ({"$n": "…"})`);
    return v;
  }

  bytes(v: unknown, at: string): Uint8Array {
    if (!(v instanceof Uint8Array)) throw new CodecError(`${at}: expected bytes ({"$b": "…"})`);
    return v;
  }

  traceId(v: unknown, at: string): string {
    const s = this.string(v, at, 32);
    if (!/^[0-9a-f]{1,32}$/.test(s)) throw new CodecError(`${at}: expected up to 32 lowercase hex digits`);
    return s;
  }

  oneOf<const W extends string>(v: unknown, at: string, words: readonly W[]): W {
    if (typeof v !== 'string' || !(words as readonly string[]).includes(v)) throw new CodecError(`${at}: expected one of ${words.join(', ')}`);
    return v as W;
  }

  optional<T>(v: unknown, read: (v: unknown) => T): T | undefined {
    return v === undefined || v === null ? undefined : read(v);
  }

  request(v: unknown, kind: FetchData['kind']): FetchData {
    const o = this.object(v, 'request');
    const limits = { maxBytesInspected: this.int(o['maxBytesInspected'], 'request.maxBytesInspected', 0, Number.MAX_SAFE_INTEGER) };
    const range = {
      startUnixNano: this.optional(o['startUnixNano'], (x) => this.bigint(x, 'request.startUnixNano')),
      endUnixNano: this.optional(o['endUnixNano'], (x) => this.bigint(x, 'request.endUnixNano')),
    };
    switch (kind) {
      case 'traces':
        return {
          kind,
          ...range,
          ...limits,
          conditions: this.conditions(o['conditions']),
          allConditions: this.bool(o['allConditions'], 'request.allConditions'),
          filter: o['filter'] === null ? null : this.traceFilter(o['filter'], 'request.filter', 0),
          minTraceDurationNano: this.optional(o['minTraceDurationNano'], (x) => this.bigint(x, 'request.minTraceDurationNano')),
          maxTraceDurationNano: this.optional(o['maxTraceDurationNano'], (x) => this.bigint(x, 'request.maxTraceDurationNano')),
          secondPass: this.oneOf(o['secondPass'], 'request.secondPass', ['span-fields', 'attributes', 'all'] as const),
          limit: this.int(o['limit'], 'request.limit', 1, MAX_LIMIT),
          order: this.oneOf(o['order'], 'request.order', ['most-recent-first', 'none'] as const),
        };
      case 'aggregate': {
        const step = this.bigint(o['stepNano'], 'request.stepNano');
        if (step <= 0n) throw new CodecError('request.stepNano: expected a positive step');
        return {
          kind,
          ...limits,
          afterUnixNano: this.bigint(o['afterUnixNano'], 'request.afterUnixNano'),
          atOrBeforeUnixNano: this.bigint(o['atOrBeforeUnixNano'], 'request.atOrBeforeUnixNano'),
          stepNano: step,
          filter: o['filter'] === null ? null : this.spanFilter(o['filter'], 'request.filter', 0),
          by: this.array(o['by'], 'request.by', 64, (f, at) => this.field(f, at)),
          value: o['value'] === null ? null : this.field(o['value'], 'request.value'),
          buckets: this.bool(o['buckets'], 'request.buckets'),
          exemplars: this.bool(o['exemplars'], 'request.exemplars'),
        };
      }
      case 'tag-names':
        return {
          kind,
          ...range,
          ...limits,
          scopes: this.array(o['scopes'], 'request.scopes', TAG_SCOPES.length, (s, at) => this.oneOf(s, at, TAG_SCOPES)),
          conditions: this.conditions(o['conditions']),
          limit: this.int(o['limit'], 'request.limit', 0, MAX_LIMIT),
          maxBytes: this.int(o['maxBytes'], 'request.maxBytes', 0, Number.MAX_SAFE_INTEGER),
        };
      case 'tag-values':
        return {
          kind,
          ...range,
          ...limits,
          target: this.tagTarget(o['target']),
          conditions: this.conditions(o['conditions']),
          limit: this.int(o['limit'], 'request.limit', 0, MAX_LIMIT),
          maxBytes: this.int(o['maxBytes'], 'request.maxBytes', 0, Number.MAX_SAFE_INTEGER),
        };
    }
  }

  private conditions(v: unknown): Condition[] {
    return this.array(v, 'request.conditions', MAX_NODES, (c, at) => this.condition(c, at));
  }

  private condition(v: unknown, at: string): Condition {
    const o = this.object(v, at);
    return { field: this.field(o['field'], `${at}.field`), op: this.oneOf(o['op'], `${at}.op`, COMPARE_OPS), value: this.val(o['value'], `${at}.value`, 0) };
  }

  private field(v: unknown, at: string): FetchField {
    const o = this.object(v, at);
    if (o['type'] === 'intrinsic') return { type: 'intrinsic', name: this.oneOf(o['name'], `${at}.name`, SPAN_INTRINSICS) };
    if (o['type'] === 'attribute') {
      return { type: 'attribute', scope: this.oneOf(o['scope'], `${at}.scope`, ATTRIBUTE_SCOPES), name: this.string(o['name'], `${at}.name`, MAX_STRING) };
    }
    throw new CodecError(`${at}.type: expected intrinsic or attribute`);
  }

  private val(v: unknown, at: string, depth: number): Val {
    if (depth > MAX_DEPTH) throw new CodecError(`${at}: nested deeper than ${MAX_DEPTH}`);
    const o = this.object(v, at);
    const t = o['t'];
    switch (t) {
      case 'string':
        return { t, v: this.string(o['v'], `${at}.v`, MAX_STRING) };
      case 'int':
      case 'duration':
        return { t, v: this.bigint(o['v'], `${at}.v`) };
      case 'float':
        return { t, v: this.float(o['v'], `${at}.v`) };
      case 'bool':
        return { t, v: this.bool(o['v'], `${at}.v`) };
      case 'status':
        return { t, v: this.oneOf(o['v'], `${at}.v`, STATUS_VALUES) };
      case 'kind':
        return { t, v: this.oneOf(o['v'], `${at}.v`, KIND_VALUES) };
      case 'array':
        return { t, v: this.array(o['v'], `${at}.v`, MAX_NODES, (x, p) => this.val(x, p, depth + 1)) };
      case 'opaque':
      case 'nil':
        return { t };
      default:
        throw new CodecError(`${at}.t: not a value type`);
    }
  }

  private spanFilter(v: unknown, at: string, depth: number): SpanFilter {
    if (depth > MAX_DEPTH) throw new CodecError(`${at}: nested deeper than ${MAX_DEPTH}`);
    const o = this.object(v, at);
    if (o['type'] === 'condition') return { type: 'condition', condition: this.condition(o['condition'], `${at}.condition`) };
    const type = this.oneOf(o['type'], `${at}.type`, ['and', 'or'] as const);
    return { type, args: this.array(o['args'], `${at}.args`, MAX_NODES, (a, p) => this.spanFilter(a, p, depth + 1)) };
  }

  private traceFilter(v: unknown, at: string, depth: number): TraceFilter {
    if (depth > MAX_DEPTH) throw new CodecError(`${at}: nested deeper than ${MAX_DEPTH}`);
    const o = this.object(v, at);
    const filter = (): SpanFilter | null => (o['filter'] === null ? null : this.spanFilter(o['filter'], `${at}.filter`, depth + 1));
    switch (o['type']) {
      case 'some':
        return { type: 'some', filter: filter() };
      case 'aggregate':
        return {
          type: 'aggregate',
          filter: filter(),
          fn: this.oneOf(o['fn'], `${at}.fn`, AGGREGATE_FNS),
          field: o['field'] === null ? null : this.field(o['field'], `${at}.field`),
          op: this.oneOf(o['op'], `${at}.op`, COMPARE_OPS),
          value: this.val(o['value'], `${at}.value`, 0),
        };
      default: {
        const type = this.oneOf(o['type'], `${at}.type`, ['and', 'or'] as const);
        return { type, args: this.array(o['args'], `${at}.args`, MAX_NODES, (a, p) => this.traceFilter(a, p, depth + 1)) };
      }
    }
  }

  private tagTarget(v: unknown): TagTarget {
    const at = 'request.target';
    const o = this.object(v, at);
    switch (o['type']) {
      case 'attribute':
        return { type: 'attribute', scope: this.oneOf(o['scope'], `${at}.scope`, [...TAG_SCOPES, 'none'] as const), name: this.string(o['name'], `${at}.name`, MAX_STRING) };
      case 'legacy':
        return { type: 'legacy', name: this.string(o['name'], `${at}.name`, MAX_STRING) };
      case 'intrinsic':
        return { type: 'intrinsic', name: this.oneOf(o['name'], `${at}.name`, TAG_INTRINSICS) };
      default:
        throw new CodecError(`${at}.type: expected attribute, legacy or intrinsic`);
    }
  }

  private count(at: string): void {
    if (++this.nodes > MAX_NODES) throw new CodecError(`${at}: the message holds more than ${MAX_NODES} objects`);
  }
}
