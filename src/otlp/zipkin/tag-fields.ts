// Span fields that Zipkin carries in tags. Each `take…` reads its tags and
// removes them from the map, so that what remains becomes span attributes.
import { SpanKind, StatusCode, type AnyValue, type KeyValue, type SpanLink, type Status } from '../model.js';
import { MAX_ENCODED_LINKS, TAG } from './conventions.js';
import { decodeLinkTag } from './encoded.js';
import type { ZipkinKind } from './span.js';

type Tags = Map<string, string>;

const KIND_BY_ZIPKIN_KIND: Record<ZipkinKind, SpanKind> = {
  CLIENT: SpanKind.CLIENT,
  SERVER: SpanKind.SERVER,
  PRODUCER: SpanKind.PRODUCER,
  CONSUMER: SpanKind.CONSUMER,
};

/** OpenTracing's span.kind values. */
const KIND_BY_TAG = new Map<string, SpanKind>([
  ['internal', SpanKind.INTERNAL],
  ['client', SpanKind.CLIENT],
  ['server', SpanKind.SERVER],
  ['producer', SpanKind.PRODUCER],
  ['consumer', SpanKind.CONSUMER],
]);

/**
 * A span without a Zipkin kind is local; the collector maps it to
 * UNSPECIFIED, not INTERNAL, unless a span.kind tag says which it is (an
 * OTLP→Zipkin exporter writes internal spans without a kind).
 */
export function takeKind(kind: ZipkinKind | undefined, tags: Tags): SpanKind {
  if (kind !== undefined) return KIND_BY_ZIPKIN_KIND[kind];
  const hint = tags.get(TAG.spanKind);
  const fromTag = hint === undefined ? undefined : KIND_BY_TAG.get(hint.toLowerCase());
  if (fromTag === undefined) return SpanKind.UNSPECIFIED;
  tags.delete(TAG.spanKind);
  return fromTag;
}

const STATUS_BY_NAME = new Map<string, StatusCode>([
  ['unset', StatusCode.UNSET],
  ['ok', StatusCode.OK],
  ['error', StatusCode.ERROR],
]);

/** `error` values that only flag the failure, rather than describe it. */
const ERROR_FLAGS = new Set(['', 'true', 'false']);

/**
 * otel.status_code may be `STATUS_CODE_ERROR` (the collector), `ERROR`
 * (OpenTelemetry JS) or `Error` (older collectors): case and prefix are
 * ignored. Zipkin's own `error` tag means failed whatever its value; when
 * it is a message, as exporters write the status description, it becomes
 * the status message rather than an attribute.
 */
export function takeStatus(tags: Tags): Status {
  const status: Status = { code: StatusCode.UNSET, message: '' };
  const codeTag = tags.get(TAG.statusCode);
  const code = codeTag === undefined ? undefined : STATUS_BY_NAME.get(codeTag.toLowerCase().replace(/^status_code_/, ''));
  if (code !== undefined) {
    status.code = code;
    tags.delete(TAG.statusCode);
    const description = tags.get(TAG.statusDescription);
    if (description !== undefined) {
      status.message = description;
      tags.delete(TAG.statusDescription);
    }
  }
  const error = tags.get(TAG.error);
  if (error !== undefined) {
    status.code = StatusCode.ERROR;
    tags.delete(TAG.error);
    if (status.message === '' && !ERROR_FLAGS.has(error.toLowerCase())) status.message = error;
  }
  return status;
}

export function takeTraceState(tags: Tags): string {
  const state = tags.get(TAG.traceState) ?? '';
  tags.delete(TAG.traceState);
  return state;
}

/** otlp.link.0, otlp.link.1, … up to the first missing index, as the collector reads them. */
export function takeLinks(tags: Tags): SpanLink[] {
  const links: SpanLink[] = [];
  for (let i = 0; i < MAX_ENCODED_LINKS; i++) {
    const key = `${TAG.linkPrefix}${i}`;
    const value = tags.get(key);
    if (value === undefined) break;
    const link = decodeLinkTag(value);
    if (link === undefined) continue;
    links.push(link);
    tags.delete(key);
  }
  return links;
}

const COUNT_RE = /^\d{1,10}$/;

/** One of the otel.dropped_*_count tags OTLP→Zipkin exporters write (0 if absent or not a count). */
export function takeDroppedCount(tags: Tags, key: string): number {
  const value = tags.get(key);
  if (value === undefined || !COUNT_RE.test(value) || Number(value) > 0xffffffff) return 0;
  tags.delete(key);
  return Number(value);
}

const INT_RE = /^-?\d+$/;
const DOUBLE_RE = /^-?\d+\.\d+$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * The remaining tags as attributes: strings, or with `parseStringTags` typed
 * by the collector's rules (`-?\d+` int, `-?\d+\.\d+` double, `true`/`false`
 * bool). An integer past 64 bits stays a string rather than being clamped.
 */
export function tagAttributes(tags: Tags, parseStringTags: boolean): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, value] of tags) out.push({ key, value: parseStringTags ? inferValue(value) : { type: 'string', value } });
  return out;
}

function inferValue(value: string): AnyValue {
  if (INT_RE.test(value)) {
    const n = BigInt(value);
    if (n >= INT64_MIN && n <= INT64_MAX) return { type: 'int', value: n };
  } else if (DOUBLE_RE.test(value)) {
    return { type: 'double', value: Number(value) };
  } else if (value === 'true' || value === 'false') {
    return { type: 'bool', value: value === 'true' };
  }
  return { type: 'string', value };
}
