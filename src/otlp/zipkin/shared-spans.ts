// Zipkin's B3 lets a server report its half of an RPC under the client span's
// ID, marked `shared`. OTLP needs one ID per span, and Skein keeps one span per
// ID (it de-duplicates by span ID), so the server half would be lost. As
// Jaeger's span-ID deduper does, the server half gets an ID of its own and
// becomes the client span's child; the server's own child spans in the same
// request, whose parent is the shared ID, move under it. The new ID is derived
// from the shared one, so a retried request maps to the same ID.
//
// The collector's translator ignores `shared`; this is where Skein differs.
import { createHash } from 'node:crypto';
import { sameBytes, toHex } from '../model.js';
import type { ZipkinSpan } from './span.js';

const NO_BYTES: Uint8Array = new Uint8Array(0);

export interface SpanIds {
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
}

/** The OTLP span ID and parent of each span of a request. */
export function spanIdsFor(spans: readonly ZipkinSpan[]): (z: ZipkinSpan) => SpanIds {
  const ownIds = new Map<string, Uint8Array>();
  for (const z of spans) if (z.shared) ownIds.set(sharedKey(z, z.id), ownIdOf(z));
  return (z) => {
    if (z.shared) return { spanId: ownIds.get(sharedKey(z, z.id))!, parentSpanId: z.id };
    // A span that names itself as parent is a root, as in the collector.
    const parent = sameBytes(z.parentId, z.id) ? NO_BYTES : z.parentId;
    const moved = ownIds.size > 0 && parent.length > 0 ? ownIds.get(sharedKey(z, parent)) : undefined;
    return { spanId: z.id, parentSpanId: moved ?? parent };
  };
}

/** A shared ID is only the server half's within the server's own service. */
function sharedKey(z: ZipkinSpan, id: Uint8Array): string {
  return `${toHex(z.traceId)}/${toHex(id)}/${z.localEndpoint?.serviceName ?? ''}`;
}

function ownIdOf(z: ZipkinSpan): Uint8Array {
  const digest = createHash('sha256').update('zipkin-shared-span').update(z.traceId).update(z.id).digest();
  return new Uint8Array(digest.subarray(0, 8));
}
