// Reads GET /api/traces/{id} answers in either format the API offers, and
// counts the spans in them: a trace is "returned" when all its spans are.
import { countPbSpans, decodeWithProtobufjs } from './otlp-proto.js';

export type TraceAccept = 'protobuf' | 'json';

export interface TraceAnswer {
  status: number;
  spans: number;
  bytes: number;
  /** From sending the request to having read the whole body (parsing it is not counted). */
  ms: number;
  contentType: string;
}

export async function getTrace(baseUrl: string, traceId: string, accept: TraceAccept): Promise<TraceAnswer> {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}/api/traces/${traceId}`, {
    headers: { accept: accept === 'protobuf' ? 'application/protobuf' : 'application/json' },
  });
  const body = new Uint8Array(await res.arrayBuffer());
  const ms = performance.now() - t0;
  const contentType = res.headers.get('content-type') ?? '';
  if (res.status !== 200) return { status: res.status, spans: 0, bytes: body.byteLength, ms, contentType };
  return { status: res.status, spans: countSpansInBody(body, contentType), bytes: body.byteLength, ms, contentType };
}

/** Span count of a trace body; protobuf unless the server says JSON. */
export function countSpansInBody(body: Uint8Array, contentType: string): number {
  if (contentType.includes('json')) return countJsonSpans(JSON.parse(Buffer.from(body).toString('utf8')));
  try {
    return countPbSpans(decodeWithProtobufjs(body));
  } catch {
    return 0;
  }
}

/**
 * Counts the elements of every `spans` array in the document, so that OTLP
 * JSON (`resourceSpans`), Tempo's (`batches`) and wrapped forms (`trace`) all work.
 */
export function countJsonSpans(doc: unknown): number {
  if (Array.isArray(doc)) return doc.reduce((n: number, d) => n + countJsonSpans(d), 0);
  if (doc === null || typeof doc !== 'object') return 0;
  let n = 0;
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'spans' && Array.isArray(value)) n += value.length;
    else if (typeof value === 'object') n += countJsonSpans(value);
  }
  return n;
}
