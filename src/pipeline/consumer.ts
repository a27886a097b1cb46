// The one entry point every pipeline stage shares (the collector's ConsumeTraces):
// a stage takes a batch for a tenant and hands what it keeps to the next stage.
// It resolves once the batch is safely handed on, which for the store means durable.
import type { ResourceSpans } from '../otlp/model.js';

export interface TracesConsumer {
  consume(tenant: string, batch: ResourceSpans[]): Promise<void>;
}
