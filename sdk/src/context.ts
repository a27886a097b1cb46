// Crossing process boundaries and recording work as spans, with the W3C
// propagators initTracing registered.
import { context, propagation, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanKind } from '@opentelemetry/api';
import { INSTRUMENTATION_NAME } from './tracing.js';

type Headers = Record<string, string | string[] | undefined>;

/** Adds `traceparent` (and `tracestate`, `baggage`) of the active context to outgoing request headers. */
export function injectTraceHeaders(headers: Record<string, string> = {}, ctx: Context = context.active()): Record<string, string> {
  propagation.inject(ctx, headers);
  return headers;
}

/** The context an incoming request carries, to parent the spans that handle it. */
export function extractTraceContext(headers: Headers): Context {
  return propagation.extract(context.active(), headers, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      const v = carrier[key.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    },
  });
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context, e.g. extractTraceContext(request.headers); default the active one. */
  parent?: Context;
}

/**
 * Runs fn inside a new active span (so logs and outgoing calls within carry
 * its IDs), records an exception thrown by fn on the span with status ERROR,
 * rethrows it, and ends the span in every case.
 */
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const tracer = trace.getTracer(INSTRUMENTATION_NAME);
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks the span failed with the error's message and an `exception` event. */
export function recordError(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
