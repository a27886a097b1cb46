// The otlp exporter: the end of a collector-mode pipeline that forwards spans
// to another OTLP endpoint (another Skein, Tempo, a collector). consume()
// puts the batch in the sending queue and resolves; consumers send queued
// batches, retrying retryable failures with backoff, so a downstream outage
// costs nothing accepted as long as the queue has room (and, with the
// persistent queue, survives a restart). A full queue refuses new batches as
// an overload, which the receivers turn into a retryable answer.
import type { ResourceSpans } from '../../../otlp/model.js';
import { countSpans } from '../../../otlp/model.js';
import { OverloadError } from '../../../lib/errors.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { ComponentContext } from '../../component.js';
import type { TracesConsumer } from '../../consumer.js';
import { persistentQueueDir, resolveTarget, type ExportTarget, type OtlpExporterConfig } from './config.js';
import { GrpcExportClient } from './grpc-client.js';
import { HttpExportClient } from './http-client.js';
import { exporterMetrics, reportQueue, type FailureReason, type QueueStats } from './metrics.js';
import { PersistentQueue } from './persistent-queue.js';
import { MemoryQueue, entryProtobuf, type QueueEntry, type SendingQueue } from './queue.js';
import type { ExportClient, ExportOutcome, ExportRequest } from './responses.js';
import { ExponentialBackoff, nextDelay, sleep } from './retry.js';

/** How one batch's delivery ended. */
type Delivery =
  | { kind: 'delivered' }
  /** Refused for good, or retries ran out (counted and logged as dropped). */
  | { kind: 'dropped' }
  /** Retries ran out, handed back to a sender that still holds the batch (queue disabled): not counted here. */
  | { kind: 'refused'; message: string }
  /** Shutdown cut it short: the batch is neither delivered nor given up. */
  | { kind: 'interrupted' };

export class OtlpExporter implements TracesConsumer {
  private readonly target: ExportTarget;
  private readonly logger: Logger;
  private readonly queue: SendingQueue | undefined;
  private client: ExportClient | undefined;
  private state: 'created' | 'started' | 'stopping' | 'stopped' = 'created';
  private readonly consumers: Array<Promise<void>> = [];
  /** Sends made by consume() itself when the sending queue is disabled. */
  private readonly directSends = new Set<Promise<unknown>>();
  /** Aborted when shutdown gives up draining: interrupts sends and backoff waits. */
  private readonly interrupt = new AbortController();
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private unreport: (() => void) | undefined;

  /**
   * `options.queueDir`: where the persistent queue lives, for an exporter that is not
   * one of the pipeline's (the cluster's forwarders keep theirs under the cluster's folder).
   */
  constructor(
    private readonly config: OtlpExporterConfig,
    private readonly ctx: ComponentContext,
    options: { queueDir?: string } = {},
  ) {
    const target = resolveTarget(config);
    if ('error' in target) throw new Error(`exporter ${ctx.name}: ${target.path.join('.')}: ${target.error}`);
    this.target = target;
    this.logger = ctx.logger.child({ exporter: ctx.name });
    const q = config.sending_queue;
    if (q.enabled) {
      const dir = options.queueDir ?? persistentQueueDir(ctx.dataDir, ctx.name);
      this.queue = q.persistent ? new PersistentQueue({ dir, capacity: q.queue_size, logger: this.logger, walLabel: `exporter:${ctx.name}` }) : new MemoryQueue(q.queue_size);
    }
  }

  /** Batches held now (waiting or being sent) and the most the queue holds. */
  queueStats(): QueueStats {
    return { size: this.queue?.size ?? this.directSends.size, capacity: this.queue?.capacity ?? 0 };
  }

  /** Opens the connection (reading TLS files) and the queue (replaying the persistent one), then starts sending. */
  start(): Promise<void> {
    if (this.starting) return Promise.reject(new Error(`exporter ${this.ctx.name}: start() called twice`));
    this.starting = this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    if (this.state !== 'created') throw new Error(`exporter ${this.ctx.name}: start() after shutdown()`);
    const client = await this.createClient();
    try {
      await this.queue?.open();
    } catch (err) {
      client.close();
      throw err;
    }
    this.client = client;
    this.state = 'started';
    this.unreport = reportQueue(this.ctx.name, () => this.queueStats());
    const q = this.config.sending_queue;
    if (this.queue) for (let i = 0; i < q.num_consumers; i++) this.consumers.push(this.runConsumer(this.queue, client));
    this.logger.info(
      { endpoint: this.target.display, protocol: this.target.protocol, tls: this.target.secure, queue: q.enabled ? (q.persistent ? 'persistent' : 'memory') : 'disabled', queuedBatches: this.queue?.size ?? 0 },
      'otlp exporter started',
    );
  }

