// Tag names and values for autocomplete: what Grafana's TraceQL editor offers.
// Each block and head has a tag index (src/store/blocks/tag-index.ts) that
// answers names and values without reading spans. What an index cannot answer
// exactly is scanned as before: blocks with one DuckDB query per scope (SELECT
// DISTINCT over the unnested attribute lists, within the time range and q's
// conditions), heads in JS with the same conditions. That is the case for a
// block or head only partly inside the time range, a high-cardinality name, a
// block written without an index, and any q: then the indexes only rule out
// the blocks and heads where q's equalities cannot hold. Answers are bounded
// in count and bytes, and say when they were cut.
import type { AnyValue, KeyValue, StoredSpan } from '../../otlp/model.js';
import type { BlockView } from '../../store/blocks/block-store.js';
import { INDEXED_INTRINSICS, type IndexScope, type IndexedIntrinsic, type IndexedValue, type ProbeValue, type TagIndex } from '../../store/blocks/tag-index.js';
import type { DuckEngine, QueryContext } from '../../store/engine/duckdb.js';
import type { Head } from '../../store/head/head.js';
import { fileList } from '../../store/blocks/reader.js';
import { sqlString } from '../../store/blocks/schema.js';
import type { Store } from '../../store/store.js';
import { conditionsSql, matchesAll, type Condition } from './conditions.js';
import { INTRINSIC_TAG_NAMES, type AttributeTagScope, type TagTarget } from './target.js';
import { QueryBudget } from '../budget.js';

export type TagScope = 'span' | 'resource' | 'event' | 'link' | 'instrumentation' | 'intrinsic';
export const TAG_SCOPES: readonly TagScope[] = ['resource', 'span', 'event', 'link', 'instrumentation', 'intrinsic'];

export interface TagQuery {
  /** Unix nanoseconds; `end` exclusive. Either may be open. */
  startUnixNano?: bigint | undefined;
  endUnixNano?: bigint | undefined;
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
}

export type TagValueType = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'keyword';

export interface TagValue {
  type: TagValueType;
  value: string;
}

export interface TagValuesResult {
  values: TagValue[];
  truncated: boolean;
  inspectedBytes: number;
  totalBlocks: number;
}

const STATUS_WORDS = ['unset', 'ok', 'error'];
const KIND_WORDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

// ── tag names ──────────────────────────────────────────────────────────────

const NAME_LISTS: Record<Exclude<TagScope, 'intrinsic'>, string> = {
  span: 'list_transform(attrs, lambda a: a.key)',
  resource: 'list_transform(resource_attrs, lambda a: a.key)',
  instrumentation: 'list_transform(scope_attrs, lambda a: a.key)',
  event: 'flatten(list_transform(events, lambda e: list_transform(e.attrs, lambda a: a.key)))',
  link: 'flatten(list_transform(links, lambda l: list_transform(l.attrs, lambda a: a.key)))',
};

export async function tagNames(store: Store, tenant: string, scopes: readonly TagScope[], q: TagQuery): Promise<TagNamesResult> {
  const budget = q.budget ?? QueryBudget.unlimited();
  return budget.run(() => tagNamesWithin(store, tenant, scopes, q, budget));
}

