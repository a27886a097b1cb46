// The storage engine: per-tenant WAL and head, shared immutable blocks, and the
// background jobs that cut, compact and expire them, and poll the block list of a
// backend other instances share. A querier (role) has no WAL or heads: it reads
// the blocks others write.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SkeinConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { ResourceSpans, StoredSpan } from '../otlp/model.js';
import { dedupeSpans } from '../otlp/assemble.js';
import { TenantStore } from './tenant-store.js';
import type { Head } from './head/head.js';
import { BlockStore, type BlockFilter } from './blocks/block-store.js';
import { CompactionLease } from './blocks/compaction-lease.js';
import { blockMetrics } from './blocks/metrics.js';
import type { Backend } from './backend/backend.js';
import { LocalBackend } from './backend/local.js';
import { DuckEngine } from './engine/duckdb.js';
import { OverloadError } from '../lib/errors.js';
import type { RefusedSpans } from '../lib/refused.js';
import type { Overrides } from '../config/overrides.js';
import { Quarantine } from './quarantine.js';
import { DiskRetention } from './disk-retention.js';
import { isDiskFull } from '../lib/disk-full.js';
import type { Pacer } from './pacer.js';
import type {
  AggregateResult,
  FetchAggregateRequest,
  FetchedTraces,
  FetchRequest,
  FetchScope,
  FetchTagNamesRequest,
  FetchTagValuesRequest,
  FetchTracesRequest,
  PartialAnswer,
  TagNamesResult,
  TagValuesResult,
  Tenants,
} from './fetch/request.js';
import { blocksWhere, type BlockReads, type SpanSources } from './fetch/sources.js';
import type { RemotePeer, RemoteSources, RemoteTraces } from './fetch/remote.js';
import {
  mergeTagNames,
  mergeTagValues,
  mergeTenantAggregates,
  mergeTenantTagNames,
  mergeTenantTagValues,
  mergeTenantTraces,
  mergeTraces,
  PeerFailures,
} from './fetch/merge.js';
import { fetchTraces } from './fetch/traces.js';
import { fetchAggregate } from './fetch/aggregate.js';
import { fetchTagNames, fetchTagValues } from './fetch/tags.js';


export interface StoreOptions {
  storage: SkeinConfig['storage'];
  limits: SkeinConfig['limits'];
  logger: Logger;
  /**
   * Per-tenant limits (config/overrides.ts): block_retention and block_retention_bytes, and
   * max_traces_per_user and max_bytes_per_trace on what a head takes. Absent: every tenant
   * keeps storage.retention and storage.max_bytes, and heads take every trace.
   */
  overrides?: Overrides | undefined;
  /** In a cluster, the other instances: fetches of scope `all` merge their parts in (fetch/merge.ts). */
  remote?: RemoteSources | undefined;
  /**
   * `querier`: reads blocks only. No WAL or heads (none is opened or replayed), append
   * refuses, no head cuts, compaction or retention; the block list is polled. Default `writer`.
   */
  role?: 'writer' | 'querier';
  /**
   * Whether this instance runs compaction, retention and the sweep, and writes the block
   * indexes: asked before each maintenance run, each compaction step and each block list
   * poll. Default: always (a single instance; in a cluster, the composition root answers
   * for cluster.compactor naming an address). Not together with compactionLease.
   */
  isCompactor?: () => boolean | Promise<boolean>;
  /**
   * cluster.compactor: lease — the compactor is the holder of a lease object in the backend
   * (blocks/compaction-lease.ts; holder: this instance's OTLP gRPC address, durationMs:
   * cluster.lease_duration). open() fails with an error naming cluster.compactor when the
   * backend does not honour conditional writes.
   */
  compactionLease?: { holder: string; durationMs: number };
  /** Where blocks live. Default: the directory `<storage.path>/blocks`. */
  backend?: Backend;
}

export interface TimeRange {
  startUnixSec?: number | undefined;
  endUnixSec?: number | undefined;
}

export interface FoundTrace {
  spans: StoredSpan[];
  inspectedBytes: number;
  /** Set when some peers did not answer: spans they hold may be missing. */
  partial?: PartialAnswer | undefined;
}

