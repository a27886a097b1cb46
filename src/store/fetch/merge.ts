// This instance's answer merged with its peers' parts (Store.fetch's scope `all` in a
// cluster; remote.ts). Peers that fail are left out and named in the answer's `partial`.
//
//  - traces: the streams merged by key, most recent first, each trace once (by ID): the
//    first version seen wins. Equal keys go to a peer's version first, since the peer that
//    holds a trace in its head read it whole from its head and every block it knows. With
//    order `none` the peers' streams come first, then this instance's (the same
//    preference; their traces are few, and ending their calls early frees them).
//    The versions differ only at the edges: a peer lists no block it has not polled yet,
//    and this instance none a peer wrote lately; a trace in both a peer's head and such a
//    block is seen whole by neither, and the version that comes first is the answer.
//  - aggregate: the peers' head traces are appended to the traces the engine evaluates,
//    as they are (never de-duplicated: a trace in two heads holds different spans in each).
//  - tag names and values: the union, cut to the request's limits as one answer is (the
//    first in order of each part include the first of the union), and cut if a part was.
//
// Several tenants read as one (Tempo's `a|b` federation, Store.fetch given a list) are
// merged the same way, each tenant's answer one part, except that their traces are never
// de-duplicated (the same trace ID in two tenants holds different spans: the search puts
// the parts together, as trace by ID does) and their blocks are counted in each.
import type {
  AggregateResult,
  FetchedTrace,
  FetchedTraces,
  FetchStats,
  FetchTagNamesRequest,
  FetchTagValuesRequest,
  PartialAnswer,
  TagNamesResult,
  TagValuesResult,
} from './request.js';
import { PeerError, type RemoteTraces } from './remote.js';
import { tagNameSet, tagValueSet } from './tags.js';

/** The peers that failed during one fetch, as its answer's `partial`. */
export class PeerFailures {
  private readonly failed = new Map<string, string>();

  /** Records a peer's failure (true); false for any other error, which the caller rethrows. */
  record(err: unknown): boolean {
    if (!(err instanceof PeerError)) return false;
    if (!this.failed.has(err.peer)) this.failed.set(err.peer, err.message);
    return true;
  }

  get partial(): PartialAnswer | undefined {
    if (this.failed.size === 0) return undefined;
    const peers = [...this.failed.keys()].sort();
    return {
      peers,
      message: `partial answer: ${peers.length} peer(s) did not answer, so spans held only there may be missing (${peers.map((p) => this.failed.get(p)).join('; ')})`,
    };
  }

  /** The answers of the peers that gave one, the others recorded. */
  async settle<T>(answers: ReadonlyArray<Promise<T>>): Promise<T[]> {
    const out: T[] = [];
    for (const r of await Promise.allSettled(answers)) {
      if (r.status === 'fulfilled') out.push(r.value);
      else if (!this.record(r.reason)) throw r.reason;
    }
    return out;
  }
}

/** A stream being merged: its next trace, read when the merge needs it. */
interface Source {
  it: AsyncIterator<FetchedTrace>;
  remote: boolean;
  next: FetchedTrace | undefined;
  /** Its next trace was taken (or none was read yet): read another before choosing. */
  stale: boolean;
  done: boolean;
}

interface MergeOptions {
  order: 'most-recent-first' | 'none';
  /** Keeps each trace ID's first version only. */
  dedupe: boolean;
  keyFloor?: (() => bigint | undefined) | undefined;
}

/**
 * This instance's traces and the peers' as one stream. `order` as the request's (`none`:
 * peers first); `dedupe` keeps each trace ID's first version only.
 */
export function mergeTraces(local: FetchedTraces, remotes: readonly RemoteTraces[], opts: MergeOptions): FetchedTraces {
  const failures = new PeerFailures();
  const stats: FetchStats = {
    get inspectedBytes() {
      return remotes.reduce((n, r) => n + r.stats.inspectedBytes, local.stats.inspectedBytes);
    },
    get inspectedTraces() {
      return remotes.reduce((n, r) => n + r.stats.inspectedTraces, local.stats.inspectedTraces);
    },
    get totalBlocks() {
      return local.stats.totalBlocks;
    },
    get partial() {
      return failures.partial;
    },
  };
  // Peers first: they win ties and, with order none, come first.
  const parts = [...remotes.map((traces) => ({ traces, remote: true })), { traces: local, remote: false }];
  return { stats, [Symbol.asyncIterator]: () => interleave(parts, failures, opts) };
}

/**
 * Several tenants' traces as one stream (each tenant's as Store.fetch answers it), in the
 * request's order. Not de-duplicated: a trace ID in two tenants comes once from each.
 */
export function mergeTenantTraces(parts: readonly FetchedTraces[], opts: Omit<MergeOptions, 'dedupe'>): FetchedTraces {
  const sum = (field: 'inspectedBytes' | 'inspectedTraces' | 'totalBlocks'): number => parts.reduce((n, p) => n + p.stats[field], 0);
  const stats: FetchStats = {
    get inspectedBytes() {
      return sum('inspectedBytes');
    },
    get inspectedTraces() {
      return sum('inspectedTraces');
    },
    get totalBlocks() {
      return sum('totalBlocks');
    },
    get partial() {
      return combinePartials(parts.map((p) => p.stats.partial));
    },
  };
  const sources = parts.map((traces) => ({ traces, remote: false }));
  return { stats, [Symbol.asyncIterator]: () => interleave(sources, new PeerFailures(), { ...opts, dedupe: false }) };
}

