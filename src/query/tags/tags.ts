// Tag names and values for autocomplete: what Grafana's TraceQL editor offers. The
// store answers them (Store.fetch's tag-names and tag-values: tag indexes where they
// can answer, scans of heads and blocks where they cannot); here the endpoints' words
// become its requests, the intrinsics Tempo lists are added, and the work runs within
// the query's budget.
import type { Store } from '../../store/store.js';
import type { Condition, FetchLimits, PartialAnswer, TagScope as FetchTagScope, TagValuesResult, Tenants } from '../../store/fetch/request.js';
import { fetchTargetOf, INTRINSIC_TAG_NAMES, type TagTarget } from './target.js';
import { QueryBudget } from '../budget.js';

export type { TagValue, TagValueType, TagValuesResult } from '../../store/fetch/request.js';

export type TagScope = FetchTagScope | 'intrinsic';
export const TAG_SCOPES: readonly TagScope[] = ['resource', 'span', 'event', 'link', 'instrumentation', 'intrinsic'];

export interface TagQuery {
  /** Unix nanoseconds; `end` exclusive. Either may be open. */
  startUnixNano?: bigint | undefined;
  endUnixNano?: bigint | undefined;
  /** Every one must hold on a span for its names and values to count (conditionsOf). */
  conditions: readonly Condition[];
  /** Most names (per scope) or values returned. */
  limit: number;
  /** Most bytes of names (per scope) or values returned. */
  maxBytes: number;
  /** Paces the head scan and ends the request at query.timeout (unbounded when absent). */
  budget?: QueryBudget | undefined;
}

export interface TagNamesResult {
  scopes: Array<{ name: TagScope; tags: string[] }>;
  /** True when some scope's names were cut to the limits. */
  truncated: boolean;
  inspectedBytes: number;
  totalBlocks: number;
  /** Set when some cluster peers did not answer: names they hold may be missing. */
  partial?: PartialAnswer | undefined;
}


export async function tagNames(store: Store, tenants: Tenants, scopes: readonly TagScope[], q: TagQuery): Promise<TagNamesResult> {
  const attributeScopes = scopes.filter((s): s is FetchTagScope => s !== 'intrinsic');
  const budget = q.budget ?? QueryBudget.unlimited();
  const found = await budget.run(() =>
    attributeScopes.length === 0
      ? Promise.resolve({ scopes: [], truncated: false, inspectedBytes: 0, totalBlocks: 0 })
      : store.fetch(tenants, { kind: 'tag-names', scopes: attributeScopes, ...request(q, budget) }),
  );
  const byScope = new Map<TagScope, string[]>(found.scopes.map((s) => [s.name, s.tags]));
  byScope.set('intrinsic', [...INTRINSIC_TAG_NAMES]);
  return { ...found, scopes: scopes.map((name) => ({ name, tags: byScope.get(name)! })) };
}

export async function tagValues(store: Store, tenants: Tenants, target: TagTarget, q: TagQuery): Promise<TagValuesResult> {
  const fetchTarget = fetchTargetOf(target);
  if (!fetchTarget) return { values: [], truncated: false, inspectedBytes: 0, totalBlocks: 0 };
  const budget = q.budget ?? QueryBudget.unlimited();
  return budget.run(() => store.fetch(tenants, { kind: 'tag-values', target: fetchTarget, ...request(q, budget) }));
}

function request(q: TagQuery, budget: QueryBudget): FetchLimits & Pick<TagQuery, 'startUnixNano' | 'endUnixNano' | 'limit' | 'maxBytes'> & { conditions: Condition[] } {
  return {
    startUnixNano: q.startUnixNano,
    endUnixNano: q.endUnixNano,
    conditions: [...q.conditions],
    limit: q.limit,
    maxBytes: q.maxBytes,
    pacer: budget,
    // Tag requests are bounded by their answer's limits and query.timeout, not by bytes read.
    maxBytesInspected: 0,
    overLimit: (bytes) => new Error(`a tag request read ${bytes} bytes`),
  };
}