const CUT_CHECK_INTERVAL_MS = 1000;
/**
 * Scope `recent` reads the blocks this process published within two block-list polls and
 * this margin: every other instance has listed them by then (a poll, plus one that was
 * running when the block appeared, plus its reads).
 */
const RECENT_MARGIN_MS = 30_000;
/** Scope `head` reads no block. */
const NO_BLOCK: BlockFilter = () => false;

function overlaps(spans: readonly StoredSpan[], range: TimeRange): boolean {
  if (spans.length === 0) return false;
  let start = spans[0]!.span.startTimeUnixNano;
  let end = spans[0]!.span.endTimeUnixNano;
  for (const { span } of spans) {
    if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
    if (span.endTimeUnixNano > end) end = span.endTimeUnixNano;
  }
  if (range.startUnixSec !== undefined && end < BigInt(range.startUnixSec) * 1_000_000_000n) return false;
  if (range.endUnixSec !== undefined && start > BigInt(range.endUnixSec + 1) * 1_000_000_000n) return false;
  return true;
}

/**
 * The backend `storage.backend` names: `local` under `<path>/blocks`, or `s3`, whose SDK
 * is loaded only then (it is large, and warns about Node versions it will drop).
 */
async function openBackend(storage: SkeinConfig['storage']): Promise<Backend> {
  if (storage.backend === 'local') {
    const dir = join(storage.path, 'blocks');
    await mkdir(dir, { recursive: true });
    return new LocalBackend(dir);
  }
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const { S3Backend } = await import('./backend/s3.js');
  return new S3Backend({
    s3: storage.s3,
    stagingDir: join(storage.path, 'blocks-staging'),
    cache: { dir: join(storage.cache.path === '' ? join(storage.path, 'cache') : storage.cache.path, 'blocks'), maxBytes: storage.cache.max_bytes },
  });
}

export class Store {
  private readonly tenants = new Map<string, Promise<TenantStore>>();
  private timers: NodeJS.Timeout[] = [];
  private maintenance: Promise<void> = Promise.resolve();
  private polling: Promise<void> | undefined;
  /** The maintenance run a full disk asked for, until it ends: full writes meanwhile share it. */
  private reclaiming: Promise<void> | undefined;
  /** Whether the last maintenance run found this instance the compactor: one that becomes it first lists the blocks in full. */
  private wasCompactor = false;
  private closed = false;

  private constructor(
    private readonly opts: StoreOptions,
    private readonly engine: DuckEngine,
    private readonly backend: Backend,
    readonly blocks: BlockStore,
    /** Spans no block could hold, per tenant (see quarantine.ts). */
    readonly quarantine: Quarantine,
    private readonly lease: CompactionLease | undefined,
    /** With the local backend: the data disk's watermark (storage.disk); the bucket's space is not the disk's. */
    private readonly disk: DiskRetention | undefined,
  ) {}

  /** Opens blocks and replays every tenant's WAL; resolves when replay is done. */
  static async open(opts: StoreOptions): Promise<Store> {
    if (opts.isCompactor && opts.compactionLease) throw new Error('StoreOptions: isCompactor and compactionLease both choose the compactor; give one');
    const root = opts.storage.path;
    const querier = opts.role === 'querier';
    if (!querier) await mkdir(join(root, 'wal'), { recursive: true });
    const backend = opts.backend ?? (await openBackend(opts.storage));
    const { memory_limit, threads } = opts.storage.engine;
    let engine: DuckEngine | undefined;
    let blocks: BlockStore;
    let lease: CompactionLease | undefined;
    try {
      lease =
        opts.compactionLease && !querier
          ? await CompactionLease.open({ backend, ...opts.compactionLease, logger: opts.logger.child({ component: 'compaction-lease' }) })
          : undefined;
      engine = await DuckEngine.open({ memoryLimitBytes: memory_limit, ...(threads > 0 ? { threads } : {}) });
      blocks = await BlockStore.open({
        backend,
        engine,
        rowGroupSpans: opts.storage.block.row_group_spans,
        logger: opts.logger.child({ component: 'blocks' }),
        readOnly: querier,
        pollIntervalMs: opts.storage.blocklist_poll_interval,
      });
    } catch (err) {
      await lease?.close().catch(() => undefined);
      await engine?.close();
      await backend.close?.();
      throw err;
    }
    // Spans no block can hold stay on this instance's disk, whatever the backend.
    const quarantine = new Quarantine(new LocalBackend(join(root, 'quarantine')), opts.logger.child({ component: 'store' }));
    const disk =
      !querier && opts.storage.backend === 'local' && opts.backend === undefined
        ? new DiskRetention({ path: root, disk: opts.storage.disk, logger: opts.logger.child({ component: 'blocks' }) })
        : undefined;
    const store = new Store(opts, engine, backend, blocks, quarantine, lease, disk);
    if (!querier) {
      for (const tenant of await readdir(join(root, 'wal'))) {
        await store.tenant(tenant);
      }
    }
    return store;
  }