async function tagNamesWithin(store: Store, tenant: string, scopes: readonly TagScope[], q: TagQuery, budget: QueryBudget): Promise<TagNamesResult> {
  const attrScopes = scopes.filter((s): s is Exclude<TagScope, 'intrinsic'> => s !== 'intrinsic');
  const found = new Map(attrScopes.map((s) => [s, new Bounded<string>(q)]));
  let inspectedBytes = 0;
  let totalBlocks = 0;

  if (attrScopes.length > 0) {
    const fromIndex = (index: TagIndex): string[][] | undefined => {
      const lists = attrScopes.map((scope) => index.names(scope));
      return lists.every((l) => l !== undefined) ? lists : undefined;
    };
    const addLists = (lists: string[][]) =>
      lists.forEach((names, i) => {
        const set = found.get(attrScopes[i]!)!;
        for (const n of names) set.add(n, n);
      });
    const heads = chooseHeads(await store.heads(tenant), q, fromIndex, addLists);
    inspectedBytes += heads.indexBytes;

    const fromBlocks = store.blocks.withBlocks(tenant, range(q), async (blocks, engine) => {
      const { scan, indexBytes } = await chooseBlocks(blocks, q, fromIndex, addLists);
      const parts = scan.flatMap((b) => b.parts);
      if (parts.length === 0) return { bytes: indexBytes, n: blocks.length };
      const rows = await Promise.all(
        attrScopes.map((scope) =>
          engine.all<{ k: string }>(
            `SELECT DISTINCT unnest(${NAME_LISTS[scope]}) AS k FROM ${source(parts)} WHERE ${where(q)} ORDER BY k LIMIT ${q.limit + 1}`,
            undefined,
            budget,
          ),
        ),
      );
      return { rows, bytes: indexBytes + sumBytes(parts), n: blocks.length };
    });

    const seenResources = new Set<object>();
    const seenScopes = new Set<object>();
    const fromHead = scanHeads(heads.scan, q, budget, (s) => {
      for (const scope of attrScopes) {
        const set = found.get(scope)!;
        switch (scope) {
          case 'span':
            addKeys(set, s.span.attributes);
            break;
          case 'resource':
            if (!seenResources.has(s.resource)) {
              seenResources.add(s.resource);
              addKeys(set, s.resource.attributes);
            }
            break;
          case 'instrumentation':
            if (!seenScopes.has(s.scope)) {
              seenScopes.add(s.scope);
              addKeys(set, s.scope.attributes);
            }
            break;
          case 'event':
            for (const e of s.span.events) addKeys(set, e.attributes);
            break;
          case 'link':
            for (const l of s.span.links) addKeys(set, l.attributes);
            break;
        }
      }
    });
    const [blocks, headBytes] = await Promise.all([fromBlocks, fromHead]);
    blocks.rows?.forEach((rows, i) => {
      const set = found.get(attrScopes[i]!)!;
      for (const r of rows) set.add(r.k, r.k);
    });
    inspectedBytes += blocks.bytes + headBytes;
    totalBlocks += blocks.n;
  }

  let truncated = false;
  const out: TagNamesResult['scopes'] = [];
  for (const scope of scopes) {
    if (scope === 'intrinsic') {
      out.push({ name: 'intrinsic', tags: [...INTRINSIC_TAG_NAMES] });
      continue;
    }
    const { items, cut } = found.get(scope)!.result();
    truncated ||= cut;
    out.push({ name: scope, tags: items });
  }
  return { scopes: out, truncated, inspectedBytes, totalBlocks };
}

function addKeys(set: Bounded<string>, attrs: readonly KeyValue[]): void {
  for (const kv of attrs) set.add(kv.key, kv.key);
}

// ── tag values ─────────────────────────────────────────────────────────────

/** How a target's values are read from a block row and from a decoded span. */
interface ValueSource {
  /** SQL: lists of ATTR structs whose items with this key are unnested … */
  attr?: { key: string; lists: string[] };
  /** … or a scalar VARCHAR expression (one value per row), with its type and row filter. */
  scalar?: { sql: string; type: TagValueType; where?: string };
  /** Values of one decoded span (the head). */
  fromSpan: (s: StoredSpan, add: (v: TagValue) => void) => void;
  /** All values of a block or head from its tag index, or undefined when the index cannot tell. */
  fromIndex: (index: TagIndex) => IndexedValue[] | undefined;
}

export async function tagValues(store: Store, tenant: string, target: TagTarget, q: TagQuery): Promise<TagValuesResult> {
  const source_ = valueSource(target);
  if (!source_) return { values: [], truncated: false, inspectedBytes: 0, totalBlocks: 0 };
  const budget = q.budget ?? QueryBudget.unlimited();
  return budget.run(() => tagValuesWithin(store, tenant, source_, q, budget));
}

async function tagValuesWithin(store: Store, tenant: string, source_: ValueSource, q: TagQuery, budget: QueryBudget): Promise<TagValuesResult> {
  const set = new Bounded<TagValue>(q, (a, b) => cmp(a.value, b.value) || cmp(a.type, b.type));
  const add = (v: TagValue) => set.add(valueKey(v), v);
  const addAll = (values: readonly TagValue[]) => {
    for (const v of values) add(v);
  };
  const heads = chooseHeads(await store.heads(tenant), q, source_.fromIndex, addAll);
  // DuckDB reads the blocks on its own threads while the head is decoded here.
  const [blocks, headBytes] = await Promise.all([
    store.blocks.withBlocks(tenant, range(q), async (blocks, engine) => {
      const { scan, indexBytes } = await chooseBlocks(blocks, q, source_.fromIndex, addAll);
      const parts = scan.flatMap((b) => b.parts);
      if (parts.length === 0) return { bytes: indexBytes, n: blocks.length };
      const found = await blockValues(engine, parts, source_, q, budget);
      return { found, bytes: indexBytes + sumBytes(parts), n: blocks.length };
    }),
    scanHeads(heads.scan, q, budget, (s) => source_.fromSpan(s, add)),
  ]);
  for (const v of blocks.found ?? []) add(v);
  const { items, cut } = set.result();
  return { values: items, truncated: cut, inspectedBytes: blocks.bytes + headBytes + heads.indexBytes, totalBlocks: blocks.n };
}

