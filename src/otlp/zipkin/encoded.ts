// The collector's Zipkin exporter packs what Zipkin has no field for into
// strings: an event with attributes becomes the annotation
// `name|{"key":value,…}|droppedAttributesCount`, and a link becomes the tag
// `otlp.link.N` = `traceId|spanId|traceState|{attributes}|droppedAttributesCount`.
// These read them back. A value that does not parse is not an error (the
// collector would refuse the whole request): an annotation is then just its
// text, and a link tag stays an attribute, so nothing is lost.
import type { KeyValue, SpanLink } from '../model.js';
import { hexId } from './ids.js';

export interface EncodedEvent {
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export function decodeAnnotationValue(value: string): EncodedEvent {
  const parts = value.split('|');
  if (parts.length >= 3) {
    // The attributes' JSON may itself hold '|': everything between the first and last part.
    const attributes = jsonAttributes(parts.slice(1, -1).join('|'));
    const dropped = count(parts[parts.length - 1]!);
    if (attributes !== undefined && dropped !== undefined) return { name: parts[0]!, attributes, droppedAttributesCount: dropped };
  }
  return { name: value, attributes: [], droppedAttributesCount: 0 };
}

export function decodeLinkTag(value: string): SpanLink | undefined {
  const parts = value.split('|');
  if (parts.length < 5) return undefined;
  const traceId = unquote(parts[0]!);
  const spanId = unquote(parts[1]!);
  const traceIdBytes = traceId.length === 32 ? hexId(traceId, 16) : undefined;
  const spanIdBytes = spanId.length === 16 ? hexId(spanId, 8) : undefined;
  const attributes = jsonAttributes(parts.slice(3, -1).join('|'));
  const dropped = count(parts[parts.length - 1]!);
  if (!traceIdBytes || !spanIdBytes || attributes === undefined || dropped === undefined) return undefined;
  return { traceId: traceIdBytes, spanId: spanIdBytes, traceState: parts[2]!, attributes, droppedAttributesCount: dropped, flags: 0 };
}

/** IDs may arrive JSON-quoted (the collector accepts both). */
function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

const COUNT_RE = /^\d{1,10}$/;

function count(s: string): number | undefined {
  if (!COUNT_RE.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/**
 * A JSON object's members as attributes, typed as the collector types them:
 * strings, booleans, whole numbers as int, others as double. Nested values
 * and nulls have no attribute form there and are left out.
 */
function jsonAttributes(text: string): KeyValue[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(parsed)) {
    if (typeof v === 'string') out.push({ key, value: { type: 'string', value: v } });
    else if (typeof v === 'boolean') out.push({ key, value: { type: 'bool', value: v } });
    else if (typeof v === 'number') {
      out.push({ key, value: Number.isSafeInteger(v) ? { type: 'int', value: BigInt(v) } : { type: 'double', value: v } });
    }
  }
  return out;
}
