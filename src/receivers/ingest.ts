// What every receiver does with a request once it has the bytes: decode,
// validate span by span, hand the valid spans to the pipeline, and turn the
// outcome into OTLP's terms (success, partial success, permanent or retryable
// failure). Transports only map the outcome onto HTTP or gRPC.
import { Counter } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import { registry } from '../telemetry/metrics.js';
import type { ResourceSpans } from '../otlp/model.js';
import { OtlpDecodeError } from '../otlp/protobuf.js';
import { validateBatch, type SpanLimits } from './validate.js';
import type { TracesConsumer } from '../pipeline/consumer.js';
import { OverloadError } from '../lib/errors.js';
import { WalWriteError } from '../lib/wal/wal.js';
import { isDiskFull } from '../lib/disk-full.js';
import { Admission } from './admission.js';

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
  logger: Logger;
}

export class Ingester {
  private readonly admission: Admission;

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
    const outcome = await this.admission.run(request.bytes, request, () => this.decodeAndConsume(tenant, transport, decode, consumer));
    return outcome instanceof OverloadError ? this.refusedByAdmission(transport, outcome) : outcome;
  }

  /** A request admission turned away (before or while it waited for its turn): counted, and answered retryably. */
  private refusedByAdmission(transport: Transport, err: OverloadError): Extract<IngestOutcome, { kind: 'overloaded' }> {
    requestsRefused.inc({ transport, reason: 'overloaded' });
    return { kind: 'overloaded', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
  }

  private async decodeAndConsume(tenant: string, transport: Transport, decode: () => ResourceSpans[], consumer: TracesConsumer): Promise<IngestOutcome> {
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
    const checked = validateBatch(batch, this.opts.limits);
    for (const [reason, n] of checked.reasons) spansRefused.inc({ transport, reason }, n);
    if (checked.acceptedSpans > 0) {
      try {
        await consumer.consume(tenant, checked.accepted);
      } catch (err) {
        return this.refusal(transport, err, checked.acceptedSpans);
      }
      spansReceived.inc({ transport }, checked.acceptedSpans);
    }
    return {
      kind: 'accepted',
      acceptedSpans: checked.acceptedSpans,
      rejectedSpans: checked.rejectedSpans,
      errorMessage: checked.errorMessage,
    };
  }

  private refusal(transport: Transport, err: unknown, spans: number): IngestOutcome {
    const retryAfterSeconds = this.opts.limits.retryAfterSeconds;
    if (err instanceof OverloadError) {
      spansRefused.inc({ transport, reason: 'overloaded' }, spans);
      return { kind: 'overloaded', message: err.message, retryAfterSeconds: err.retryAfterSeconds };
    }
    if (err instanceof WalWriteError) {
      const full = isDiskFull(err);
      const reason = full ? 'disk_full' : 'storage_error';
      spansRefused.inc({ transport, reason }, spans);
      this.opts.logger.error({ err, code: err.code }, 'write-ahead log write failed; request refused as retryable');
      return {
        kind: 'unavailable',
        message: full ? 'storage is full: the write-ahead log cannot take more data' : `storage error: ${err.message}`,
        retryAfterSeconds,
      };
    }
    spansRefused.inc({ transport, reason: 'internal_error' }, spans);
    this.opts.logger.error({ err }, 'pipeline failed; request refused as retryable');
    return { kind: 'unavailable', message: 'internal error while storing spans; retry later', retryAfterSeconds };
  }
}