// ── answering from tag indexes ─────────────────────────────────────────────

/**
 * What to do with a block or head: take its index's answer (all of its spans are in the
 * range and there is no q), skip it (q's equalities cannot hold on any of its spans), or
 * scan it.
 */
function decide<T>(index: TagIndex | undefined, bounds: { start: bigint; end: bigint }, q: TagQuery, fromIndex: (index: TagIndex) => T | undefined): { answer: T } | 'skip' | 'scan' {
  if (index === undefined) return 'scan';
  if (q.conditions.length > 0) return mayMatch(index, q.conditions) ? 'scan' : 'skip';
  if (!covers(q, bounds)) return 'scan';
  const answer = fromIndex(index);
  return answer === undefined ? 'scan' : { answer };
}

/** Every span between `start` and `end` is in the query's range (see `where`). */
function covers(q: TagQuery, bounds: { start: bigint; end: bigint }): boolean {
  return (q.startUnixNano === undefined || bounds.start >= q.startUnixNano) && (q.endUnixNano === undefined || bounds.end < q.endUnixNano);
}

/** Answers what the heads' indexes can (via `take`); returns the heads still to scan and the index bytes read. */
function chooseHeads<T>(
  heads: readonly Head[],
  q: TagQuery,
  fromIndex: (index: TagIndex) => T | undefined,
  take: (answer: T) => void,
): { scan: Head[]; indexBytes: number } {
  const scan: Head[] = [];
  let indexBytes = 0;
  for (const head of heads) {
    const bounds = head.timeRange;
    if (bounds === undefined) continue;
    if (q.startUnixNano !== undefined && bounds.endUnixNano < q.startUnixNano) continue;
    if (q.endUnixNano !== undefined && bounds.startUnixNano >= q.endUnixNano) continue;
    const d = decide(head.tags, { start: bounds.startUnixNano, end: bounds.endUnixNano }, q, fromIndex);
    if (d === 'scan') {
      scan.push(head);
      continue;
    }
    indexBytes += head.tags.sizeBytes;
    if (d !== 'skip') take(d.answer);
  }
  return { scan, indexBytes };
}

/** Answers what the blocks' indexes can (via `take`); returns the blocks still to scan and the index bytes read. */
async function chooseBlocks<T>(
  blocks: readonly BlockView[],
  q: TagQuery,
  fromIndex: (index: TagIndex) => T | undefined,
  take: (answer: T) => void,
): Promise<{ scan: BlockView[]; indexBytes: number }> {
  const indexes = await Promise.all(blocks.map((b) => b.tags()));
  const scan: BlockView[] = [];
  let indexBytes = 0;
  blocks.forEach((b, i) => {
    const d = decide(indexes[i], { start: b.minStartUnixNano, end: b.maxEndUnixNano }, q, fromIndex);
    if (d === 'scan') {
      scan.push(b);
      return;
    }
    indexBytes += b.tagsBytes;
    if (d !== 'skip') take(d.answer);
  });
  return { scan, indexBytes };
}

