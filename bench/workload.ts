// The reference workload of ../shared/design/BENCHMARK.md as OTLP export
// requests, encoded by the OpenTelemetry JS SDK's own serializers (what a
// real Node exporter would send). Seeded: the same options give the same
// spans, so protobuf and JSON bodies of one seed carry identical data.
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Rng } from './prng.js';
import { LARGE_RATE, TraceBuilder, type GeneratedTrace } from './trace-builder.js';

export type WireFormat = 'protobuf' | 'json';

export interface WorkloadOptions {
  seed: number;
  /** Spans to generate; whole traces are kept, so the total may exceed this by one trace. */
  spans: number;
  /** Spans per export request (default 512, like the SDK's batch processor). */
  spansPerRequest?: number;
  /** Start of the first trace (default: 15 minutes ago, so that no span lies in the future). */
  startUnixMs?: number;
  /** Add the tail of 1k–10k-span traces (about 1 trace in 1,000). */
  largeTraces?: boolean;
  /** Add one 50k-span trace half-way through. */
  giantTrace?: boolean;
  format: WireFormat;
}

export interface GeneratedRequests {
  bodies: Uint8Array[];
  /** Lowercase hex, in generation order. */
  traceIds: string[];
  spanCount: number;
  /** Spans in each body, parallel to `bodies` (to count accepted spans per response). */
  spansPerBody: number[];
}

export const DEFAULT_SPANS_PER_REQUEST = 512;

export function contentType(format: WireFormat): string {
  return format === 'protobuf' ? 'application/x-protobuf' : 'application/json';
}

/** One OTLP ExportTraceServiceRequest body, encoded by the SDK's serializer. */
export function encodeSpans(spans: ReadableSpan[], format: WireFormat): Uint8Array {
  const serializer = format === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer;
  const body = serializer.serializeRequest(spans);
  if (body === undefined) throw new Error(`the ${format} serializer produced no body`);
  return body;
}

export function defaultStartUnixMs(): number {
  return Date.now() - 15 * 60_000;
}

/** The workload's traces in order, whole, until `spans` spans have been produced. */
export function* traces(opts: Omit<WorkloadOptions, 'format' | 'spansPerRequest'>): Generator<GeneratedTrace> {
  const builder = new TraceBuilder({ seed: opts.seed, startUnixMs: opts.startUnixMs ?? defaultStartUnixMs() });
  // The tail is decided by its own PRNG stream so that turning it on does not
  // change which ordinary traces are generated before the first large one.
  const tail = new Rng(opts.seed ^ 0x5eed);
  let produced = 0;
  let giantDone = !opts.giantTrace;
  while (produced < opts.spans) {
    let size: GeneratedTrace['size'] = 'normal';
    if (!giantDone && produced >= opts.spans / 2) {
      size = 'giant';
      giantDone = true;
    } else if (opts.largeTraces && tail.float() < LARGE_RATE) {
      size = 'large';
    }
    const trace = builder.next(size);
    produced += trace.spans.length;
    yield trace;
  }
}

/** Export requests of about `spansPerRequest` spans each, generated lazily (for workloads too big to hold). */
export function* requests(opts: WorkloadOptions): Generator<{ body: Uint8Array; spans: number; traceIds: string[] }> {
  const perRequest = opts.spansPerRequest ?? DEFAULT_SPANS_PER_REQUEST;
  let pending: ReadableSpan[] = [];
  let pendingTraceIds: string[] = [];
  for (const trace of traces(opts)) {
    pendingTraceIds.push(trace.traceId);
    // A batch processor cuts wherever its buffer fills, so a trace may straddle two requests.
    for (const span of trace.spans) {
      pending.push(span);
      if (pending.length === perRequest) {
        yield { body: encodeSpans(pending, opts.format), spans: pending.length, traceIds: pendingTraceIds };
        pending = [];
        pendingTraceIds = [];
      }
    }
  }
  if (pending.length > 0) yield { body: encodeSpans(pending, opts.format), spans: pending.length, traceIds: pendingTraceIds };
}

export function generateRequests(opts: WorkloadOptions): GeneratedRequests {
  const out: GeneratedRequests = { bodies: [], traceIds: [], spanCount: 0, spansPerBody: [] };
  for (const req of requests(opts)) {
    out.bodies.push(req.body);
    out.spansPerBody.push(req.spans);
    out.spanCount += req.spans;
    for (const id of req.traceIds) out.traceIds.push(id);
  }
  return out;
}

/** One body per trace: what the visibility figure sends, so each acknowledgement covers exactly one trace. */
export function singleTraceRequests(opts: { seed: number; traces: number; startUnixMs?: number; format: WireFormat }): Array<{
  body: Uint8Array;
  traceId: string;
  spans: number;
}> {
  const builder = new TraceBuilder({ seed: opts.seed, startUnixMs: opts.startUnixMs ?? Date.now() - 60_000 });
  const out = [];
  for (let i = 0; i < opts.traces; i++) {
    const t = builder.next();
    out.push({ body: encodeSpans(t.spans, opts.format), traceId: t.traceId, spans: t.spans.length });
  }
  return out;
}

export function totalBytes(bodies: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of bodies) n += b.byteLength;
  return n;
}
