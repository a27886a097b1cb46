// PLACEHOLDER until the fetch mode lands: replaced wholesale by its implementation.
import type { AggregateResult, FetchAggregateRequest } from './request.js';
import type { SpanSources } from './sources.js';

export async function fetchAggregate(sources: SpanSources, tenant: string, req: FetchAggregateRequest): Promise<AggregateResult> {
  throw new Error('fetchAggregate: being written');
}