/** False when some condition of q cannot hold on any span the index covers (true when unsure). */
function mayMatch(index: TagIndex, conditions: readonly Condition[]): boolean {
  for (const c of conditions) {
    if (c.field.type === 'attribute') {
      const { scope, name } = c.field;
      let probe: ProbeValue | undefined;
      if (c.op === '=' && c.value) {
        const v = c.value;
        if (v.valueType === 'string') probe = { type: 'string', value: v.value };
        else if (v.valueType === 'bool') probe = { type: 'bool', value: v.value };
        else if (v.valueType === 'int' || v.valueType === 'float') probe = { type: 'number', value: Number(v.value) };
        else continue;
      } else if (c.op !== 'exists') {
        // Any other comparison still needs the attribute to be there.
        if (!mayHaveName(index, scope, name)) return false;
        continue;
      }
      const has = (s: IndexScope) => index.mayHave(s, name, probe);
      if (!(scope === 'none' ? has('span') || has('resource') : has(scope))) return false;
      continue;
    }
    if (c.op !== '=' || !c.value) continue;
    const v = c.value;
    switch (c.field.name) {
      case 'name':
      case 'statusMessage':
      case 'instrumentation:name':
      case 'instrumentation:version':
        if (v.valueType === 'string' && !index.mayHaveIntrinsic(c.field.name, v.value)) return false;
        break;
      case 'status':
        if (v.valueType === 'status' && !index.mayHaveIntrinsic('status', v.value)) return false;
        break;
      case 'kind':
        if (v.valueType === 'kind' && !index.mayHaveIntrinsic('kind', v.value)) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

function mayHaveName(index: TagIndex, scope: Extract<Condition['field'], { type: 'attribute' }>['scope'], name: string): boolean {
  return scope === 'none' ? index.mayHave('span', name) || index.mayHave('resource', name) : index.mayHave(scope, name);
}

/** Concatenated lists, or undefined when any is. */
function union(...lists: Array<IndexedValue[] | undefined>): IndexedValue[] | undefined {
  return lists.some((l) => l === undefined) ? undefined : lists.flatMap((l) => l!);
}

async function blockValues(engine: DuckEngine, parts: ReadonlyArray<{ path: string }>, src: ValueSource, q: TagQuery, query: QueryContext): Promise<TagValue[]> {
  // The count and byte bounds are applied in SQL over the sorted distinct values, so a
  // tag with millions of long values never reaches JS.
  let inner: string;
  if (src.attr) {
    const key = sqlString(src.attr.key);
    const lists = src.attr.lists.map((list) => `list_filter(${list}, lambda a: a.key = ${key} AND a.type IN (1, 2, 3, 4))`);
    const all = lists.length === 1 ? lists[0]! : `flatten([${lists.join(', ')}])`;
    inner = `SELECT DISTINCT CASE a.type WHEN 1 THEN 'string' WHEN 2 THEN 'bool' WHEN 3 THEN 'int' ELSE 'float' END AS type,
                    CASE a.type WHEN 1 THEN a.str WHEN 2 THEN a.bool::VARCHAR WHEN 3 THEN a.int::VARCHAR ELSE a.dbl::VARCHAR END AS v,
                    a.dbl AS dbl
             FROM (SELECT unnest(${all}) AS a FROM ${source(parts)} WHERE ${where(q)})`;
  } else {
    const s = src.scalar!;
    inner = `SELECT DISTINCT '${s.type}' AS type, v, NULL::DOUBLE AS dbl
             FROM (SELECT ${s.sql} AS v FROM ${source(parts)} WHERE ${where(q)}${s.where ? ` AND (${s.where})` : ''})
             WHERE v IS NOT NULL AND v <> ''`;
  }
  const rows = await engine.all<{ type: TagValueType; v: string; dbl: number | null }>(
    `SELECT type, v, dbl FROM (
       SELECT type, v, dbl, sum(strlen(v)) OVER (ORDER BY v, type ROWS UNBOUNDED PRECEDING) AS running
       FROM (${inner}))
     WHERE running - strlen(v) <= ${q.maxBytes}
     ORDER BY v, type LIMIT ${q.limit + 1}`,
    undefined,
    query,
  );
  return rows.map((r) => ({ type: r.type, value: r.type === 'float' && r.dbl !== null ? formatFloat(r.dbl) : r.v }));
}

function valueSource(target: TagTarget): ValueSource | undefined {
  if (target.type === 'attribute' || target.type === 'legacy') {
    const key = target.name;
    const legacy = target.type === 'legacy';
    const scope = target.type === 'legacy' ? 'none' : target.scope;
    // v1 lists strings only, as Tempo's v1 endpoint does; there `name` is also the span name.
    const pick = (attrs: readonly KeyValue[], add: (v: TagValue) => void) => {
      for (const kv of attrs) {
        if (kv.key !== key) continue;
        const v = typedValue(kv.value);
        if (v && (!legacy || v.type === 'string')) add(v);
      }
    };
    const fromSpan = (s: StoredSpan, add: (v: TagValue) => void) => {
      if (scope === 'span' || scope === 'none') pick(s.span.attributes, add);
      if (scope === 'resource' || scope === 'none') pick(s.resource.attributes, add);
      if (scope === 'instrumentation') pick(s.scope.attributes, add);
      if (scope === 'event') for (const e of s.span.events) pick(e.attributes, add);
      if (scope === 'link') for (const l of s.span.links) pick(l.attributes, add);
      if (legacy && key === 'name') add({ type: 'string', value: s.span.name });
    };
    if (legacy) {
      // As the blocks' SQL: strings only, and no empty ones.
      const fromIndex = (index: TagIndex) =>
        union(index.values('span', key), index.values('resource', key), key === 'name' ? index.intrinsicValues('name') : [])?.filter(
          (v) => v.type === 'string' && v.value !== '',
        );
      return { scalar: legacyScalar(key), fromSpan, fromIndex };
    }
    const fromIndex = (index: TagIndex) => (scope === 'none' ? union(index.values('span', key), index.values('resource', key)) : index.values(scope, key));
    // service.name has a column of its own: no need to unnest every span's resource attributes.
    if (scope === 'resource' && key === 'service.name') return { scalar: { sql: 'service_name', type: 'string' }, fromSpan, fromIndex };
    const lists: Record<AttributeTagScope, string[]> = {
      span: ['attrs'],
      resource: ['resource_attrs'],
      none: ['attrs', 'resource_attrs'],
      instrumentation: ['scope_attrs'],
      event: ['flatten(list_transform(events, lambda e: e.attrs))'],
      link: ['flatten(list_transform(links, lambda l: l.attrs))'],
    };
    return { attr: { key, lists: lists[scope] }, fromSpan, fromIndex };
  }
  const intrinsic = target.name;
  const fromIndex = (index: TagIndex) => (isIndexed(intrinsic) ? index.intrinsicValues(intrinsic) : undefined);
  const str = (sql: string, get: (s: StoredSpan) => string, where?: string): ValueSource => ({
    fromIndex,
    scalar: { sql, type: 'string', ...(where !== undefined && { where }) },
    fromSpan: (s, add) => {
      if (where === undefined || isRoot(s)) {
        const v = get(s);
        if (v !== '') add({ type: 'string', value: v });
      }
    },
  });
  switch (target.name) {
    case 'name':
      return str('name', (s) => s.span.name);
    case 'statusMessage':
      return str('status_message', (s) => s.span.status.message);
    case 'rootName':
      return str('name', (s) => s.span.name, 'octet_length(parent_span_id) = 0');
    case 'rootServiceName':
      return str('service_name', (s) => stringAttr(s.resource.attributes, 'service.name') ?? '', 'octet_length(parent_span_id) = 0');
    case 'instrumentation:name':
      return str('scope_name', (s) => s.scope.name);
    case 'instrumentation:version':
      return str('scope_version', (s) => s.scope.version);
    case 'event:name':
      return {
        fromIndex,
        scalar: { sql: 'unnest(list_transform(events, lambda e: e.name))', type: 'string' },
        fromSpan: (s, add) => {
          for (const e of s.span.events) if (e.name !== '') add({ type: 'string', value: e.name });
        },
      };
    case 'status':
      return {
        fromIndex,
        scalar: { sql: `[${STATUS_WORDS.map(sqlString).join(', ')}][status_code + 1]`, type: 'keyword' },
        fromSpan: (s, add) => add({ type: 'keyword', value: STATUS_WORDS[s.span.status.code] ?? 'unset' }),
      };
    case 'kind':
      return {
        fromIndex,
        scalar: { sql: `[${KIND_WORDS.map(sqlString).join(', ')}][kind + 1]`, type: 'keyword' },
        fromSpan: (s, add) => add({ type: 'keyword', value: KIND_WORDS[s.span.kind] ?? 'unspecified' }),
      };
    default:
      // Durations, IDs and counts: every span has its own, so listing them helps no one.
      return undefined;
  }
}

const INDEXED = new Set<string>(INDEXED_INTRINSICS);
function isIndexed(name: string): name is IndexedIntrinsic {
  return INDEXED.has(name);
}

/** v1 values of a bare name: string attributes of span and resource, plus span names for `name`. */
function legacyScalar(key: string): NonNullable<ValueSource['scalar']> {
  const strs = (list: string) => `list_transform(list_filter(${list}, lambda a: a.key = ${sqlString(key)} AND a.type = 1), lambda a: a.str)`;
  const lists = [strs('attrs'), key === 'service.name' ? '[service_name]' : strs('resource_attrs')];
  if (key === 'name') lists.push('[name]');
  return { sql: `unnest(flatten([${lists.join(', ')}]))`, type: 'string' };
}

function isRoot(s: StoredSpan): boolean {
  return s.span.parentSpanId.length === 0;
}

function stringAttr(attrs: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attrs) if (kv.key === key && kv.value.type === 'string') return kv.value.value;
  return undefined;
}

function typedValue(v: AnyValue): TagValue | undefined {
  switch (v.type) {
    case 'string':
      return { type: 'string', value: v.value };
    case 'int':
      return { type: 'int', value: v.value.toString() };
    case 'double':
      return { type: 'float', value: formatFloat(v.value) };
    case 'bool':
      return { type: 'bool', value: String(v.value) };
    default:
      // Arrays, maps and bytes are not offered: TraceQL cannot compare them with a literal.
      return undefined;
  }
}

function formatFloat(n: number): string {
  return String(n);
}

// ── shared ─────────────────────────────────────────────────────────────────

function sumBytes(parts: ReadonlyArray<{ bytes: number }>): number {
  return parts.reduce((n, p) => n + p.bytes, 0);
}

function range(q: TagQuery): { startUnixNano?: bigint | undefined; endUnixNano?: bigint | undefined } {
  return { startUnixNano: q.startUnixNano, endUnixNano: q.endUnixNano };
}

function source(parts: ReadonlyArray<{ path: string }>): string {
  return `read_parquet(${fileList(parts.map((p) => p.path))})`;
}

/** A span is in range when it overlaps [start, end). */
function where(q: TagQuery): string {
  const clauses: string[] = [];
  if (q.startUnixNano !== undefined) clauses.push(`start_unix_nano + duration_nano >= ${q.startUnixNano}`);
  if (q.endUnixNano !== undefined) clauses.push(`start_unix_nano < ${q.endUnixNano}`);
  clauses.push(conditionsSql(q.conditions));
  return clauses.join(' AND ');
}

/** Feeds each span of these heads in range that meets the conditions to `visit`; returns the bytes of the traces inspected. */
async function scanHeads(heads: readonly Head[], q: TagQuery, budget: QueryBudget, visit: (s: StoredSpan) => void): Promise<number> {
  let bytes = 0;
  for (const head of heads) {
    for (const trace of head.scan({ startUnixNano: q.startUnixNano, endUnixNano: q.endUnixNano })) {
      bytes += trace.bytes;
      for (const s of trace.spans) {
        const { startTimeUnixNano: start, endTimeUnixNano: end } = s.span;
        if (q.startUnixNano !== undefined && end < q.startUnixNano) continue;
        if (q.endUnixNano !== undefined && start >= q.endUnixNano) continue;
        if (!matchesAll(q.conditions, s)) continue;
        visit(s);
      }
      // A large head is decoded in slices so ingestion and other requests keep running.
      await budget.pace(trace.spans.length);
    }
  }
  return bytes;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Distinct items, kept to the smallest ones that can still be answered: whenever it
 * holds twice what the limits allow, it is sorted and trimmed. So the answer is the
 * first values in order whatever order the head and the blocks were read in, and
 * memory stays within about twice the limits.
 */
class Bounded<T extends string | TagValue> {
  private items = new Map<string, T>();
  private bytes = 0;
  private cut = false;

  constructor(
    private readonly q: TagQuery,
    private readonly order: (a: T, b: T) => number = (a, b) => cmp(a as string, b as string),
  ) {}

  add(key: string, item: T): void {
    if (this.items.has(key)) return;
    this.items.set(key, item);
    this.bytes += sizeOf(item);
    if (this.items.size > 2 * (this.q.limit + 1) || this.bytes > 2 * this.q.maxBytes + 65536) this.trim();
  }

  result(): { items: T[]; cut: boolean } {
    const items = this.trim();
    return { items, cut: this.cut };
  }

  /** Sorts, keeps what fits the limits, and returns it. */
  private trim(): T[] {
    const all = [...this.items.values()].sort(this.order);
    const kept: T[] = [];
    let bytes = 0;
    for (const item of all) {
      const size = sizeOf(item);
      if (kept.length >= this.q.limit || bytes + size > this.q.maxBytes) {
        this.cut = true;
        break;
      }
      kept.push(item);
      bytes += size;
    }
    this.items = new Map(kept.map((item) => [typeof item === 'string' ? item : valueKey(item), item]));
    this.bytes = bytes;
    return kept;
  }
}

function sizeOf(item: string | TagValue): number {
  return Buffer.byteLength(typeof item === 'string' ? item : item.value);
}

function valueKey(v: TagValue): string {
  return `${v.type}\u0000${v.value}`;
}
