// Spans a pipeline stage refused under a tenant's limit while it took the rest of the batch
// (the store's live_traces_exceeded and trace_too_large, decided where the head is). It is
// what TracesConsumer.consume resolves to then, so the receiver that took the request can
// answer with OTLP's partial success. A value, not an error: the rest of the batch was
// accepted, and a stage that retries failures (tail_sampling, the batch processor) must not
// send it again. A stage that merges several requests' batches cannot say whose spans were
// refused, and drops it; the store counts what it refused either way.

export interface RefusedSpans {
  readonly count: number;
  /** Spans per reason (Tempo's discard reasons). */
  readonly reasons: ReadonlyMap<string, number>;
  /** What was refused and why, naming the limit. */
  readonly message: string;
  /** True when the same spans may be taken later (live_traces_exceeded: once the head is cut into a block). */
  readonly retryable: boolean;
}

/** Two stages' refusals of one batch as one; either may be absent. */
export function mergeRefused(a: RefusedSpans | void, b: RefusedSpans | void): RefusedSpans | undefined {
  if (!a) return b || undefined;
  if (!b) return a;
  const reasons = new Map(a.reasons);
  for (const [reason, n] of b.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  return { count: a.count + b.count, reasons, message: `${a.message}; ${b.message}`, retryable: a.retryable && b.retryable };
}