/** Several tenants' aggregates as one: their rows (the first stage adds rows of the same group up), and the traces left to the engine. */
export function mergeTenantAggregates(parts: readonly AggregateResult[]): AggregateResult {
  const paths = parts.map((p) => p.blockPath);
  return {
    rows: parts.flatMap((p) => p.rows),
    traces: mergeTenantTraces(
      parts.map((p) => p.traces),
      { order: 'none' },
    ),
    blockPath: paths.includes('sql') ? 'sql' : paths.includes('spans') ? 'spans' : 'none',
  };
}

/** One PartialAnswer for the parts of an answer (several tenants'): every peer missing from any. */
export function combinePartials(partials: ReadonlyArray<PartialAnswer | undefined>): PartialAnswer | undefined {
  const some = partials.filter((p): p is PartialAnswer => p !== undefined);
  if (some.length <= 1) return some[0];
  return { peers: [...new Set(some.flatMap((p) => p.peers))].sort(), message: [...new Set(some.map((p) => p.message))].join('; ') };
}

/** The streams' traces, each read only when the merge needs its next. A failing remote is recorded and left out; any other failure ends the merge. */
async function* interleave(
  parts: ReadonlyArray<{ traces: AsyncIterable<FetchedTrace>; remote: boolean }>,
  failures: PeerFailures,
  opts: MergeOptions,
): AsyncGenerator<FetchedTrace> {
  const sources: Source[] = parts.map((p) => ({ it: p.traces[Symbol.asyncIterator](), remote: p.remote, next: undefined, stale: true, done: false }));
  const advance = async (s: Source): Promise<void> => {
    s.stale = false;
    try {
      const r = await s.it.next();
      s.done = r.done === true;
      s.next = r.done === true ? undefined : r.value;
    } catch (err) {
      if (!s.remote || !failures.record(err)) throw err;
      s.done = true;
      s.next = undefined;
    }
  };
  const seen = new Set<string>();
  try {
    for (;;) {
      // Sources are read only when the merge needs their next trace: a read may cost a batch of the store's work.
      await Promise.all(sources.filter((s) => s.stale && !s.done).map(advance));
      let best: Source | undefined;
      for (const s of sources) {
        if (s.next === undefined) continue;
        if (best === undefined) best = s;
        else if (opts.order === 'most-recent-first' && s.next.key > best.next!.key) best = s;
        if (opts.order === 'none') break;
      }
      if (best === undefined) return;
      const t = best.next!;
      if (opts.order === 'most-recent-first') {
        const floor = opts.keyFloor?.();
        if (floor !== undefined && t.key < floor) return;
      }
      best.next = undefined;
      best.stale = true;
      if (opts.dedupe) {
        const id = t.traceId.toLowerCase().padStart(32, '0');
        if (seen.has(id)) continue;
        seen.add(id);
      }
      yield t;
    }
  } finally {
    // Ends the peers' calls and releases this instance's blocks.
    await Promise.all(sources.map((s) => s.it.return?.().catch(() => undefined)));
  }
}

/** Tag names of every part, per scope, within the request's limits. */
export function mergeTagNames(req: FetchTagNamesRequest, parts: readonly TagNamesResult[], partial: PartialAnswer | undefined): TagNamesResult {
  const local = parts[0];
  const scopes = (local?.scopes ?? []).map(({ name }) => {
    const set = tagNameSet(req);
    for (const part of parts) for (const tag of part.scopes.find((s) => s.name === name)?.tags ?? []) set.add(tag);
    return { name, set };
  });
  let truncated = parts.some((p) => p.truncated);
  const out = scopes.map(({ name, set }) => {
    const { items, cut } = set.result();
    truncated ||= cut;
    return { name, tags: items };
  });
  return {
    scopes: out,
    truncated,
    inspectedBytes: parts.reduce((n, p) => n + p.inspectedBytes, 0),
    // The blocks are the bucket's: a peer's are (nearly all) this instance's too.
    totalBlocks: local?.totalBlocks ?? 0,
    ...(partial && { partial }),
  };
}

/** Tag values of every part within the request's limits. */
export function mergeTagValues(req: FetchTagValuesRequest, parts: readonly TagValuesResult[], partial: PartialAnswer | undefined): TagValuesResult {
  const set = tagValueSet(req);
  for (const part of parts) for (const v of part.values) set.add(v);
  const { items, cut } = set.result();
  return {
    values: items,
    truncated: cut || parts.some((p) => p.truncated),
    inspectedBytes: parts.reduce((n, p) => n + p.inspectedBytes, 0),
    totalBlocks: parts[0]?.totalBlocks ?? 0,
    ...(partial && { partial }),
  };
}

/** Several tenants' tag names as one answer (each tenant's as Store.fetch answers it). */
export function mergeTenantTagNames(req: FetchTagNamesRequest, parts: readonly TagNamesResult[]): TagNamesResult {
  return { ...mergeTagNames(req, parts, combinePartials(parts.map((p) => p.partial))), totalBlocks: parts.reduce((n, p) => n + p.totalBlocks, 0) };
}

/** Several tenants' tag values as one answer (each tenant's as Store.fetch answers it). */
export function mergeTenantTagValues(req: FetchTagValuesRequest, parts: readonly TagValuesResult[]): TagValuesResult {
  return { ...mergeTagValues(req, parts, combinePartials(parts.map((p) => p.partial))), totalBlocks: parts.reduce((n, p) => n + p.totalBlocks, 0) };
}
