// The `memory_limiter` processor (collector syntax). Above the soft limit
// (limit − spike) it refuses data with a retryable error, so receivers answer
// 429 / RESOURCE_EXHAUSTED with Retry-After and clients back off instead of
// Skein running out of memory; it accepts again once memory is back under.
// Memory is the process's RSS: a Node process keeps most span bytes outside
// the JS heap (Buffers), so the heap alone would under-count. But RSS does
// not come back down after a burst: V8 keeps the heap pages it grew and the
// C allocator its freed chunks, both free for the process to reuse. Measured
// by RSS alone, a Skein whose burst had passed would refuse for ever. So the
// usage is the smaller of RSS and an estimate of what is live: V8's used heap
// and external memory (Buffers) plus the native memory the process had
// besides them when the limiter started (code, DuckDB, libraries). Native
// memory that grows beyond that baseline counts only through RSS; DuckDB's,
// the largest, has its own bound (storage.engine.memory_limit).
//
// Like the collector, it forces a garbage collection while over the soft
// limit (at most every min_gc_interval_when_soft_limited) and over the hard
// limit (every min_gc_interval_when_hard_limited). Node needs this more than
// Go: an idle V8 heap is not collected, so after a burst the garbage of the
// refused requests would stay counted as used heap, and the limiter would
// refuse for ever the very traffic that would have triggered a collection.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { gcFunction } from '../../../telemetry/gc.js';
import { residentSetBytes, v8LiveBytes } from '../../../telemetry/memory.js';
import { z } from 'zod';
import { Counter, Gauge } from 'prom-client';
import { durationMs } from '../../../config/zod-units.js';
import { registry } from '../../../telemetry/metrics.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { ResourceSpans } from '../../../otlp/model.js';
import { OverloadError } from '../../../lib/errors.js';
import type { TracesConsumer } from '../../consumer.js';
import type { RefusedSpans } from '../../../lib/refused.js';
import type { ComponentContext, Processor, ProcessorFactory } from '../../component.js';

export const memoryLimiterConfigSchema = z
  .strictObject({
    check_interval: durationMs.prefault('1s'),
    limit_mib: z.number().int().positive().optional(),
    spike_limit_mib: z.number().int().min(0).optional(),
    limit_percentage: z.number().int().min(1).max(100).optional(),
    spike_limit_percentage: z.number().int().min(0).max(100).optional(),
    /** Seconds a refused client is asked to wait. */
    retry_after_seconds: z.number().int().positive().default(1),
    /** Least time between two forced collections while over the soft limit (the collector's default). */
    min_gc_interval_when_soft_limited: durationMs.prefault('10s'),
    /** Least time between two forced collections while over the hard limit; 0: at every check. */
    min_gc_interval_when_hard_limited: durationMs.prefault('0s'),
  })
  .superRefine((c, ctx) => {
    if (c.limit_mib === undefined && c.limit_percentage === undefined) {
      ctx.addIssue({ code: 'custom', message: 'set limit_mib or limit_percentage', path: ['limit_mib'] });
    }
    if (c.limit_mib !== undefined && c.limit_percentage !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'set only one of limit_mib and limit_percentage', path: ['limit_percentage'] });
    }
    if (c.limit_mib !== undefined && c.spike_limit_mib !== undefined && c.spike_limit_mib >= c.limit_mib) {
      ctx.addIssue({ code: 'custom', message: 'spike_limit_mib must be smaller than limit_mib', path: ['spike_limit_mib'] });
    }
  });

export type MemoryLimiterConfig = z.output<typeof memoryLimiterConfigSchema>;

const MiB = 1024 * 1024;

const refusedBatches = new Counter({
  name: 'skein_memory_limiter_refused_batches_total',
  help: 'Batches refused because memory was over the soft limit (requests refused by the receivers before they were read included).',
  labelNames: ['processor'],
  registers: [registry],
});
const memoryGauge = new Gauge({
  name: 'skein_memory_limiter_rss_bytes',
  help: 'Process RSS at the last memory_limiter check.',
  labelNames: ['processor'],
  registers: [registry],
});
const usageGauge = new Gauge({
  name: 'skein_memory_limiter_usage_bytes',
  help: 'Memory counted against the limits at the last check: RSS, or less when much of it is free memory the runtime keeps.',
  labelNames: ['processor'],
  registers: [registry],
});
const refusingGauge = new Gauge({
  name: 'skein_memory_limiter_refusing',
  help: '1 while the memory_limiter refuses data.',
  labelNames: ['processor'],
  registers: [registry],
});

export interface MemoryLimits {
  hardBytes: number;
  softBytes: number;
}

/** The limits in bytes; percentages are of the cgroup memory limit when there is one, else of the machine's memory. */
export function memoryLimits(config: MemoryLimiterConfig, available = availableMemory()): MemoryLimits {
  const hard = config.limit_mib !== undefined ? config.limit_mib * MiB : Math.floor((available * config.limit_percentage!) / 100);
  const spike =
    config.spike_limit_mib !== undefined
      ? config.spike_limit_mib * MiB
      : config.spike_limit_percentage !== undefined
        ? Math.floor((available * config.spike_limit_percentage) / 100)
        : Math.floor(hard * 0.2);
  return { hardBytes: hard, softBytes: hard - spike };
}

