// Tag names and values (Store.fetch's tag-names and tag-values): the attribute names
// and a tag's distinct values among spans in a range that meet the request's
// conditions, for autocomplete. Each block and head has a tag index that answers
// without reading spans (tag-plan.ts says when); the rest is scanned, blocks with one
// DuckDB query per scope (blocks/tag-sql.ts) while the heads' spans are decoded and
// matched here (head/match.ts). Answers are bounded in count and bytes and say when
// they were cut.
import type { KeyValue, StoredSpan } from '../../otlp/model.js';
import type { TagIndex } from '../blocks/tag-index.js';
import { blockTagNames, blockTagValues, type TagRows } from '../blocks/tag-sql.js';
import type { Head } from '../head/head.js';
import { spanMatches } from '../head/match.js';
import { Bounded, compareStrings } from './bounded.js';
import type { FetchLimits, FetchTagNamesRequest, FetchTagValuesRequest, SpanFilter, TagNamesResult, TagScope, TagValue, TagValuesResult } from './request.js';
import type { SpanSources } from './sources.js';
import { chooseBlocks, chooseHeads, type TagSelection } from './tag-plan.js';
import { targetReader } from './tag-targets.js';

export async function fetchTagNames(sources: SpanSources, tenant: string, req: FetchTagNamesRequest): Promise<TagNamesResult> {
  const scopes = [...new Set(req.scopes)];
  if (scopes.length === 0) return { scopes: [], truncated: false, inspectedBytes: 0, totalBlocks: 0 };
  const found = new Map(scopes.map((s) => [s, tagNameSet(req)]));
  const addLists = (lists: string[][]) =>
    lists.forEach((names, i) => {
      const set = found.get(scopes[i]!)!;
      for (const n of names) set.add(n);
    });
  const fromIndex = (index: TagIndex): string[][] | undefined => {
    const lists = scopes.map((scope) => index.names(scope));
    return lists.every((l) => l !== undefined) ? (lists as string[][]) : undefined;
  };
  const sel = selection(req);
  const inspected = new Inspected(req);
  const heads = chooseHeads(await sources.heads(tenant), sel, fromIndex, addLists);
  inspected.add(heads.indexBytes);

  const seenResources = new Set<object>();
  const seenScopes = new Set<object>();
  const add = (scope: TagScope, attrs: readonly KeyValue[]) => {
    const set = found.get(scope)!;
    for (const kv of attrs) set.add(kv.key);
  };
  // DuckDB reads the blocks on its own threads while the heads are decoded here.
  const [blocks] = await Promise.all([
    sources.blocks.withBlocks(tenant, sel, async (blocks, engine) => {
      const { scan, indexBytes } = await chooseBlocks(blocks, sel, fromIndex, addLists);
      const rows = rowsOf(scan, sel);
      inspected.add(indexBytes + partBytes(scan));
      if (rows.parts.length > 0) addLists(await Promise.all(scopes.map((scope) => blockTagNames(engine, rows, scope, req.limit, req.pacer))));
      return blocks.length;
    }),
    scanHeads(heads.scan, sel, req, inspected, (s) => {
      for (const scope of scopes) {
        switch (scope) {
          case 'span':
            add(scope, s.span.attributes);
            break;
          case 'resource':
            if (!seenResources.has(s.resource)) {
              seenResources.add(s.resource);
              add(scope, s.resource.attributes);
            }
            break;
          case 'instrumentation':
            if (!seenScopes.has(s.scope)) {
              seenScopes.add(s.scope);
              add(scope, s.scope.attributes);
            }
            break;
          case 'event':
            for (const e of s.span.events) add(scope, e.attributes);
            break;
          case 'link':
            for (const l of s.span.links) add(scope, l.attributes);
            break;
        }
      }
    }),
  ]);

  let truncated = false;
  const out = scopes.map((name) => {
    const { items, cut } = found.get(name)!.result();
    truncated ||= cut;
    return { name, tags: items };
  });
  return { scopes: out, truncated, inspectedBytes: inspected.bytes, totalBlocks: blocks };
}

