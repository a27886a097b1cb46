// Tempo's tempo_discarded_spans_total, per tenant: every span Skein refused, whichever stage
// refused it. The receivers count what they refuse (rate_limited, invalid spans, overload,
// storage errors), the store what its head limits refuse (live_traces_exceeded,
// trace_too_large), each span once, where it was refused: a span a cluster peer forwarded is
// counted by its owner.
import { Counter } from 'prom-client';
import { registry } from './metrics.js';
import { serveCompat } from './compat-metrics.js';

const discardedSpans = new Counter({
  name: 'skein_discarded_spans_total',
  help: "Spans refused, per tenant and reason (Tempo's names where it has them: rate_limited, live_traces_exceeded, trace_too_large).",
  labelNames: ['tenant', 'reason'],
  registers: [registry],
});
serveCompat({
  name: 'tempo_discarded_spans_total',
  help: "Spans refused, per tenant and reason (skein_discarded_spans_total under Tempo's name).",
  from: { metric: discardedSpans, labels: { tenant: 'tenant', reason: 'reason' } },
});

export function countDiscardedSpans(tenant: string, reason: string, spans: number): void {
  if (spans > 0) discardedSpans.inc({ tenant, reason }, spans);
}
