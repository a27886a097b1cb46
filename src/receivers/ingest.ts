// What every receiver does with a request once it has the bytes: decode, apply the
// tenant's ingestion rate, validate span by span, hand the valid spans to the pipeline, and
// turn the outcome (with what the store refused under the tenant's head limits) into OTLP's
// terms (success, partial success, permanent or retryable failure). Transports only map the
// outcome onto HTTP or gRPC. Every span refused here is counted here, per transport and
// per tenant (skein_discarded_spans_total; the store counts its own refusals there).
import { Counter, Histogram } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import { LATENCY_BUCKETS, registry } from '../telemetry/metrics.js';
import { collectorCounter, serveCompat, type InstrumentSource } from '../telemetry/compat-metrics.js';
import { countDiscardedSpans } from '../telemetry/discarded.js';
import { countSpans, type ResourceSpans } from '../otlp/model.js';
import { OtlpDecodeError } from '../otlp/protobuf.js';
import { validateBatch, type SpanLimits } from './validate.js';
import type { TracesConsumer } from '../pipeline/consumer.js';
import { OverloadError } from '../lib/errors.js';
import { WalWriteError } from '../lib/wal/wal.js';
import { isDiskFull } from '../lib/disk-full.js';
import { Admission } from './admission.js';
import { TenantRateLimiter } from './rate-limit.js';
import type { Overrides, TenantLimits } from '../config/overrides.js';
import type { RefusedSpans } from '../lib/refused.js';

export type Transport = 'grpc' | 'http_protobuf' | 'http_json' | 'zipkin';

export type IngestOutcome =
  | { kind: 'accepted'; acceptedSpans: number; rejectedSpans: number; errorMessage: string }
  /** Permanent: the client must not retry the same data. */
  | { kind: 'invalid'; message: string }
  | { kind: 'too_large'; message: string }
  /** Retryable: Skein is overloaded or cannot write now. */
  | { kind: 'overloaded'; message: string; retryAfterSeconds: number }
  | { kind: 'unavailable'; message: string; retryAfterSeconds: number };

const spansReceived = new Counter({
  name: 'skein_receiver_accepted_spans_total',
  help: 'Spans accepted by a receiver and handed to the pipeline.',
  labelNames: ['transport'],
  registers: [registry],
});
const spansRefused = new Counter({
  name: 'skein_receiver_refused_spans_total',
  help: 'Spans refused by a receiver, by reason (invalid spans of a partial success, overload, disk full…).',
  labelNames: ['transport', 'reason'],
  registers: [registry],
});
const requestsRefused = new Counter({
  name: 'skein_receiver_refused_requests_total',
  help: 'Whole requests refused, by reason (malformed, too large, unsupported media type, overload…).',
  labelNames: ['transport', 'reason'],
  registers: [registry],
});
const tenantSpans = new Counter({
  name: 'skein_receiver_received_spans_total',
  help: "Spans a tenant sent within its ingestion rate, before they were validated (what Tempo's distributor counts as received).",
  labelNames: ['tenant'],
  registers: [registry],
});
const tenantBytes = new Counter({
  name: 'skein_receiver_received_bytes_total',
  help: 'Bytes of the requests counted in skein_receiver_received_spans_total, uncompressed.',
  labelNames: ['tenant'],
  registers: [registry],
});

