// Zipkin v2 JSON (zipkin2-api.yaml, `POST /api/v2/spans`): an array of spans
// with hex IDs, times in epoch microseconds and string-valued tags. Read as
// strictly as zipkin-go reads it for the collector; every error names the JSON
// path of the offending value, e.g. `[3].traceId: expected 16 or 32 hex characters`.
import { isIPv4, isIPv6 } from 'node:net';
import { OtlpDecodeError } from '../wire.js';
import { parseJsonBody } from '../json.js';
import { hexId, isZeroId } from './ids.js';
import { ZIPKIN_KINDS, type ZipkinAnnotation, type ZipkinEndpoint, type ZipkinKind, type ZipkinSpan } from './span.js';

type JsonObject = Record<string, unknown>;

const NO_BYTES: Uint8Array = new Uint8Array(0);

export function parseZipkinJson(body: string | Uint8Array): ZipkinSpan[] {
  const root = parseJsonBody(body);
  if (!Array.isArray(root)) throw new OtlpDecodeError(`expected a JSON array of Zipkin v2 spans, got ${describe(root)}`);
  return root.map((v, i) => readSpan(v, `[${i}]`));
}

function readSpan(v: unknown, at: string): ZipkinSpan {
  const o = object(v, at);
  const trace = traceId(o['traceId'], `${at}.traceId`);
  const spanId = id(o['id'], `${at}.id`);
  const parent = optionalString(o, 'parentId', at);
  let parentId = NO_BYTES;
  if (parent !== undefined && parent !== '') {
    parentId = id(parent, `${at}.parentId`);
    // An all-zero parent is how some tracers write "no parent".
    if (isZeroId(parentId)) parentId = NO_BYTES;
  }
  const start = micros(o, 'timestamp', at);
  return {
    traceId: trace,
    id: spanId,
    parentId,
    name: optionalString(o, 'name', at) ?? '',
    kind: kind(o, at),
    startUnixNano: start === 0n ? undefined : start,
    durationNano: micros(o, 'duration', at) ?? 0n,
    localEndpoint: endpoint(o, 'localEndpoint', at),
    remoteEndpoint: endpoint(o, 'remoteEndpoint', at),
    annotations: annotations(o, at),
    tags: tags(o, at),
    debug: optionalBool(o, 'debug', at) ?? false,
    shared: optionalBool(o, 'shared', at) ?? false,
  };
}

function traceId(v: unknown, path: string): Uint8Array {
  const bytes = typeof v === 'string' && (v.length === 16 || v.length === 32) ? hexId(v, 16) : undefined;
  if (!bytes) throw new OtlpDecodeError(`${path}: expected 16 or 32 hex characters, got ${describe(v)}`);
  return bytes;
}

function id(v: unknown, path: string): Uint8Array {
  const bytes = typeof v === 'string' && v.length === 16 ? hexId(v, 8) : undefined;
  if (!bytes) throw new OtlpDecodeError(`${path}: expected 16 hex characters, got ${describe(v)}`);
  return bytes;
}

function kind(o: JsonObject, at: string): ZipkinKind | undefined {
  const k = optionalString(o, 'kind', at)?.toUpperCase();
  // An unknown kind reads as none, as in zipkin-go: the span is then local.
  return k !== undefined && ZIPKIN_KINDS.has(k) ? (k as ZipkinKind) : undefined;
}

function endpoint(o: JsonObject, key: string, at: string): ZipkinEndpoint | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const path = `${at}.${key}`;
  const e = object(v, path);
  const ipv4 = optionalString(e, 'ipv4', path) ?? '';
  if (ipv4 !== '' && !isIPv4(ipv4)) throw new OtlpDecodeError(`${path}.ipv4: expected an IPv4 address, got ${describe(ipv4)}`);
  const ipv6 = optionalString(e, 'ipv6', path) ?? '';
  if (ipv6 !== '' && !isIPv6(ipv6)) throw new OtlpDecodeError(`${path}.ipv6: expected an IPv6 address, got ${describe(ipv6)}`);
  const port = e['port'] ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OtlpDecodeError(`${path}.port: expected a port number (0–65535), got ${describe(port)}`);
  }
  return { serviceName: optionalString(e, 'serviceName', path) ?? '', ipv4, ipv6, port };
}

function annotations(o: JsonObject, at: string): ZipkinAnnotation[] {
  const v = o['annotations'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${at}.annotations: expected an array, got ${describe(v)}`);
  return v.map((a, i) => {
    const path = `${at}.annotations[${i}]`;
    const ao = object(a, path);
    const time = micros(ao, 'timestamp', path);
    // zipkin-go refuses an annotation without a time: it could not be placed on the timeline.
    if (time === undefined || time === 0n) throw new OtlpDecodeError(`${path}.timestamp: required (epoch microseconds)`);
    const value = ao['value'];
    if (typeof value !== 'string') throw new OtlpDecodeError(`${path}.value: expected a string, got ${describe(value)}`);
    return { timeUnixNano: time, value };
  });
}

function tags(o: JsonObject, at: string): Map<string, string> {
  const out = new Map<string, string>();
  const v = o['tags'];
  if (v === undefined || v === null) return out;
  const t = object(v, `${at}.tags`);
  for (const [key, value] of Object.entries(t)) {
    // Zipkin tags are strings only; a number here is a client bug worth reporting.
    if (typeof value !== 'string') throw new OtlpDecodeError(`${at}.tags[${JSON.stringify(key)}]: expected a string, got ${describe(value)}`);
    out.set(key, value);
  }
  return out;
}

/** Largest epoch-microseconds value read exactly (the year 2255). */
const MAX_MICROS = Number.MAX_SAFE_INTEGER;

/**
 * Epoch microseconds as nanoseconds. Fractions are kept to the nanosecond:
 * OpenTelemetry JS's Zipkin exporter sends start times with a fractional part.
 */
function micros(o: JsonObject, key: string, at: string): bigint | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_MICROS) {
    throw new OtlpDecodeError(`${at}.${key}: expected a non-negative number of microseconds, got ${describe(v)}`);
  }
  const whole = Math.trunc(v);
  return BigInt(whole) * 1000n + BigInt(Math.round((v - whole) * 1000));
}

function object(v: unknown, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OtlpDecodeError(`${path}: expected an object, got ${describe(v)}`);
  return v as JsonObject;
}

function optionalString(o: JsonObject, key: string, at: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new OtlpDecodeError(`${at}.${key}: expected a string, got ${describe(v)}`);
  return v;
}

function optionalBool(o: JsonObject, key: string, at: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new OtlpDecodeError(`${at}.${key}: expected true or false, got ${describe(v)}`);
  return v;
}

/** What a value was, for an error message: short strings quoted, else the JSON type. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}
