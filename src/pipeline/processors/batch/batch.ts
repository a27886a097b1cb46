// The `batch` processor (collector syntax: timeout, send_batch_size,
// send_batch_max_size). Unlike the collector's, a caller's consume() resolves
// only when the batch holding its spans has been consumed downstream, so an
// acknowledgement still means "durable": batching trades ack latency for
// fewer, larger writes, never safety.
import { z } from 'zod';
import { countSpans, type ResourceSpans } from '../../../otlp/model.js';
import { durationMs } from '../../../config/zod-units.js';
import type { TracesConsumer } from '../../consumer.js';
import type { Processor, ProcessorFactory } from '../../component.js';
import { batchMetrics, type BatchTrigger } from './metrics.js';

export const batchConfigSchema = z
  .strictObject({
    /** Longest a span waits for its batch to fill. */
    timeout: durationMs      .prefault('200ms'),
    /** A batch is sent as soon as it holds this many spans. */
    send_batch_size: z.number().int().positive().default(8192),
    /** Larger batches are split to at most this many spans (0: no limit). */
    send_batch_max_size: z.number().int().min(0).default(0),
  })
  .refine((c) => c.send_batch_max_size === 0 || c.send_batch_max_size >= c.send_batch_size, {
    message: 'send_batch_max_size must be 0 or at least send_batch_size',
    path: ['send_batch_max_size'],
  });

export type BatchConfig = z.output<typeof batchConfigSchema>;

interface Pending {
  batch: ResourceSpans[];
  spans: number;
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
  timer: NodeJS.Timeout | undefined;
}

export const batchFactory: ProcessorFactory<BatchConfig> = {
  type: 'batch',
  schema: batchConfigSchema,
  create: (config, next, ctx) => new BatchProcessor(config, next, ctx.name),
  // Merged and split batches are new arrays (without a wire form); spans are never changed.
  keepsWireForm: true,
};

export class BatchProcessor implements Processor {
  /** One batch being filled per tenant: a batch never mixes tenants. */
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly config: BatchConfig,
    private readonly next: TracesConsumer,
    /** The instance's name in the configuration (`batch`, `batch/big`), its metrics' `processor` label. */
    private readonly name = 'batch',
  ) {}

  consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    const spans = countSpans(batch);
    if (spans === 0) return Promise.resolve();
    let p = this.pending.get(tenant);
    if (!p) {
      p = { batch: [], spans: 0, waiters: [], timer: undefined };
      this.pending.set(tenant, p);
      p.timer = setTimeout(() => void this.send(tenant, 'timeout'), this.config.timeout);
    }
    p.batch.push(...batch);
    p.spans += spans;
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (p.spans >= this.config.send_batch_size) void this.send(tenant, 'size');
    return done;
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.pending.keys()].map((tenant) => this.send(tenant, 'shutdown')));
  }

  private async send(tenant: string, trigger: BatchTrigger): Promise<void> {
    const p = this.pending.get(tenant);
    if (!p) return;
    this.pending.delete(tenant);
    clearTimeout(p.timer);
    batchMetrics.sends.inc({ processor: this.name, trigger });
    try {
      for (const part of splitBatch(p.batch, this.config.send_batch_max_size)) {
        batchMetrics.sendSize.observe({ processor: this.name }, part === p.batch ? p.spans : countSpans(part));
        await this.next.consume(tenant, part);
      }
      for (const w of p.waiters) w.resolve();
    } catch (err) {
      for (const w of p.waiters) w.reject(err);
    }
  }
}

/** Splits a batch into parts of at most `max` spans (0: one part), keeping resource and scope groupings. */
export function splitBatch(batch: ResourceSpans[], max: number): ResourceSpans[][] {
  if (max === 0 || countSpans(batch) <= max) return [batch];
  const parts: ResourceSpans[][] = [];
  let current: ResourceSpans[] = [];
  let room = max;
  for (const rs of batch) {
    for (const ss of rs.scopeSpans) {
      let offset = 0;
      while (offset < ss.spans.length) {
        const take = Math.min(room, ss.spans.length - offset);
        current.push({ resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [{ scope: ss.scope, schemaUrl: ss.schemaUrl, spans: ss.spans.slice(offset, offset + take) }] });
        offset += take;
        room -= take;
        if (room === 0) {
          parts.push(current);
          current = [];
          room = max;
        }
      }
    }
  }
  if (current.length > 0) parts.push(current);
  return parts;
}
