// Tempo's two limits on what a tenant's head holds, checked as a batch arrives:
// max_traces_per_user (traces not yet cut into a block: spans of a new trace beyond it are
// refused, live_traces_exceeded, until the next cut empties the head) and
// max_bytes_per_trace (spans that would take a trace past it are refused, trace_too_large).
// Both count the current head only: a cut starts every trace afresh, so a trace cut into
// several blocks can grow past max_bytes_per_trace, and the query side keeps its own check.
//
// On the hot path nothing is looked up: the head's trace count plus the batch's spans, and
// its largest trace plus the batch's bytes, show when no span can cross either limit.
import type { TenantLimits } from '../../config/overrides.js';
import type { RefusedSpans } from '../../lib/refused.js';
import type { EncodedBatch, Head } from './head.js';

export type HeadLimits = Pick<TenantLimits, 'max_traces_per_user' | 'max_bytes_per_trace' | 'named'>;

export interface HeadVerdict {
  /** Per span of the batch, in its order: whether it may go in. */
  keep: boolean[];
  refused: RefusedSpans;
}

/** Which spans of `batch` the head may not take for `tenant`; undefined when it takes them all. */
export function checkHeadLimits(head: Head, batch: EncodedBatch, tenant: string, limits: HeadLimits): HeadVerdict | undefined {
  const maxTraces = limits.max_traces_per_user;
  const maxBytes = limits.max_bytes_per_trace;
  const tracesFit = maxTraces === 0 || head.traceCount + batch.spanCount <= maxTraces;
  const bytesFit = maxBytes === 0 || head.largestTraceBytes + batch.bytes <= maxBytes;
  if (tracesFit && bytesFit) return undefined;

  const keep: boolean[] = [];
  let traces = head.traceCount;
  /** Bytes this batch's kept spans add to each trace. */
  const added = new Map<string, number>();
  const refusedNew = new Set<string>();
  const tooLarge = new Set<string>();
  let liveSpans = 0;
  let largeSpans = 0;
  const spanAt = batch.layout.spans;
  for (let i = 0; i < batch.spanCount; i++) {
    const traceId = batch.traceIds[i]!;
    const held = head.traceBytes(traceId);
    const adding = added.get(traceId);
    const isNew = held === undefined && adding === undefined;
    if (refusedNew.has(traceId) || (isNew && maxTraces > 0 && traces >= maxTraces)) {
      refusedNew.add(traceId);
      liveSpans++;
      keep.push(false);
      continue;
    }
    const bytes = (held ?? 0) + (adding ?? 0) + spanAt[2 * i + 1]! - spanAt[2 * i]!;
    if (maxBytes > 0 && bytes > maxBytes) {
      tooLarge.add(traceId);
      largeSpans++;
      keep.push(false);
      continue;
    }
    if (isNew) traces++;
    added.set(traceId, bytes - (held ?? 0));
    keep.push(true);
  }
  if (liveSpans === 0 && largeSpans === 0) return undefined;

  const reasons = new Map<string, number>();
  const messages: string[] = [];
  if (liveSpans > 0) {
    reasons.set('live_traces_exceeded', liveSpans);
    messages.push(
      `${spans(liveSpans)} of ${count(refusedNew.size, 'new trace')} refused for tenant ${JSON.stringify(tenant)}: its head already holds ${head.traceCount} traces not yet cut into a block, ` +
        `the most ${limits.named.max_traces_per_user} allows (live_traces_exceeded); retry once the head is cut`,
    );
  }
  if (largeSpans > 0) {
    reasons.set('trace_too_large', largeSpans);
    const [first] = tooLarge;
    const traces = tooLarge.size === 1 ? `trace ${first}` : `trace ${first} and ${count(tooLarge.size - 1, 'other')}`;
    messages.push(
      `${spans(largeSpans)} of ${traces} refused for tenant ${JSON.stringify(tenant)}: they would take the trace past ${limits.named.max_bytes_per_trace} (trace_too_large)`,
    );
  }
  return {
    keep,
    refused: { count: liveSpans + largeSpans, reasons, message: messages.join('; '), retryable: largeSpans === 0 },
  };
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function spans(n: number): string {
  return count(n, 'span');
}