  /**
   * Starts the background jobs: head cuts by size and age, compaction and retention (a
   * writer), the compaction lease, and polls of the block list (a shared backend, or a querier).
   */
  start(): void {
    const every = (ms: number, job: () => void): void => {
      const timer = setInterval(job, ms);
      timer.unref();
      this.timers.push(timer);
    };
    if (!this.querier) {
      every(CUT_CHECK_INTERVAL_MS, () => this.cutDueHeads());
      every(this.opts.storage.compaction.interval, () => void this.runMaintenance());
    }
    if (this.backend.shared || this.querier) every(this.opts.storage.blocklist_poll_interval, () => void this.pollBlocks());
    this.lease?.start();
  }

  /**
   * One poll of the block list (also run by the background timer): blocks other instances
   * wrote become visible, blocks compacted or deleted elsewhere go. The compactor lists in
   * full and writes the indexes. A poll asked for while one runs shares it.
   */
  pollBlocks(): Promise<void> {
    this.polling ??= (async () => {
      await this.blocks.refresh({ compactor: await this.isCompactorNow() });
    })()
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'block list poll failed; the next poll retries'))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Resolves once the batch is durable, to the spans the tenant's head limits refused, if any (see head/limits.ts). */
  async append(tenant: string, batch: readonly ResourceSpans[]): Promise<RefusedSpans | undefined> {
    if (this.querier) throw new Error('this instance is a querier (no WAL, no head): it stores no spans; send them to an ingester');
    if (this.closed) throw new OverloadError('skein is shutting down', this.opts.limits.retry_after_seconds);
    const ts = await this.tenant(tenant);
    if (ts.memoryBytes > this.opts.limits.max_head_bytes_pending) {
      throw new OverloadError(
        `ingest is ahead of block writing: ${ts.memoryBytes} bytes of spans wait for a block, over limits.max_head_bytes_pending=${this.opts.limits.max_head_bytes_pending}`,
        this.opts.limits.retry_after_seconds,
      );
    }
    let refused: RefusedSpans | undefined;
    try {
      refused = await ts.append(batch, this.opts.overrides?.limitsFor(tenant));
    } catch (err) {
      // Refused as before (retryable), and room is made now rather than at the next interval.
      this.reclaimIfFull(err);
      throw err;
    }
    if (ts.headBytes >= this.opts.storage.block.max_head_bytes) void this.cutQuietly(ts, 'size');
    return refused;
  }

  /**
   * The only way queries read spans (store/fetch/request.ts): traces that may match a
   * filter, a metrics first stage, or tag names and values, from heads and blocks alike.
   * `scope` (request.ts FetchScope) narrows where spans are looked for; with `all` in a
   * cluster, the other peers' parts are merged in (fetch/merge.ts): their heads and recent
   * blocks for traces and tags, their heads only for an aggregate (the blocks are
   * aggregated here, from the bucket every instance shares, so no span counts twice).
   * Several tenants (request.ts Tenants) are each fetched so, and their parts merged.
   */
  fetch(tenants: Tenants, request: FetchTracesRequest, scope?: FetchScope): FetchedTraces;
  fetch(tenants: Tenants, request: FetchAggregateRequest, scope?: FetchScope): Promise<AggregateResult>;
  fetch(tenants: Tenants, request: FetchTagNamesRequest, scope?: FetchScope): Promise<TagNamesResult>;
  fetch(tenants: Tenants, request: FetchTagValuesRequest, scope?: FetchScope): Promise<TagValuesResult>;
  fetch(tenants: Tenants, request: FetchRequest, scope: FetchScope = 'all'): FetchedTraces | Promise<AggregateResult | TagNamesResult | TagValuesResult> {
    if (typeof tenants !== 'string') return tenants.length === 1 ? this.fetchTenant(tenants[0]!, request, scope) : this.fetchTenants(tenants, request, scope);
    return this.fetchTenant(tenants, request, scope);
  }

  private fetchTenant(tenant: string, request: FetchRequest, scope: FetchScope): FetchedTraces | Promise<AggregateResult | TagNamesResult | TagValuesResult> {
    const sources = this.sources(scope);
    const peers = this.peersFor(scope);
    switch (request.kind) {
      case 'traces': {
        if (peers.length === 0) return fetchTraces(sources, tenant, request);
        const remote = peers.map((p) => p.traces(tenant, request, 'recent'));
        return mergeTraces(fetchTraces(sources, tenant, request), remote, { order: request.order, dedupe: true, keyFloor: request.keyFloor });
      }
      case 'aggregate':
        return peers.length === 0 ? fetchAggregate(sources, tenant, request) : this.aggregateWithPeers(sources, peers, tenant, request);
      case 'tag-names':
        return peers.length === 0 ? fetchTagNames(sources, tenant, request) : this.tagNamesWithPeers(sources, peers, tenant, request);
      case 'tag-values':
        return peers.length === 0 ? fetchTagValues(sources, tenant, request) : this.tagValuesWithPeers(sources, peers, tenant, request);
    }
  }

  /** Several tenants read as one: each tenant's part, merged (fetch/merge.ts). */
  private fetchTenants(tenants: readonly string[], request: FetchRequest, scope: FetchScope): FetchedTraces | Promise<AggregateResult | TagNamesResult | TagValuesResult> {
    switch (request.kind) {
      case 'traces':
        return mergeTenantTraces(
          tenants.map((t) => this.fetch(t, request, scope)),
          { order: request.order, keyFloor: request.keyFloor },
        );
      case 'aggregate':
        return this.aggregateTenants(tenants, request, scope);
      case 'tag-names':
        return Promise.all(tenants.map((t) => this.fetch(t, request, scope))).then((parts) => mergeTenantTagNames(request, parts));
      case 'tag-values':
        return Promise.all(tenants.map((t) => this.fetch(t, request, scope))).then((parts) => mergeTenantTagValues(request, parts));
    }
  }

  private async aggregateTenants(tenants: readonly string[], request: FetchAggregateRequest, scope: FetchScope): Promise<AggregateResult> {
    const settled = await Promise.allSettled(tenants.map((t) => this.fetch(t, request, scope)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      // The others' traces will not be read: end their peers' calls and free their blocks.
      await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? abandon(r.value.traces) : undefined)));
      throw failed.reason;
    }
    return mergeTenantAggregates(settled.map((r) => (r as PromiseFulfilledResult<AggregateResult>).value));
  }

  /** What the fetch modules read in a scope (heads and blocks), kept from the query side. */
  private sources(scope: FetchScope): SpanSources {
    return {
      blocks: this.blocksIn(scope),
      heads: (tenant) => this.heads(tenant),
      // Traces found are read whole, whatever the scope (request.ts FetchScope).
      findTraces: (tenant, ids, opts) => this.findTraces(tenant, ids, opts),
    };
  }

  private blocksIn(scope: FetchScope): BlockReads {
    return scope === 'all' ? this.blocks : blocksWhere(this.blocks, this.blockFilter(scope));
  }

  /** The blocks a scope narrower than `all` reads. */
  private blockFilter(scope: 'head' | 'recent'): BlockFilter {
    if (scope === 'head') return NO_BLOCK;
    const since = Date.now() - (2 * this.opts.storage.blocklist_poll_interval + RECENT_MARGIN_MS);
    return (_meta, publishedAtMs) => publishedAtMs !== undefined && publishedAtMs >= since;
  }

  /** The peers whose parts a fetch of this scope merges: none but for `all`, which a peer is never asked. */
  private peersFor(scope: FetchScope): readonly RemotePeer[] {
    return scope === 'all' ? (this.opts.remote?.peers() ?? []) : [];
  }

  private async aggregateWithPeers(sources: SpanSources, peers: readonly RemotePeer[], tenant: string, request: FetchAggregateRequest): Promise<AggregateResult> {
    // Asked first, so that the peers read their heads while the blocks are aggregated here.
    const remote = peers.map((p) => p.headTraces(tenant, request));
    let local: AggregateResult;
    try {
      local = await fetchAggregate(sources, tenant, request);
    } catch (err) {
      await Promise.all(remote.map(cancel));
      throw err;
    }
    return { ...local, traces: mergeTraces(local.traces, remote, { order: 'none', dedupe: false }) };
  }

  private async tagNamesWithPeers(sources: SpanSources, peers: readonly RemotePeer[], tenant: string, request: FetchTagNamesRequest): Promise<TagNamesResult> {
    const failures = new PeerFailures();
    const [local, remote] = await Promise.all([
      fetchTagNames(sources, tenant, request),
      failures.settle(peers.map((p) => p.tagNames(tenant, request, 'recent'))),
    ]);
    return mergeTagNames(request, [local, ...remote], failures.partial);
  }

  private async tagValuesWithPeers(sources: SpanSources, peers: readonly RemotePeer[], tenant: string, request: FetchTagValuesRequest): Promise<TagValuesResult> {
    const failures = new PeerFailures();
    const [local, remote] = await Promise.all([
      fetchTagValues(sources, tenant, request),
      failures.settle(peers.map((p) => p.tagValues(tenant, request, 'recent'))),
    ]);
    return mergeTagValues(request, [local, ...remote], failures.partial);
  }

  /**
   * The spans of one trace, de-duplicated by span ID: from the heads, the blocks the scope
   * reads and, with `all` in a cluster, the peers' heads and recent blocks; of each tenant
   * given. With `all` the trace must overlap the range as a whole; a narrower scope gives
   * what it holds of a trace that does (its caller judges the whole).
   */
  async findTrace(tenants: Tenants, traceIdHex: string, range: TimeRange = {}, scope: FetchScope = 'all'): Promise<FoundTrace> {
    const failures = new PeerFailures();
    const parts = await Promise.all(
      (typeof tenants === 'string' ? [tenants] : tenants).map(async (tenant) => {
        const [local, remote] = await Promise.all([
          this.findLocalTrace(tenant, traceIdHex, range, scope),
          failures.settle(this.peersFor(scope).map((p) => p.findTrace(tenant, traceIdHex, range, 'recent'))),
        ]);
        return [local, ...remote];
      }),
    );
    const spans = parts.flat().flatMap((p) => p.spans);
    const inspectedBytes = parts.flat().reduce((n, p) => n + p.inspectedBytes, 0);
    const partial = failures.partial;
    // Blocks are chosen by their own time range; the trace itself must overlap too,
    // so the answer does not depend on which block a trace happened to land in.
    if (scope === 'all' && !overlaps(spans, range)) return { spans: [], inspectedBytes, ...(partial && { partial }) };
    return { spans: dedupeSpans(spans), inspectedBytes, ...(partial && { partial }) };
  }

  private async findLocalTrace(tenant: string, traceIdHex: string, range: TimeRange, scope: FetchScope): Promise<{ spans: StoredSpan[]; inspectedBytes: number }> {
    const spans: StoredSpan[] = [];
    let inspectedBytes = 0;
    const ts = this.tenants.get(tenant);
    if (ts) {
      const head = (await ts).find(traceIdHex, {
        ...(range.startUnixSec !== undefined && { startUnixNano: BigInt(range.startUnixSec) * 1_000_000_000n }),
        ...(range.endUnixSec !== undefined && { endUnixNano: BigInt(range.endUnixSec + 1) * 1_000_000_000n }),
      });
      spans.push(...head.spans);
      inspectedBytes += head.bytes;
    }
    if (scope !== 'head') {
      const fromBlocks = await this.blocks.findTrace(tenant, traceIdHex, range, scope === 'all' ? undefined : this.blockFilter(scope));
      spans.push(...fromBlocks.spans);
      inspectedBytes += fromBlocks.inspectedBytes;
    }
    return { spans, inspectedBytes };
  }

  /**
   * The spans of many traces (search's candidates), from the head and the blocks together, the
   * blocks read once per part for all of them (BlockStore.findTraces; `slim` and `noEvents` as there). Traces
   * found nowhere are absent. Keys are the IDs as given. A query's `pacer` spaces the head's
   * decoding out and interrupts the block reads at its deadline.
   */
  async findTraces(
    tenant: string,
    traceIdsHex: readonly string[],
    opts: { slim?: boolean; noEvents?: boolean; pacer?: Pacer | undefined } = {},
  ): Promise<{ traces: Map<string, StoredSpan[]>; inspectedBytes: number }> {
    const ts = this.tenants.get(tenant);
    const head = ts ? await ts : undefined;
    const fromBlocks = await this.blocks.findTraces(tenant, traceIdsHex, { slim: opts.slim, noEvents: opts.noEvents, query: opts.pacer });
    let inspectedBytes = fromBlocks.inspectedBytes;
    const traces = new Map<string, StoredSpan[]>();
    for (const id of traceIdsHex) {
      const spans: StoredSpan[] = [];
      if (head) {
        const found = head.find(id);
        spans.push(...found.spans);
        inspectedBytes += found.bytes;
      }
      const stored = fromBlocks.traces.get(id.toLowerCase().padStart(32, '0'));
      if (stored) spans.push(...stored);
      if (spans.length > 0) traces.set(id, dedupeSpans(spans));
      await opts.pacer?.pace(spans.length);
    }
    return { traces, inspectedBytes };
  }


  /** The tenant's head and heads being cut into blocks (none for a tenant never written to). */
  async heads(tenant: string): Promise<Head[]> {
    const ts = this.tenants.get(tenant);
    return ts ? (await ts).heads() : [];
  }



  /** Cuts the heads of one tenant (or all) into blocks; resolves when they are durable. */
  async flush(tenant?: string): Promise<void> {
    const targets = tenant === undefined ? [...this.tenants.values()] : [this.tenants.get(tenant)].filter((t) => t !== undefined);
    await Promise.all(targets.map(async (t) => (await t).cut('flush'))).catch((err: unknown) => {
      this.reclaimIfFull(err);
      throw err;
    });
  }

  /**
   * Retention (by age, then by size), compaction and the sweep (a shared backend's compacted
   * and abandoned blocks) for every tenant, then the data disk's watermark, once (also run by
   * the background timer, and when a write finds the disk full); only on the compactor.
   * Stops between compactions when this instance stops being the compactor (a lost lease).
   */
  runMaintenance(): Promise<void> {
    const run = this.maintenance.then(async () => {
      if (!(await this.isCompactorNow())) {
        this.wasCompactor = false;
        return;
      }
      // Marks and unfinished blocks a previous compactor left are in no index.
      if (!this.wasCompactor && this.backend.shared) await this.blocks.refresh({ compactor: true });
      this.wasCompactor = true;
      const { compaction } = this.opts.storage;
      // A compaction writes its output before deleting its inputs: on the local disk, never more than half of what is free.
      const room = await this.disk?.compactionRoom().catch(() => undefined);
      const maxBlockBytes = Math.min(compaction.max_block_bytes, room ?? Infinity);
      for (const tenant of this.blocks.tenants()) {
        try {
          const limits = this.opts.overrides?.limitsFor(tenant);
          const retention = limits?.block_retention ?? this.opts.storage.retention;
          await this.blocks.applyRetention(tenant, BigInt(Date.now() - retention) * 1_000_000n);
          await this.blocks.applySizeRetention(tenant, limits?.block_retention_bytes ?? this.opts.storage.max_bytes);
          while (
            !this.closed &&
            (await this.isCompactorNow()) &&
            (await this.blocks.compactOnce(tenant, {
              windowMs: compaction.window,
              maxBlockBytes,
              minInputBlocks: compaction.min_input_blocks,
            })) !== undefined
          ) {
            // keep merging while something qualifies
          }
          await this.blocks.sweep(tenant);
        } catch (err) {
          this.opts.logger.error({ tenant, err }, 'compaction or retention failed; will retry at the next interval');
        }
      }
      try {
        await this.disk?.enforce(this.blocks);
      } catch (err) {
        this.opts.logger.error({ err }, 'data disk watermark check failed; will retry at the next interval');
      }
    });
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  /** Whether this instance is the compactor now (StoreOptions.isCompactor, the lease, or always); never a querier. */
  private async isCompactorNow(): Promise<boolean> {
    let yes = false;
    if (!this.querier) {
      try {
        yes = this.lease ? this.lease.held() : this.opts.isCompactor ? await this.opts.isCompactor() : true;
      } catch (err) {
        this.opts.logger.warn({ err }, 'cannot tell whether this instance is the compactor; not compacting for now');
      }
    }
    blockMetrics.compactor.set(yes ? 1 : 0);
    return yes;
  }

  private get querier(): boolean {
    return this.opts.role === 'querier';
  }

  /** True once close() has begun: reads may fail from then on, and callers can say why. */
  get closing(): boolean {
    return this.closed;
  }

  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  /** Spans of every tenant not yet in a block: held in memory, and in the WAL until a cut writes them. */
  async unwrittenSpans(): Promise<number> {
    let n = 0;
    for (const t of this.tenants.values()) n += (await t).memorySpans;
    return n;
  }

  async walDiskBytes(): Promise<number> {
    let n = 0;
    for (const t of this.tenants.values()) n += (await t).walDiskBytes();
    return n;
  }

  /** Stops accepting writes, cuts every head into a block, and closes files. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.maintenance;
    await this.polling;
    await this.lease?.close();
    for (const t of this.tenants.values()) {
      const ts = await t;
      await ts.cut('shutdown').catch((err: unknown) => this.opts.logger.error({ err, tenant: ts.tenant }, 'final cut failed; the WAL keeps the spans'));
      await ts.close();
    }
    await this.blocks.close();
    await this.engine.close();
    await this.backend.close?.();
  }

  private tenant(tenant: string): Promise<TenantStore> {
    let ts = this.tenants.get(tenant);
    if (!ts) {
      const { wal } = this.opts.storage;
      ts = TenantStore.open({
        tenant,
        walDir: join(this.opts.storage.path, 'wal', tenant),
        sync: { policy: wal.sync_policy, intervalMs: wal.sync_interval, segmentMaxBytes: wal.segment_max_bytes },
        blocks: this.blocks,
        quarantine: this.quarantine,
        logger: this.opts.logger.child({ component: 'store' }),
      });
      this.tenants.set(tenant, ts);
      ts.catch(() => this.tenants.delete(tenant));
    }
    return ts;
  }

  private cutDueHeads(): void {
    for (const t of this.tenants.values()) {
      void t.then((ts) => {
        if (ts.headBytes >= this.opts.storage.block.max_head_bytes) return this.cutQuietly(ts, 'size');
        if (ts.headAgeMs >= this.opts.storage.block.max_head_duration) return this.cutQuietly(ts, 'age');
        return undefined;
      });
    }
  }

  private async cutQuietly(ts: TenantStore, reason: 'size' | 'age'): Promise<void> {
    // Failures are logged and counted by the tenant store; the next check retries.
    await ts.cut(reason).catch((err: unknown) => this.reclaimIfFull(err));
  }

  /** A write that found the disk full starts a maintenance run now (compaction, then the disk's watermark). */
  private reclaimIfFull(err: unknown): void {
    if (!this.disk || this.closed || !isDiskFull(err) || this.reclaiming) return;
    this.reclaiming = this.runMaintenance()
      .catch(() => undefined)
      .finally(() => (this.reclaiming = undefined));
  }
}

/**
 * Ends a stream that will not be read: a merged one starts its peers' calls when it is made,
 * and ends them (and frees its blocks) only once iterated, so it is iterated and left.
 */
async function abandon(traces: FetchedTraces): Promise<void> {
  try {
    for await (const _ of traces) break;
  } catch {
    // Its failure is no longer anyone's concern.
  }
}

/** Ends a peer's call that will not be read. */
async function cancel(r: RemoteTraces): Promise<void> {
  await r[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
}