  async consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    if (this.state !== 'started') {
      if (this.state === 'created') throw new Error(`exporter ${this.ctx.name}: consume() before start()`);
      throw new OverloadError(`exporter ${this.ctx.name} is shutting down`, this.retryAfterSeconds());
    }
    const spans = countSpans(batch);
    if (spans === 0) return;
    if (!this.queue) return this.sendDirectly(tenant, batch, spans);
    let held: boolean;
    try {
      held = await this.queue.offer(tenant, batch, spans);
    } catch (err) {
      // The persistent queue could not write the batch (a full disk, say); the receiver answers retryable.
      exporterMetrics.enqueueFailedSpans.inc({ exporter: this.ctx.name }, spans);
      throw err;
    }
    if (!held) {
      exporterMetrics.enqueueFailedSpans.inc({ exporter: this.ctx.name }, spans);
      throw new OverloadError(
        `exporter ${this.ctx.name}: sending queue is full (${this.queue.capacity} batches); the downstream ${this.target.display} is slow or unavailable`,
        this.retryAfterSeconds(),
      );
    }
  }

  /**
   * Stops accepting, lets the consumers empty the queue for up to `timeout`,
   * then interrupts them. What is left is kept by the persistent queue for the
   * next start, and lost (counted as failed, reason `shutdown`) by the memory queue.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    // A shutdown called while start() is under way waits for it, so nothing it opens is left open.
    await this.starting?.catch(() => undefined);
    if (this.state === 'created') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.queue?.stopIntake();
    const work = Promise.allSettled([...this.consumers, ...this.directSends]);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      work.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.config.timeout))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.interrupt.abort();
      await work;
    }
    const queue = this.queue;
    if (queue && queue.size > 0) {
      if (this.config.sending_queue.persistent) {
        this.logger.info({ batches: queue.size, spans: queue.spans }, 'otlp exporter: batches not yet delivered stay in the persistent queue for the next start');
      } else {
        exporterMetrics.failedSpans.inc({ exporter: this.ctx.name, reason: 'shutdown' }, queue.spans);
        this.logger.warn({ batches: queue.size, spans: queue.spans }, 'otlp exporter: shutdown before the queue drained; its batches are lost (sending_queue.persistent keeps them)');
      }
    }
    await queue?.close();
    this.client?.close();
    this.unreport?.();
    this.state = 'stopped';
  }

  private async createClient(): Promise<ExportClient> {
    const c = this.config;
    const t = this.target;
    if (t.protocol === 'grpc') {
      return GrpcExportClient.create({
        address: t.address,
        secure: t.secure,
        tls: c.tls,
        headers: c.headers,
        compression: c.compression,
        timeoutMs: c.timeout,
        initialIntervalMs: c.retry_on_failure.initial_interval,
        maxIntervalMs: c.retry_on_failure.max_interval,
      });
    }
    return HttpExportClient.create({
      url: t.url,
      encoding: t.protocol === 'http/json' ? 'json' : 'protobuf',
      tls: c.tls,
      headers: c.headers,
      compression: c.compression,
      timeoutMs: c.timeout,
    });
  }

  private async runConsumer(queue: SendingQueue, client: ExportClient): Promise<void> {
    for (;;) {
      if (this.interrupt.signal.aborted) return;
      const entry = await queue.take();
      if (!entry) return;
      try {
        const delivery = await this.deliver(client, entry);
        if (delivery.kind !== 'interrupted') queue.done(entry);
      } catch (err) {
        // deliver() does not throw; if it ever does, the batch must not block the queue.
        this.logger.error({ err, tenant: entry.tenant }, 'otlp exporter: unexpected error while sending; batch dropped');
        this.countFailed('permanent', entry.spans);
        queue.done(entry);
      }
    }
  }

  /** With the sending queue disabled, consume() waits for the delivery (retries included). */
  private async sendDirectly(tenant: string, batch: ResourceSpans[], spans: number): Promise<void> {
    const client = this.client!;
    const sending = this.deliver(client, { tenant, batch, spans, encoded: undefined }, true);
    this.directSends.add(sending);
    let delivery: Delivery;
    try {
      delivery = await sending;
    } finally {
      this.directSends.delete(sending);
    }
    if (delivery.kind === 'interrupted') throw new OverloadError(`exporter ${this.ctx.name} is shutting down`, this.retryAfterSeconds());
    if (delivery.kind === 'refused') {
      throw new OverloadError(`exporter ${this.ctx.name}: the downstream ${this.target.display} is unavailable: ${delivery.message}`, this.retryAfterSeconds());
    }
  }

  /**
   * Sends one batch until the downstream accepts it, refuses it for good,
   * retries run out or shutdown interrupts. `senderHolds`: the batch is not
   * queued, so when retries run out it goes back to the sender rather than
   * being dropped.
   */
  private async deliver(client: ExportClient, entry: QueueEntry, senderHolds = false): Promise<Delivery> {
    const retry = this.config.retry_on_failure;
    const request: ExportRequest = { tenant: entry.tenant, batch: entry.batch, protobuf: () => entryProtobuf(entry) };
    const backoff = new ExponentialBackoff({
      initialIntervalMs: retry.initial_interval,
      maxIntervalMs: retry.max_interval,
      multiplier: retry.multiplier,
      randomizationFactor: retry.randomization_factor,
    });
    const giveUpAt = retry.max_elapsed_time > 0 ? Date.now() + retry.max_elapsed_time : Infinity;
    const signal = this.interrupt.signal;
    for (let attempt = 1; ; attempt++) {
      const outcome = await client.send(request, signal);
      if (outcome.kind === 'accepted') {
        this.accepted(entry, outcome);
        return { kind: 'delivered' };
      }
      if (signal.aborted) return { kind: 'interrupted' };
      if (outcome.kind === 'permanent') return this.drop(entry, 'permanent', outcome.message, attempt);
      const delayMs = nextDelay(backoff, outcome);
      const reason = !retry.enabled ? 'retry_disabled' : Date.now() + delayMs > giveUpAt ? 'retries_exhausted' : undefined;
      if (reason) return senderHolds ? { kind: 'refused', message: outcome.message } : this.drop(entry, reason, outcome.message, attempt);
      exporterMetrics.retries.inc({ exporter: this.ctx.name });
      this.logger.info(
        { tenant: entry.tenant, spans: entry.spans, attempt, retryInMs: Math.round(delayMs), error: outcome.message },
        'otlp exporter: sending failed; will retry',
      );
      if (!(await sleep(delayMs, signal))) return { kind: 'interrupted' };
    }
  }

  private accepted(entry: QueueEntry, outcome: Extract<ExportOutcome, { kind: 'accepted' }>): void {
    const rejected = Math.min(Math.max(0, outcome.rejectedSpans), entry.spans);
    exporterMetrics.sentSpans.inc({ exporter: this.ctx.name }, entry.spans - rejected);
    if (rejected > 0) this.countFailed('partial_success', rejected);
    if (rejected > 0 || outcome.message) {
      this.logger.warn({ tenant: entry.tenant, spans: entry.spans, rejectedSpans: rejected, message: outcome.message }, 'otlp exporter: partial success: the downstream refused some spans');
    }
  }

  private drop(entry: QueueEntry, reason: FailureReason, message: string, attempts: number): Delivery {
    this.countFailed(reason, entry.spans);
    this.logger.error({ tenant: entry.tenant, spans: entry.spans, attempts, reason, error: message }, 'otlp exporter: sending failed; batch dropped');
    return { kind: 'dropped' };
  }

  private countFailed(reason: FailureReason, spans: number): void {
    exporterMetrics.failedSpans.inc({ exporter: this.ctx.name, reason }, spans);
  }

  /** What an overloaded answer tells the sender to wait: about one retry interval of ours. */
  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.config.retry_on_failure.initial_interval / 1000));
  }
}