const requestDuration = new Histogram({
  name: 'skein_receiver_request_duration_seconds',
  help: "Time to ingest a request once its body is read (its wait for admission included), by transport and outcome (accepted, invalid, too_large, overloaded, unavailable); requests refused before ingest (media type, size, credentials, early overload) are not timed.",
  labelNames: ['transport', 'outcome'],
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** The collector's receiver and transport labels for a transport of ours: `otlp` over grpc or http, `zipkin` over http. */
const receiverLabels = {
  receiver: (l: Readonly<Record<string, string | number>>) => (l['transport'] === 'zipkin' ? 'zipkin' : 'otlp'),
  transport: (l: Readonly<Record<string, string | number>>) => (l['transport'] === 'grpc' ? 'grpc' : 'http'),
};
const accepted: InstrumentSource = { metric: spansReceived, labels: receiverLabels };
const refused: InstrumentSource = { metric: spansRefused, labels: receiverLabels };
// Tempo's distributor embeds the collector's receivers, whose counters it serves as tempo_receiver_*.
serveCompat({ name: collectorCounter('otelcol_receiver_accepted_spans'), help: "Spans a receiver handed to the pipeline (skein_receiver_accepted_spans_total under the collector's name).", from: accepted });
serveCompat({ name: collectorCounter('otelcol_receiver_refused_spans'), help: "Spans a receiver refused (skein_receiver_refused_spans_total under the collector's name).", from: refused });
serveCompat({ name: 'tempo_receiver_accepted_spans', help: "Spans a receiver handed to the pipeline (skein_receiver_accepted_spans_total under Tempo's name).", from: accepted });
serveCompat({ name: 'tempo_receiver_refused_spans', help: "Spans a receiver refused (skein_receiver_refused_spans_total under Tempo's name).", from: refused });
// Tempo's gateway times OTLP/gRPC exports under this route, which its Writes and rollout dashboards select on.
const TEMPO_ROUTE: Record<Transport, string> = {
  grpc: 'opentelemetry_proto_collector_trace_v1_traceservice_export',
  http_protobuf: 'v1_traces',
  http_json: 'v1_traces',
  zipkin: 'api_v2_spans',
};
/** The status each outcome is answered with, as otlp-http.ts and zipkin.ts answer it (gRPC: Tempo's success or error). */
function tempoStatus(transport: string, outcome: string): string {
  if (transport === 'grpc') return outcome === 'accepted' ? 'success' : 'error';
  const status: Record<IngestOutcome['kind'], number> = { accepted: transport === 'zipkin' ? 202 : 200, invalid: 400, too_large: 413, overloaded: 429, unavailable: 503 };
  return String(status[outcome as IngestOutcome['kind']] ?? '');
}
serveCompat({
  name: 'tempo_request_duration_seconds',
  help: "Time of requests by route and status code: the query API's (skein_http_request_duration_seconds) and the receivers' (skein_receiver_request_duration_seconds), under Tempo's name and route values.",
  from: {
    metric: requestDuration,
    labels: {
      method: (l) => (l['transport'] === 'grpc' ? 'gRPC' : 'POST'),
      route: (l) => TEMPO_ROUTE[l['transport'] as Transport],
      status_code: (l) => tempoStatus(String(l['transport']), String(l['outcome'])),
    },
  },
});
serveCompat({
  name: 'tempo_distributor_spans_received_total',
  help: "Spans received per tenant within its ingestion rate (skein_receiver_received_spans_total under Tempo's distributor name).",
  from: { metric: tenantSpans, labels: { tenant: 'tenant' } },
});
serveCompat({
  name: 'tempo_distributor_bytes_received_total',
  help: "Uncompressed bytes received per tenant within its ingestion rate (skein_receiver_received_bytes_total under Tempo's distributor name).",
  from: { metric: tenantBytes, labels: { tenant: 'tenant' } },
});

export interface IngestOptions {
  consumer: TracesConsumer;
  /**
   * Where requests a cluster peer forwarded go (`pipeline.ownedConsumer`, after the
   * router): never routed again. Absent outside a cluster: then they go to `consumer`.
   */
  ownedConsumer?: TracesConsumer;
  /** Who comes in under load, and in what order (shared by every receiver); without one, everyone at once. */
  admission?: Admission;
  limits: SpanLimits & { maxRequestBytes: number; retryAfterSeconds: number };
  /**
   * Per-tenant limits (config/overrides.ts): the ingestion rate, and the attribute limits in
   * place of those of `limits`. Absent: every tenant has `limits` and no rate limit.
   */
  overrides?: Overrides;
  logger: Logger;
}

export class Ingester {
  private readonly admission: Admission;
  private readonly rates = new TenantRateLimiter();
  /** Each tenant's span limits, made once per resolution of its limits (a reload makes new ones). */
  private readonly spanLimits = new WeakMap<TenantLimits, SpanLimits>();

  constructor(private readonly opts: IngestOptions) {
    this.admission =
      opts.admission ?? new Admission({ pressure: () => undefined, maxInFlightBytes: Infinity, concurrency: Infinity, retryAfterSeconds: opts.limits.retryAfterSeconds });
  }

  get maxRequestBytes(): number {
    return this.opts.limits.maxRequestBytes;
  }

  /** Counts a request refused before it reached ingest (bad media type, too large…). */
  refusedRequest(transport: Transport, reason: string): void {
    requestsRefused.inc({ transport, reason });
  }

  /**
   * The retryable refusal for a request of about `bytes` bytes (0 when not yet known)
   * while Skein is overloaded, decided from its headers before its body is read;
   * undefined when it may come in.
   */
  refuseEarly(transport: Transport, bytes: number): Extract<IngestOutcome, { kind: 'overloaded' }> | undefined {
    const refused = this.admission.refusal(bytes);
    return refused && this.refusedByAdmission(transport, refused);
  }

  /**
   * Decodes and ingests a request of `bytes` bytes when its turn comes (see
   * admission.ts); `arrivedAt` is when its headers arrived and `deadline` when
   * the client stops waiting (Date.now() times). `forwarded`: a cluster peer
   * sent it marked x-skein-forwarded (src/lib/forwarded.ts), for this instance to keep.
   */
  async ingest(
    tenant: string,
    transport: Transport,
    decode: () => ResourceSpans[],
    request: { bytes: number; arrivedAt?: number; deadline?: number; forwarded?: boolean },
  ): Promise<IngestOutcome> {
    const consumer = request.forwarded === true ? (this.opts.ownedConsumer ?? this.opts.consumer) : this.opts.consumer;
    // A forwarded request was rated where it came in.
    const rated = request.forwarded !== true;
    const started = performance.now();
    const admitted = await this.admission.run(request.bytes, request, () => this.decodeAndConsume(tenant, transport, decode, consumer, rated ? request.bytes : 0));
    const outcome = admitted instanceof OverloadError ? this.refusedByAdmission(transport, admitted) : admitted;
    requestDuration.observe({ transport, outcome: outcome.kind }, (performance.now() - started) / 1000);
    return outcome;
  }

  /** A request admission turned away (before or while it waited for its turn): counted, and answered retryably. */
  private refusedByAdmission(transport: Transport, err: OverloadError): Extract<IngestOutcome, { kind: 'overloaded' }> {
    requestsRefused.inc({ transport, reason: 'overloaded' });
    return { kind: 'overloaded', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
  }

  /** `ratedBytes`: what the request takes from the tenant's ingestion rate (0: nothing). */
  private async decodeAndConsume(tenant: string, transport: Transport, decode: () => ResourceSpans[], consumer: TracesConsumer, ratedBytes: number): Promise<IngestOutcome> {
    let batch: ResourceSpans[];
    try {
      batch = decode();
    } catch (err) {
      if (err instanceof OtlpDecodeError) {
        requestsRefused.inc({ transport, reason: 'malformed' });
        return { kind: 'invalid', message: err.message };
      }
      throw err;
    }
    const limits = this.opts.overrides?.limitsFor(tenant);
    if (limits && ratedBytes > 0) {
      const overRate = this.overRate(tenant, ratedBytes, limits);
      if (overRate) {
        this.countRefused(transport, tenant, 'rate_limited', countSpans(batch));
        return overRate;
      }
    }
    const checked = validateBatch(batch, limits ? this.spanLimitsOf(limits) : this.opts.limits);
    // Where Tempo's distributor counts: past the rate, before validation; a forwarded request was counted where it came in.
    if (ratedBytes > 0) {
      tenantSpans.inc({ tenant }, checked.acceptedSpans + checked.rejectedSpans);
      tenantBytes.inc({ tenant }, ratedBytes);
    }
    for (const [reason, n] of checked.reasons) this.countRefused(transport, tenant, reason, n);
    let refused: RefusedSpans | void = undefined;
    if (checked.acceptedSpans > 0) {
      try {
        refused = await consumer.consume(tenant, checked.accepted);
      } catch (err) {
        return this.refusal(transport, tenant, err, checked.acceptedSpans);
      }
      // The store counted what it refused per tenant; here it is counted per transport.
      for (const [reason, n] of refused?.reasons ?? []) spansRefused.inc({ transport, reason }, n);
      spansReceived.inc({ transport }, checked.acceptedSpans - (refused?.count ?? 0));
    }
    if (!refused) {
      return { kind: 'accepted', acceptedSpans: checked.acceptedSpans, rejectedSpans: checked.rejectedSpans, errorMessage: checked.errorMessage };
    }
    // Nothing taken, and all of it may be taken later (a new trace once the head is cut): the request is refused, retryably.
    if (refused.retryable && refused.count === checked.acceptedSpans && checked.rejectedSpans === 0) {
      return { kind: 'overloaded', message: refused.message, retryAfterSeconds: this.opts.limits.retryAfterSeconds };
    }
    const rejectedSpans = checked.rejectedSpans + refused.count;
    return {
      kind: 'accepted',
      acceptedSpans: checked.acceptedSpans - refused.count,
      rejectedSpans,
      errorMessage: checked.errorMessage === '' ? `${rejectedSpans} ${rejectedSpans === 1 ? 'span' : 'spans'} rejected: ${refused.message}` : `${checked.errorMessage}; ${refused.message}`,
    };
  }

  /** The refusal of a request of `bytes` bytes the tenant's ingestion rate cannot cover now, or undefined when it can (and took them). */
  private overRate(tenant: string, bytes: number, limits: TenantLimits): Extract<IngestOutcome, { kind: 'overloaded' }> | undefined {
    const verdict = this.rates.take(tenant, bytes, limits.ingestion_rate_limit_bytes, limits.ingestion_burst_size_bytes);
    if (verdict.taken) return undefined;
    const { named } = limits;
    const rate = `tenant ${JSON.stringify(tenant)} is over its ingestion rate (rate_limited): ${named.ingestion_rate_limit_bytes} bytes per second, ${named.ingestion_burst_size_bytes} bytes of burst`;
    if (verdict.waitMs === Infinity) {
      return { kind: 'overloaded', message: `${rate}; this request of ${bytes} bytes is larger than the burst: send smaller requests`, retryAfterSeconds: this.opts.limits.retryAfterSeconds };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.waitMs / 1000));
    return { kind: 'overloaded', message: `${rate}; this request of ${bytes} bytes fits in about ${retryAfterSeconds}s: retry later`, retryAfterSeconds };
  }

  private spanLimitsOf(limits: TenantLimits): SpanLimits {
    let span = this.spanLimits.get(limits);
    if (!span) {
      span = {
        ...this.opts.limits,
        maxAttributeValueLength: limits.max_attribute_value_length,
        maxAttributesPerSpan: limits.max_attributes_per_span,
        named: { maxAttributeValueLength: limits.named.max_attribute_value_length, maxAttributesPerSpan: limits.named.max_attributes_per_span },
      };
      this.spanLimits.set(limits, span);
    }
    return span;
  }

  /** The one place a receiver counts the spans it refused: per transport, and per tenant. */
  private countRefused(transport: Transport, tenant: string, reason: string, spans: number): void {
    if (spans === 0) return;
    spansRefused.inc({ transport, reason }, spans);
    countDiscardedSpans(tenant, reason, spans);
  }

  private refusal(transport: Transport, tenant: string, err: unknown, spans: number): IngestOutcome {
    const retryAfterSeconds = this.opts.limits.retryAfterSeconds;
    if (err instanceof OverloadError) {
      this.countRefused(transport, tenant, 'overloaded', spans);
      return { kind: 'overloaded', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
    }
    if (err instanceof WalWriteError) {
      const full = isDiskFull(err);
      const reason = full ? 'disk_full' : 'storage_error';
      this.countRefused(transport, tenant, reason, spans);
      this.opts.logger.error({ err, code: err.code }, 'write-ahead log write failed; request refused as retryable');
      return {
        kind: 'unavailable',
        message: full ? 'storage is full: the write-ahead log cannot take more data' : `storage error: ${err.message}`,
        retryAfterSeconds,
      };
    }
    this.countRefused(transport, tenant, 'internal_error', spans);
    this.opts.logger.error({ err }, 'pipeline failed; request refused as retryable');
    return { kind: 'unavailable', message: 'internal error while storing spans; retry later', retryAfterSeconds };
  }
}