function availableMemory(): number {
  try {
    const cgroup = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    if (/^\d+$/.test(cgroup)) return Math.min(Number(cgroup), totalmem());
  } catch {
    // no cgroup v2 limit
  }
  return totalmem();
}

export const memoryLimiterFactory: ProcessorFactory<MemoryLimiterConfig> = {
  type: 'memory_limiter',
  schema: memoryLimiterConfigSchema,
  create: (config, next, ctx) => new MemoryLimiter(config, next, ctx),
  // Passes batches on untouched or refuses them.
  keepsWireForm: true,
};

/** What the limiter measures and acts with; tests substitute both. */
export interface MemoryProbe {
  readRss(): number;
  /** Bytes V8 accounts as in use: used heap plus external memory (Buffers, ArrayBuffers). */
  readLive(): number;
  /** Forces a full garbage collection, if the runtime lets it. */
  collectGarbage(): void;
  now(): number;
}

const processProbe: MemoryProbe = {
  readRss: residentSetBytes,
  readLive: v8LiveBytes,
  collectGarbage: () => gcFunction()?.(),
  now: () => performance.now(),
};

export class MemoryLimiter implements Processor {
  private readonly limits: MemoryLimits;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private refusing = false;
  private rss = 0;
  /** What is counted against the limits (see the file's comment). */
  private usage = 0;
  /** RSS beyond V8's live memory at start: native memory the live estimate adds. */
  private nativeBaseline = 0;
  private lastGcAt = -Infinity;

  constructor(
    private readonly config: MemoryLimiterConfig,
    private readonly next: TracesConsumer,
    private readonly ctx: ComponentContext,
    private readonly probe: MemoryProbe = processProbe,
  ) {
    this.limits = memoryLimits(config);
    this.log = ctx.logger.child({ component: ctx.name });
  }

  async start(): Promise<void> {
    this.nativeBaseline = Math.max(0, this.probe.readRss() - this.probe.readLive());
    this.check(true);
    this.timer = setInterval(() => this.check(true), this.config.check_interval);
    this.timer.unref();
  }

  async consume(tenant: string, batch: ResourceSpans[]): Promise<RefusedSpans | void> {
    const refused = this.refusal();
    if (refused) throw refused;
    return this.next.consume(tenant, batch);
  }

  /**
   * The refusal a request gets now, or undefined while memory is under the soft
   * limit. Receivers ask before they read a request's body (src/receivers/admission.ts);
   * checking per request as well as on the timer catches a burst between two ticks.
   */
  refusal(): OverloadError | undefined {
    this.check();
    if (!this.refusing) return undefined;
    refusedBatches.inc({ processor: this.ctx.name });
    return new OverloadError(
      `memory usage ${toMiB(this.usage)} MiB is over the soft limit of ${toMiB(this.limits.softBytes)} MiB (processors.${this.ctx.name}); retry later`,
      this.config.retry_after_seconds,
    );
  }

  /** The spike room (hard − soft limit): what requests in flight may hold together before memory could pass the hard limit. */
  get spikeBytes(): number {
    return this.limits.hardBytes - this.limits.softBytes;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
  }

  /** `periodic`: the timer's check, the only one that may force a collection (a request's check must stay cheap). */
  private check(periodic = false): void {
    this.measure();
    if (periodic && this.usage > this.limits.softBytes) {
      const hard = this.usage > this.limits.hardBytes;
      const interval = hard ? this.config.min_gc_interval_when_hard_limited : this.config.min_gc_interval_when_soft_limited;
      const now = this.probe.now();
      if (now - this.lastGcAt >= interval) {
        this.lastGcAt = now;
        this.probe.collectGarbage();
        // Decide on what is left after the collection, as the collector does.
        this.measure();
      }
    }
    memoryGauge.set({ processor: this.ctx.name }, this.rss);
    usageGauge.set({ processor: this.ctx.name }, this.usage);
    const over = this.usage > this.limits.softBytes;
    if (over !== this.refusing) {
      this.refusing = over;
      refusingGauge.set({ processor: this.ctx.name }, over ? 1 : 0);
      if (over) this.log.warn({ usageMiB: toMiB(this.usage), rssMiB: toMiB(this.rss), softLimitMiB: toMiB(this.limits.softBytes) }, 'memory over the soft limit: refusing data');
      else this.log.info({ usageMiB: toMiB(this.usage), rssMiB: toMiB(this.rss) }, 'memory back under the soft limit: accepting data');
    }
  }

  private measure(): void {
    this.rss = this.probe.readRss();
    this.usage = Math.min(this.rss, this.nativeBaseline + this.probe.readLive());
  }
}

function toMiB(bytes: number): number {
  return Math.round(bytes / MiB);
}
