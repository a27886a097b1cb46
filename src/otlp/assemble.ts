// Converts between OTLP batches (spans nested under their resource and scope)
// and flat StoredSpans (each span carrying its resource and scope), the unit
// the store keeps and the query path gathers from several sources.
import { toHex, type InstrumentationScope, type Resource, type ResourceSpans, type ScopeSpans, type StoredSpan } from './model.js';
import { encodeResourceMessage, encodeScopeMessage, spanMessageSize } from './trace-encode.js';

export function flattenBatch(batch: readonly ResourceSpans[]): StoredSpan[] {
  const out: StoredSpan[] = [];
  for (const rs of batch) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        out.push({ resource: rs.resource, resourceSchemaUrl: rs.schemaUrl, scope: ss.scope, scopeSchemaUrl: ss.schemaUrl, span });
      }
    }
  }
  return out;
}

// Identity of a resource or scope is its value; its canonical encoding is a
// cheap exact key. Spans from one source share resource objects, so the key is
// cached per object.
const resourceKeys = new WeakMap<Resource, string>();
const scopeKeys = new WeakMap<InstrumentationScope, string>();

function bytesKey(bytes: Uint8Array): string {
  // latin1 maps each byte to one char: an exact, compact key.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function resourceKey(r: Resource): string {
  let key = resourceKeys.get(r);
  if (key === undefined) {
    key = bytesKey(encodeResourceMessage(r));
    resourceKeys.set(r, key);
  }
  return key;
}

function scopeKey(s: InstrumentationScope): string {
  let key = scopeKeys.get(s);
  if (key === undefined) {
    key = bytesKey(encodeScopeMessage(s));
    scopeKeys.set(s, key);
  }
  return key;
}

/** The schema URL is length-prefixed so that no URL and encoding pair can collide with another. */
function groupKey(schemaUrl: string, valueKey: string): string {
  return `${schemaUrl.length}:${schemaUrl}${valueKey}`;
}

interface ResourceGroup {
  rs: ResourceSpans;
  scopes: Map<string, ScopeSpans>;
}

/**
 * The inverse of flattenBatch: spans with equal resources (and schema URLs)
 * share one ResourceSpans, and under it spans with equal scopes share one
 * ScopeSpans. Groups come in order of first appearance; spans within a
 * ScopeSpans are sorted by start time, then span ID.
 */
export function groupSpans(spans: readonly StoredSpan[]): ResourceSpans[] {
  const groups = new Map<string, ResourceGroup>();
  const out: ResourceSpans[] = [];
  for (const s of spans) {
    const rKey = groupKey(s.resourceSchemaUrl, resourceKey(s.resource));
    let group = groups.get(rKey);
    if (!group) {
      group = { rs: { resource: s.resource, schemaUrl: s.resourceSchemaUrl, scopeSpans: [] }, scopes: new Map() };
      groups.set(rKey, group);
      out.push(group.rs);
    }
    const sKey = groupKey(s.scopeSchemaUrl, scopeKey(s.scope));
    let ss = group.scopes.get(sKey);
    if (!ss) {
      ss = { scope: s.scope, schemaUrl: s.scopeSchemaUrl, spans: [] };
      group.scopes.set(sKey, ss);
      group.rs.scopeSpans.push(ss);
    }
    ss.spans.push(s.span);
  }
  for (const rs of out) {
    for (const ss of rs.scopeSpans) {
      ss.spans.sort((a, b) =>
        a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : compareBytes(a.spanId, b.spanId),
      );
    }
  }
  return out;
}

/** Byte order, which is also the order of the lowercase hex of equal-length IDs. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** Keeps the first span of each span ID (a span can reach the store twice, e.g. on a client retry). */
export function dedupeSpans(spans: readonly StoredSpan[]): StoredSpan[] {
  const seen = new Set<string>();
  const out: StoredSpan[] = [];
  for (const s of spans) {
    const id = toHex(s.span.spanId);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(s);
  }
  return out;
}

/** Encoded size of the span's protobuf message (what Tempo's max-bytes-per-trace limit counts). */
export function spanSizeBytes(s: StoredSpan): number {
  return spanMessageSize(s.span);
}
