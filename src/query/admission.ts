// Query admission, as Tempo's querier has max_concurrent_queries: at most
// `maxConcurrent` queries (searches, TraceQL metrics, tag names and values, live-tail
// polls) run at once, the next `maxQueued` wait in order, and one more is refused at
// once with a retryable error. Query work shares the process's one JavaScript thread
// with ingestion, so this is what bounds the share of it queries can take, however
// many clients ask at once. A query that waits out its own query.timeout in the queue
// leaves it with its timeout error.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../telemetry/metrics.js';
import { QueryCancelledError } from './budget.js';

const queryMetrics = {
  inFlight: new Gauge({ name: 'skein_queries_in_flight', help: 'Queries running now (query.max_concurrent_queries at most).', registers: [registry] }),
  queued: new Gauge({ name: 'skein_queries_queued', help: 'Queries waiting for one of query.max_concurrent_queries (query.max_queued_queries at most).', registers: [registry] }),
  refused: new Counter({
    name: 'skein_queries_refused_total',
    help: 'Queries refused with 429 because query.max_concurrent_queries were running and query.max_queued_queries waiting.',
    registers: [registry],
  }),
};

/** A query refused because the queue is full: answer 429 with Retry-After. */
export class QueryQueueFullError extends Error {
  override name = 'QueryQueueFullError';
  /** The query API's error handler answers with it (and Retry-After). */
  readonly statusCode = 429;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface AdmissionLimits {
  maxConcurrent: number;
  maxQueued: number;
  retryAfterSeconds: number;
}

/** setTimeout's longest delay (24.8 days): a longer query.timeout waits that long in the queue at most. */
const MAX_TIMER_MS = 2_147_483_647;

interface Waiter {
  admit(): void;
}

export class QueryAdmission {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  /**
   * Runs `work` once a place is free. Throws QueryQueueFullError at once when the queue
   * is full, `timedOut()` when `deadlineMs` (Date.now()) passes while waiting, and
   * QueryCancelledError when `cancelled` aborts (the client went away) while waiting.
   */
  async run<T>(deadlineMs: number, timedOut: () => Error, work: () => Promise<T>, cancelled?: AbortSignal): Promise<T> {
    if (cancelled?.aborted) throw new QueryCancelledError();
    await this.acquire(deadlineMs, timedOut, cancelled);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(deadlineMs: number, timedOut: () => Error, cancelled: AbortSignal | undefined): Promise<void> {
    if (this.running < this.limits.maxConcurrent) {
      this.take();
      return Promise.resolve();
    }
    if (this.queue.length >= this.limits.maxQueued) {
      queryMetrics.refused.inc();
      const { maxConcurrent, maxQueued, retryAfterSeconds } = this.limits;
      throw new QueryQueueFullError(
        `too many queries: query.max_concurrent_queries=${maxConcurrent} are running and query.max_queued_queries=${maxQueued} are waiting; retry later`,
        retryAfterSeconds,
      );
    }
    return new Promise<void>((resolve, reject) => {
      const leave = (err: Error) => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return;
        this.queue.splice(i, 1);
        queryMetrics.queued.set(this.queue.length);
        clearTimeout(timer);
        cancelled?.removeEventListener('abort', gone);
        reject(err);
      };
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          cancelled?.removeEventListener('abort', gone);
          this.take();
          resolve();
        },
      };
      const gone = () => leave(new QueryCancelledError());
      const timer = setTimeout(() => leave(timedOut()), Math.min(MAX_TIMER_MS, Math.max(0, deadlineMs - Date.now())));
      cancelled?.addEventListener('abort', gone, { once: true });
      this.queue.push(waiter);
      queryMetrics.queued.set(this.queue.length);
    });
  }

  private take(): void {
    this.running++;
    queryMetrics.inFlight.set(this.running);
  }

  private release(): void {
    this.running--;
    queryMetrics.inFlight.set(this.running);
    const next = this.queue.shift();
    queryMetrics.queued.set(this.queue.length);
    next?.admit();
  }
}
