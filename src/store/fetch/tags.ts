// PLACEHOLDER until the fetch mode lands: replaced wholesale by its implementation.
import type { FetchTagNamesRequest, FetchTagValuesRequest, TagNamesResult, TagValuesResult } from './request.js';
import type { SpanSources } from './sources.js';

export async function fetchTagNames(sources: SpanSources, tenant: string, req: FetchTagNamesRequest): Promise<TagNamesResult> {
  throw new Error('fetchTagNames: being written');
}

export async function fetchTagValues(sources: SpanSources, tenant: string, req: FetchTagValuesRequest): Promise<TagValuesResult> {
  throw new Error('fetchTagValues: being written');
}
