// The one entry point every pipeline stage shares (the collector's ConsumeTraces):
// a stage takes a batch for a tenant and hands what it keeps to the next stage.
// It resolves once the batch is safely handed on, which for the store means durable,
// to the spans refused under a tenant's limit if any were (src/lib/refused.ts): a stage
// that hands a batch on as it came returns what the next stage returned.
import type { ResourceSpans } from '../otlp/model.js';
import type { RefusedSpans } from '../lib/refused.js';

export interface TracesConsumer {
  consume(tenant: string, batch: ResourceSpans[]): Promise<RefusedSpans | void>;
}
