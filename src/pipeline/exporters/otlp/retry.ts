// When to send a failed batch again: the OTLP specification's rules for which
// gRPC codes and HTTP statuses are retryable, the delay a downstream asks for
// (gRPC RetryInfo, HTTP Retry-After), and the collector's exponential backoff
// (retry_on_failure) that applies otherwise.
import { status as GrpcCode } from '@grpc/grpc-js';
import { decodeRpcStatus, type ExportOutcome } from './responses.js';

/**
 * OTLP/gRPC: these codes mean the same request may succeed later.
 * RESOURCE_EXHAUSTED joins them only with a RetryInfo (the server says it can
 * recover); without one it is a permanent refusal, as the specification says.
 */
const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([
  GrpcCode.CANCELLED,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.ABORTED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

/** OTLP/HTTP: only these statuses are retried; every other 4xx and 5xx must not be. */
const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * A failed gRPC call. `statusDetails` is the grpc-status-details-bin trailer
 * (a google.rpc.Status), where a RetryInfo says how long to wait.
 */
export function classifyGrpcFailure(code: number, details: string, statusDetails: Uint8Array | undefined): ExportOutcome {
  const retryAfterMs = statusDetails ? decodeRpcStatus(statusDetails)?.retryDelayMs : undefined;
  const message = `gRPC ${GrpcCode[code] ?? code}: ${details}`;
  const retryable = RETRYABLE_GRPC_CODES.has(code) || (code === GrpcCode.RESOURCE_EXHAUSTED && retryAfterMs !== undefined);
  return retryable ? { kind: 'retryable', message, retryAfterMs } : { kind: 'permanent', message };
}

/** A non-2xx HTTP answer. A Retry-After counts on 429 and 503 (the throttling statuses), as in the collector. */
export function classifyHttpFailure(
  status: number,
  message: string,
  retryAfter: string | undefined,
  statusRetryDelayMs: number | undefined,
  now: number = Date.now(),
): ExportOutcome {
  const text = `HTTP ${status}${message ? `: ${message}` : ''}`;
  if (!RETRYABLE_HTTP_STATUSES.has(status)) return { kind: 'permanent', message: text };
  const throttled = status === 429 || status === 503;
  const retryAfterMs = throttled ? (parseRetryAfter(retryAfter, now) ?? statusRetryDelayMs) : statusRetryDelayMs;
  return { kind: 'retryable', message: text, retryAfterMs };
}

/**
 * A failure to get any answer: refused or reset connections, DNS, TLS, the
 * attempt's timeout. All retryable, as in the collector: the downstream may be
 * restarting or the network may recover.
 */
export function classifyTransportError(err: unknown): ExportOutcome {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const text = err instanceof Error ? err.message : String(err);
  return { kind: 'retryable', message: code && !text.includes(code) ? `${code}: ${text}` : text, retryAfterMs: undefined };
}

/** Retry-After in milliseconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface BackoffSettings {
  initialIntervalMs: number;
  maxIntervalMs: number;
  multiplier: number;
  randomizationFactor: number;
}

/**
 * The collector's exponential backoff (cenkalti/backoff): each wait is the
 * current interval ± randomization_factor of it; the interval then grows by
 * `multiplier` up to max_interval. One instance per batch.
 */
export class ExponentialBackoff {
  private interval: number;

  constructor(
    private readonly settings: BackoffSettings,
    private readonly random: () => number = Math.random,
  ) {
    this.interval = settings.initialIntervalMs;
  }

  /** The wait before the next attempt, in milliseconds. */
  next(): number {
    const spread = this.settings.randomizationFactor * this.interval;
    const wait = this.interval - spread + this.random() * 2 * spread;
    this.interval = Math.min(this.interval * this.settings.multiplier, this.settings.maxIntervalMs);
    return wait;
  }
}

/**
 * The wait before the next attempt: the backoff's, or longer if the downstream
 * asked for longer (the collector takes the larger of the two).
 */
export function nextDelay(backoff: ExponentialBackoff, outcome: Extract<ExportOutcome, { kind: 'retryable' }>): number {
  return Math.max(backoff.next(), outcome.retryAfterMs ?? 0);
}

/** Resolves after `ms`, or as soon as `signal` aborts; true if the full wait passed. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
