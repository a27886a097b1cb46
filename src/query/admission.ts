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
  /** A tenant's own limit on its queries running at once, and how a message names it. Default: none but maxConcurrent. */
  tenantLimit?: (tenant: string) => { max: number; named: string };
}

/** setTimeout's longest delay (24.8 days): a longer query.timeout waits that long in the queue at most. */
const MAX_TIMER_MS = 2_147_483_647;

interface Waiter {
  tenants: readonly string[];
  admit(): void;
}

export class QueryAdmission {
  private running = 0;
  private readonly runningFor = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  /**
   * Runs `work`, a query of `tenants`, once a place is free. Throws QueryQueueFullError at
   * once when the queue is full, `timedOut()` when `deadlineMs` (Date.now()) passes while
   * waiting, and QueryCancelledError when `cancelled` aborts (the client went away) while waiting.
   */
  async run<T>(tenants: string | readonly string[], deadlineMs: number, timedOut: () => Error, work: () => Promise<T>, cancelled?: AbortSignal): Promise<T> {
    if (cancelled?.aborted) throw new QueryCancelledError();
    const of = typeof tenants === 'string' ? [tenants] : tenants;
    await this.acquire(of, deadlineMs, timedOut, cancelled);
    try {
      return await work();
    } finally {
      this.release(of);
    }
  }

  /** The tenant at its own limit, if one of `tenants` is. */
  private tenantAtLimit(tenants: readonly string[]): { tenant: string; named: string } | undefined {
    if (!this.limits.tenantLimit) return undefined;
    for (const tenant of tenants) {
      const { max, named } = this.limits.tenantLimit(tenant);
      if ((this.runningFor.get(tenant) ?? 0) >= max) return { tenant, named };
    }
    return undefined;
  }

  private fits(tenants: readonly string[]): boolean {
    return this.running < this.limits.maxConcurrent && this.tenantAtLimit(tenants) === undefined;
  }

  private acquire(tenants: readonly string[], deadlineMs: number, timedOut: () => Error, cancelled: AbortSignal | undefined): Promise<void> {
    // Whatever waits cannot run now (see release), so a query that can runs ahead of it.
    if (this.fits(tenants)) {
      this.take(tenants);
      return Promise.resolve();
    }
    if (this.queue.length >= this.limits.maxQueued) {
      queryMetrics.refused.inc();
      const { maxConcurrent, maxQueued, retryAfterSeconds } = this.limits;
      const atLimit = this.running < maxConcurrent ? this.tenantAtLimit(tenants) : undefined;
      const running = atLimit ? `tenant ${JSON.stringify(atLimit.tenant)}'s ${atLimit.named}` : `query.max_concurrent_queries=${maxConcurrent}`;
      throw new QueryQueueFullError(`too many queries: ${running} are running and query.max_queued_queries=${maxQueued} are waiting; retry later`, retryAfterSeconds);
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
        tenants,
        admit: () => {
          clearTimeout(timer);
          cancelled?.removeEventListener('abort', gone);
          this.take(tenants);
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

  private take(tenants: readonly string[]): void {
    this.running++;
    for (const t of tenants) this.runningFor.set(t, (this.runningFor.get(t) ?? 0) + 1);
    queryMetrics.inFlight.set(this.running);
  }

  private release(tenants: readonly string[]): void {
    this.running--;
    for (const t of tenants) {
      const n = this.runningFor.get(t)! - 1;
      if (n === 0) this.runningFor.delete(t);
      else this.runningFor.set(t, n);
    }
    queryMetrics.inFlight.set(this.running);
    // Every waiting query that can run now starts, in arrival order.
    for (let i = 0; i < this.queue.length && this.running < this.limits.maxConcurrent; ) {
      const waiter = this.queue[i]!;
      if (!this.fits(waiter.tenants)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      waiter.admit();
    }
    queryMetrics.queued.set(this.queue.length);
  }
}