export async function fetchTagValues(sources: SpanSources, tenant: string, req: FetchTagValuesRequest): Promise<TagValuesResult> {
  const reader = targetReader(req.target);
  const set = tagValueSet(req);
  const add = (v: TagValue) => set.add(v);
  const addAll = (values: readonly TagValue[]) => values.forEach(add);
  const sel = selection(req);
  const inspected = new Inspected(req);
  const heads = chooseHeads(await sources.heads(tenant), sel, reader.fromIndex, addAll);
  inspected.add(heads.indexBytes);
  // DuckDB reads the blocks on its own threads while the heads are decoded here.
  const [blocks] = await Promise.all([
    sources.blocks.withBlocks(tenant, sel, async (blocks, engine) => {
      const { scan, indexBytes } = await chooseBlocks(blocks, sel, reader.fromIndex, addAll);
      const rows = rowsOf(scan, sel);
      inspected.add(indexBytes + partBytes(scan));
      if (rows.parts.length > 0) addAll(await blockTagValues(engine, rows, req.target, req, req.pacer));
      return blocks.length;
    }),
    scanHeads(heads.scan, sel, req, inspected, (s) => reader.fromSpan(s, add)),
  ]);
  const { items, cut } = set.result();
  return { values: items, truncated: cut, inspectedBytes: inspected.bytes, totalBlocks: blocks };
}

/** Tag names of one scope as an answer keeps them: the first in order, within the request's limits. */
export function tagNameSet(limits: { limit: number; maxBytes: number }): Bounded<string> {
  return new Bounded<string>(limits, (n) => n, (n) => Buffer.byteLength(n), compareStrings);
}

/** Tag values as an answer keeps them: the first in order (by value, then type), within the request's limits. */
export function tagValueSet(limits: { limit: number; maxBytes: number }): Bounded<TagValue> {
  return new Bounded<TagValue>(
    limits,
    (v) => `${v.type}\u0000${v.value}`,
    (v) => Buffer.byteLength(v.value),
    (a, b) => compareStrings(a.value, b.value) || compareStrings(a.type, b.type),
  );
}

/** The request's range and conditions; every condition must hold. */
interface Selection extends TagSelection {
  /** The conditions as one filter (null: none). */
  filter: SpanFilter | null;
}

function selection(req: FetchTagNamesRequest | FetchTagValuesRequest): Selection {
  const filter: SpanFilter | null = req.conditions.length === 0 ? null : { type: 'and', args: req.conditions.map((condition) => ({ type: 'condition', condition })) };
  return { startUnixNano: req.startUnixNano, endUnixNano: req.endUnixNano, conditions: req.conditions, filter };
}

function rowsOf(blocks: ReadonlyArray<{ parts: ReadonlyArray<{ path: string }> }>, sel: Selection): TagRows {
  return { parts: blocks.flatMap((b) => b.parts), range: sel, filter: sel.filter };
}

function partBytes(blocks: ReadonlyArray<{ parts: ReadonlyArray<{ bytes: number }> }>): number {
  return blocks.reduce((n, b) => n + b.parts.reduce((m, p) => m + p.bytes, 0), 0);
}

/** Bytes read (index, Parquet parts, head traces), held to the request's maxBytesInspected. */
class Inspected {
  bytes = 0;
  constructor(private readonly limits: FetchLimits) {}

  add(bytes: number): void {
    this.bytes += bytes;
    if (this.limits.maxBytesInspected > 0 && this.bytes > this.limits.maxBytesInspected) throw this.limits.overLimit(this.bytes);
  }
}

/** Feeds each span of these heads in range that meets the conditions to `visit`. */
async function scanHeads(
  heads: readonly Head[],
  sel: Selection,
  limits: FetchLimits,
  inspected: Inspected,
  visit: (s: StoredSpan) => void,
): Promise<void> {
  for (const head of heads) {
    for (const trace of head.scan({ startUnixNano: sel.startUnixNano, endUnixNano: sel.endUnixNano })) {
      inspected.add(trace.bytes);
      for (const s of trace.spans) {
        const { startTimeUnixNano: start, endTimeUnixNano: end } = s.span;
        if (sel.startUnixNano !== undefined && end < sel.startUnixNano) continue;
        if (sel.endUnixNano !== undefined && start >= sel.endUnixNano) continue;
        if (spanMatches(sel.filter, s)) visit(s);
      }
      // A large head is decoded in slices so ingestion and other requests keep running.
      await limits.pacer?.pace(trace.spans.length);
    }
  }
}
