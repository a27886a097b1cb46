// The `memory_limiter` processor (collector syntax). Above the soft limit
// (limit − spike) it refuses data with a retryable error, so receivers answer
// 429 / RESOURCE_EXHAUSTED with Retry-After and clients back off instead of
// Skein running out of memory; it accepts again once memory is back under.
// Memory is the process's RSS: a Node process keeps most span bytes outside
// the JS heap (Buffers), so the heap alone would under-count.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { z } from 'zod';
import { Counter, Gauge } from 'prom-client';
import { durationMs } from '../../../config/zod-units.js';
import { registry } from '../../../telemetry/metrics.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { ResourceSpans } from '../../../otlp/model.js';
import { OverloadError } from '../../errors.js';
import type { TracesConsumer } from '../../consumer.js';
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
  help: 'Batches refused because memory was over the soft limit.',
  labelNames: ['processor'],
  registers: [registry],
});
const memoryGauge = new Gauge({
  name: 'skein_memory_limiter_rss_bytes',
  help: 'Process RSS at the last memory_limiter check.',
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
};

export class MemoryLimiter implements Processor {
  private readonly limits: MemoryLimits;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private refusing = false;
  private rss = 0;

  constructor(
    private readonly config: MemoryLimiterConfig,
    private readonly next: TracesConsumer,
    private readonly ctx: ComponentContext,
    private readonly readRss: () => number = () => process.memoryUsage.rss(),
  ) {
    this.limits = memoryLimits(config);
    this.log = ctx.logger.child({ component: ctx.name });
  }

  async start(): Promise<void> {
    this.check();
    this.timer = setInterval(() => this.check(), this.config.check_interval);
    this.timer.unref();
  }

  async consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    // Checking per request as well as on the timer catches a burst between two ticks.
    this.check();
    if (this.refusing) {
      refusedBatches.inc({ processor: this.ctx.name });
      throw new OverloadError(
        `memory usage ${toMiB(this.rss)} MiB is over the soft limit of ${toMiB(this.limits.softBytes)} MiB (processors.${this.ctx.name}); retry later`,
        this.config.retry_after_seconds,
      );
    }
    return this.next.consume(tenant, batch);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
  }

  private check(): void {
    this.rss = this.readRss();
    memoryGauge.set({ processor: this.ctx.name }, this.rss);
    const over = this.rss > this.limits.softBytes;
    if (over !== this.refusing) {
      this.refusing = over;
      refusingGauge.set({ processor: this.ctx.name }, over ? 1 : 0);
      if (over) this.log.warn({ rssMiB: toMiB(this.rss), softLimitMiB: toMiB(this.limits.softBytes) }, 'memory over the soft limit: refusing data');
      else this.log.info({ rssMiB: toMiB(this.rss) }, 'memory back under the soft limit: accepting data');
    }
    if (this.rss > this.limits.hardBytes) collectGarbage();
  }
}

function collectGarbage(): void {
  // Only when Node runs with --expose-gc (`npm start` does); otherwise V8 collects on its own.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

function toMiB(bytes: number): number {
  return Math.round(bytes / MiB);
}
