// Traces for the UI tests, sent by the OpenTelemetry JS SDK over OTLP/HTTP
// protobuf, the way an instrumented service sends them.
import { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';

export interface Sdk {
  tracer(service: string): Tracer;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** One tracer provider per service (a resource belongs to a provider), all exporting to Skein (with `headers`: a credential). */
export function sdkFor(otlpHttpUrl: string, headers?: Record<string, string>): Sdk {
  const providers = new Map<string, BasicTracerProvider>();
  const providerOf = (service: string): BasicTracerProvider => {
    let p = providers.get(service);
    if (!p) {
      p = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'service.version': '2.1.0', 'deployment.environment': 'ui-test' }),
        spanProcessors: [
          new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttpUrl}/v1/traces`, headers }), { maxExportBatchSize: 2000, maxQueueSize: 30_000, scheduledDelayMillis: 100 }),
        ],
      });
      providers.set(service, p);
    }
    return p;
  };
  return {
    tracer: (service) => providerOf(service).getTracer('skein-ui-test', '1.0.0'),
    flush: async () => void (await Promise.all([...providers.values()].map((p) => p.forceFlush()))),
    shutdown: async () => void (await Promise.all([...providers.values()].map((p) => p.shutdown()))),
  };
}

const ms = (base: number, offset: number): number => base + offset;

export interface CheckoutTrace {
  traceId: string;
  rootSpanId: string;
  paymentSpanId: string;
  dbSpanId: string;
}

/**
 * frontend `POST /checkout` → checkout `checkout.place_order` → payment `payment.charge`
 * (an error) and a database client span; the charge links to `linkTo` when given.
 */
export function emitCheckout(sdk: Sdk, opts: { startMs: number; orderId: string; linkTo?: { traceId: string; spanId: string } }): CheckoutTrace {
  const t0 = opts.startMs;
  const fe = sdk.tracer('frontend');
  const co = sdk.tracer('checkout');
  const pay = sdk.tracer('payment');
  const root = fe.startSpan('POST /checkout', { kind: SpanKind.SERVER, startTime: t0, attributes: { 'http.request.method': 'POST', 'http.route': '/checkout', 'http.response.status_code': 500 } });
  const rootCtx = trace.setSpan(context.active(), root);
  const place = co.startSpan('checkout.place_order', { kind: SpanKind.SERVER, startTime: ms(t0, 5), attributes: { 'order.id': opts.orderId, 'order.items': 3 } }, rootCtx);
  const placeCtx = trace.setSpan(rootCtx, place);
  const db = co.startSpan('SELECT orders', { kind: SpanKind.CLIENT, startTime: ms(t0, 8), attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM orders WHERE id = $1' } }, placeCtx);
  db.end(ms(t0, 20));
  const charge: Span = pay.startSpan(
    'payment.charge',
    {
      kind: SpanKind.SERVER,
      startTime: ms(t0, 22),
      attributes: { 'payment.provider': 'acme-pay', 'payment.amount_cents': 4599 },
      links: opts.linkTo ? [{ context: { traceId: opts.linkTo.traceId, spanId: opts.linkTo.spanId, traceFlags: 1 }, attributes: { 'link.reason': 'retry-of' } }] : [],
    },
    placeCtx,
  );
  charge.addEvent('card.declined', { 'decline.code': 'insufficient_funds' }, ms(t0, 60));
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  charge.end(ms(t0, 70));
  place.end(ms(t0, 80));
  root.setStatus({ code: SpanStatusCode.ERROR });
  root.end(ms(t0, 90));
  return { traceId: root.spanContext().traceId, rootSpanId: root.spanContext().spanId, paymentSpanId: charge.spanContext().spanId, dbSpanId: db.spanContext().spanId };
}

/** A quick trace of one service: `GET /health` with one child. */
export function emitHealth(sdk: Sdk, startMs: number): string {
  const t = sdk.tracer('inventory');
  const root = t.startSpan('GET /health', { kind: SpanKind.SERVER, startTime: startMs });
  const child = t.startSpan('inventory.check', { startTime: startMs + 1 }, trace.setSpan(context.active(), root));
  child.end(startMs + 3);
  root.end(startMs + 4);
  return root.spanContext().traceId;
}

/**
 * A big trace: a root, `fanout` request spans under it, each with children down
 * to `total` spans in all, over several services.
 */
export function emitLargeTrace(sdk: Sdk, startMs: number, total: number): { traceId: string; lastSpanName: string } {
  const services = ['gateway', 'search', 'catalog', 'pricing', 'ranking'];
  const root = sdk.tracer('gateway').startSpan('GET /bulk-report', { kind: SpanKind.SERVER, startTime: startMs });
  const rootCtx = trace.setSpan(context.active(), root);
  let made = 1;
  let lastSpanName = '';
  const fanout = 100;
  const perGroup = Math.ceil((total - 1) / fanout) - 1;
  for (let g = 0; g < fanout && made < total; g++) {
    const svc = services[g % services.length]!;
    const gStart = startMs + g * 20;
    const group = sdk.tracer(svc).startSpan(`${svc}.batch ${g}`, { startTime: gStart, attributes: { 'batch.index': g } }, rootCtx);
    made++;
    const gCtx = trace.setSpan(rootCtx, group);
    for (let c = 0; c < perGroup && made < total; c++) {
      lastSpanName = `${svc}.item ${g}-${c}`;
      const s = sdk.tracer(svc).startSpan(lastSpanName, { startTime: gStart + c * 0.05, attributes: { 'item.index': c } }, gCtx);
      s.end(gStart + c * 0.05 + 1);
      made++;
    }
    group.end(gStart + perGroup * 0.05 + 2);
  }
  root.end(startMs + fanout * 20 + 10);
  return { traceId: root.spanContext().traceId, lastSpanName };
}
