// Every tenant's immutable Parquet blocks: writing them (head cuts), finding a
// trace in them, compacting and expiring them. Layout under the backend:
//
//   <tenant>/<blockId>/data-NNNN.parquet  spans, one row per span, in trace-ID
//                                         ranges of their own (docs/block-format.md)
//   <tenant>/<blockId>/bloom.bin          bloom filter of the block's trace IDs
//   <tenant>/<blockId>/tags.json          tag names and values (tag-index.ts)
//   <tenant>/<blockId>/trace-index.bin    each trace's part, rows and list columns (trace-index.ts)
//   <tenant>/<blockId>/meta.json          written last: a block exists once it does
//
// Metadata and bloom filters of all blocks stay in memory, so trace-by-ID asks
// DuckDB only about blocks that may hold the trace. Tag indexes and trace indexes are
// read when a query first needs them and kept in bounded caches.
//
// DuckDB reads parts from local files the backend makes readable at read time
// (held-parts.ts): with the local backend the objects themselves; with a bucket,
// cached copies holding what each read needs (the footer and the row groups a
// lookup reads; whole parts for scans and compaction), pinned while it runs.
//
// On a shared backend (a bucket several instances use) other instances' blocks
// appear and go: refresh() reads the block list again (block-index.ts), and
// compaction marks its inputs compacted.json instead of deleting them, since
// other instances may still be reading them; sweep() deletes them after a grace.
import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import type { StoredSpan, TraceSpans } from '../../otlp/model.js';
import { toHex } from '../../otlp/model.js';
import type { Logger } from '../../telemetry/logger.js';
import { BackendError, BackendNotFoundError, type Backend, type ReadableWant } from '../backend/backend.js';
import type { DuckEngine, QueryContext } from '../engine/duckdb.js';
import { BloomFilter } from './bloom.js';
import { COMPACTED_FILE, INDEX_FILE, parseBlockIndex, serializeBlockIndex, serializeCompactedMark } from './block-index.js';
import { mergeParquet, planCompaction } from './compactor.js';
import { HeldParts, partName, readableObjects } from './held-parts.js';
import { BLOOM_FILE, groupsAdmitting, isBlockId, META_FILE, parseBlockMeta, partFileName, partWant, serializeBlockMeta, TAGS_FILE, TRACE_INDEX_FILE, type BlockMeta, type BlockPart } from './meta.js';
import { blockMetrics } from './metrics.js';
import { constantColumnsOf, readTraceIds, readTraceRows, readTraceSpans, readTracesSpans, summarizeParquet, type KnownColumn } from './reader.js';
import { blocksOverSize, expiredBlocks, type RetentionReason, type SizedBlock } from './retention.js';
import { BLOCK_FORMAT } from './schema.js';
import { TagIndex } from './tag-index.js';
import { TraceIndex, type TraceLocation } from './trace-index.js';
import { writeTracesParquet } from './writer.js';

export type { BlockMeta } from './meta.js';
export type { RetentionReason, SizedBlock } from './retention.js';

export interface BlockStoreOptions {
  backend: Backend;
  engine: DuckEngine;
  rowGroupSpans: number;
  logger: Logger;
  /** Bytes of tags.json files whose parsed indexes are kept in memory (least recently used go first). */
  tagCacheBytes?: number;
  /** Bytes of parsed trace indexes kept in memory (least recently used go first). */
  traceIndexCacheBytes?: number;
  /** Reads only (a querier): no staging directory, no block writes, compaction, retention or deletion. */
  readOnly?: boolean;
  /**
   * storage.blocklist_poll_interval (default 15 s). An index older than three of them is not
   * trusted, and compacted blocks are deleted two of them and a minute after compaction.
   */
  pollIntervalMs?: number;
  /** The clock (ms since the epoch) grace periods and index ages are measured with. */
  now?: () => number;
}

/** A block as tag queries see it: its time range, its parts, and its tag index when it has one. */
export interface BlockView {
  blockId: string;
  minStartUnixNano: bigint;
  maxEndUnixNano: bigint;
  /** `path`: what SQL run on the held engine (HeldBlocks.engine) names the part by; it reads the part from a local file. */
  parts: Array<{ path: string; bytes: number }>;
  /** Bytes of tags.json (0 without one): what answering from the index inspects. */
  tagsBytes: number;
  /** The block's tag index; undefined for a block written without one, or whose file cannot be read. */
  tags(): Promise<TagIndex | undefined>;
  /** False when the block holds no span of the trace (padded lowercase ID), by its ID range and bloom filter. */
  mayHoldTrace(traceIdHex: string): boolean;
}

/**
 * Which blocks a read looks at (Store.fetch's scopes): by their meta and when this process
 * published them (Date.now(); undefined for blocks it loaded rather than wrote).
 */
export type BlockFilter = (meta: BlockMeta, publishedAtMs: number | undefined) => boolean;

/** Blocks kept from deletion until released (BlockStore.acquire). */
export interface HeldBlocks {
  blocks: BlockView[];
  /** The engine to read the blocks' parts with: it makes the parts a statement names readable first. */
  engine: DuckEngine;
  release(): void;
}

export interface FoundTrace {
  spans: StoredSpan[];
  inspectedBytes: number;
  blocksSearched: number;
}

interface LoadedBlock {
  meta: BlockMeta;
  bloom: BloomFilter;
  /** The backend key of each of meta.parts, in the same order. */
  partKeys: string[];
  /** What SQL over held blocks names each part by (partName), in the same order. */
  partNames: string[];
  /** Parquet parts + bloom.bin + tags.json + trace-index.bin + meta.json. */
  diskBytes: number;
  /** Lookups reading the block right now: it is deleted only once they are done. */
  readers: number;
  onIdle: (() => void) | undefined;
  /** Date.now() when this process published the block (written or compacted here); undefined when loaded. */
  publishedAtMs?: number;
}

/** What a listing of a tenant says (refresh()). */
interface TenantListing {
  /** Blocks to show: with the meta the index gave, or undefined (read meta.json; a block without one is not shown yet). */
  blocks: Map<string, BlockMeta | undefined>;
  /** Blocks marked compacted. */
  compacted: Set<string>;
  /** From a full listing: blocks without meta.json, by the time of their newest object (ms). */
  incomplete?: Map<string, number>;
  /** From an index: when it was built (ms). */
  indexBuiltAt?: number;
}

const TRACE_ID_RE = /^[0-9a-f]{1,32}$/;
const DEFAULT_TAG_CACHE_BYTES = 32 * 1024 * 1024;
/** 13 bytes a trace: the indexes of some 2.5 million traces' blocks. */
const DEFAULT_TRACE_INDEX_CACHE_BYTES = 32 * 1024 * 1024;
const NANOS_PER_SECOND = 1_000_000_000n;
const DEFAULT_POLL_INTERVAL_MS = 15_000;
/** An index older than this many poll intervals is not trusted: its compactor is gone or failing. */
const INDEX_STALE_POLLS = 3;
/** The compactor writes an unchanged index again once it is this many poll intervals old, so it never goes stale. */
const INDEX_REWRITE_POLLS = 1.5;
/** On a shared backend, a block without meta.json younger than this may be another instance's write in progress. */
const INCOMPLETE_BLOCK_GRACE_MS = 3_600_000;

export class BlockStore {
  /** Tenant → its blocks, sorted by minStartUnixNano. */
  private readonly byTenant = new Map<string, LoadedBlock[]>();
  /** Tenant → the compaction, retention, sweep or refresh running for it: they run one at a time. */
  private readonly maintenance = new Map<string, Promise<unknown>>();
  private closed = false;
  private readonly tagCache: LruCache<TagIndex>;
  private readonly traceIndexCache: LruCache<TraceIndex>;
  /**
   * Tenant → blocks a compaction replaced, by ID: never shown again, deleted by sweep()
   * once the grace has passed since `since` (when this instance learned of it) and
   * `block` (this instance's copy, when it had one) has no reader.
   */
  private readonly compacted = new Map<string, Map<string, { since: number; block?: LoadedBlock }>>();
  /** Tenant → blocks without meta.json the last full listing found, by the time of their newest object. */
  private readonly incomplete = new Map<string, Map<string, number>>();
  /** Blocks this instance is writing: a refresh must not load them (publish adds them). */
  private readonly publishing = new Set<string>();
  /** Tenant → the index as last read or written: it is written again only when the list changed, or as it ages. */
  private readonly indexState = new Map<string, { signature: string; builtAt: number }>();
  /** Blocks whose meta.json cannot be used: logged once, not at every refresh. */
  private readonly unusable = new Set<string>();
  private refreshing: { done: Promise<void>; compactor: boolean } | undefined;
  private readonly pollIntervalMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly opts: BlockStoreOptions,
    private readonly stagingDir: string | undefined,
  ) {
    this.tagCache = new LruCache(opts.tagCacheBytes ?? DEFAULT_TAG_CACHE_BYTES);
    this.traceIndexCache = new LruCache(opts.traceIndexCacheBytes ?? DEFAULT_TRACE_INDEX_CACHE_BYTES);
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Loads every block's meta and bloom filter. On a backend this process has to itself,
   * first deletes leftovers of writes a crash interrupted (blocks without meta.json); on a
   * shared one those may be other instances' writes in progress, and sweep() deletes them
   * only once they are old.
   */
  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    const store = new BlockStore(opts, opts.readOnly === true ? undefined : await opts.backend.stagingDir());
    if (!opts.backend.shared && opts.readOnly !== true) await store.removeIncompleteBlocks();
    for (const tenant of await store.listTenants()) {
      await store.exclusive(tenant, () => store.refreshTenant(tenant, { full: false, writeIndex: false }));
    }
    const blocks = [...store.byTenant.values()].reduce((n, list) => n + list.length, 0);
    opts.logger.info({ tenants: store.byTenant.size, blocks, bytes: store.diskBytes() }, 'blocks opened');
    return store;
  }

  /**
   * Reads the block list again, so that blocks other instances wrote become visible and
   * blocks deleted or compacted elsewhere go (lookups reading them finish first: they hold
   * their blocks). Per tenant: its index (one read) and a listing of its block IDs, or, with
   * no index younger than three poll intervals, a full listing and every new block's
   * meta.json. The compactor (`compactor: true`) always lists in full, which also finds
   * what sweep() deletes, and writes the index when it changed. Failures are logged and
   * counted; the next refresh retries. A refresh asked for while one runs shares it, unless
   * it is the compactor's and the running one is not: it then runs next.
   */
  refresh(opts: { compactor?: boolean } = {}): Promise<void> {
    const compactor = opts.compactor === true;
    const running = this.refreshing;
    if (running && (running.compactor || !compactor)) return running.done;
    const done: Promise<void> = (running?.done ?? Promise.resolve())
      .then(() => this.refreshAll(compactor))
      .finally(() => {
        if (this.refreshing?.done === done) this.refreshing = undefined;
      });
    this.refreshing = { done, compactor };
    return done;
  }

  tenants(): string[] {
    return [...this.byTenant.entries()].filter(([, list]) => list.length > 0).map(([t]) => t).sort();
  }

  blocks(tenant: string): readonly BlockMeta[] {
    return (this.byTenant.get(tenant) ?? []).map((b) => b.meta);
  }

  /**
   * Writes traces (sorted by traceId ascending; the spans of a trace in any order)
   * as a new block. The writer de-duplicates spans by span ID within a trace, sorts
   * them and computes nested sets. Resolves when the block is durable and visible.
   */
  async writeBlock(tenant: string, traces: AsyncIterable<TraceSpans> | Iterable<TraceSpans>, opts: { compactionLevel?: number } = {}): Promise<BlockMeta> {
    const stagingDir = this.assertWritable();
    const started = process.hrtime.bigint();
    const staged = await writeTracesParquet(this.opts.engine, stagingDir, traces, { rowGroupSpans: this.opts.rowGroupSpans });
    const meta = await this.publish(tenant, staged.paths, opts.compactionLevel ?? 0, staged.tags);
    blockMetrics.writeDuration.observe({ tenant, reason: 'flush' }, secondsSince(started));
    return meta;
  }

  /**
   * Writes traces the way writeBlock does, as far as the Parquet parts, and deletes
   * them: throws what writeBlock would throw for them (see isolate.ts).
   */
  async tryWrite(traces: AsyncIterable<TraceSpans> | Iterable<TraceSpans>): Promise<void> {
    const stagingDir = this.assertWritable();
    const staged = await writeTracesParquet(this.opts.engine, stagingDir, traces, { rowGroupSpans: this.opts.rowGroupSpans });
    await Promise.all(staged.paths.map((p) => rm(p, { force: true })));
  }

  /**
   * Spans of one trace from every block that may hold it (time range overlap when
   * given, in unix seconds as Tempo's start/end; then trace-ID range; then bloom),
   * merged and de-duplicated by span ID. `keep` narrows the blocks looked at.
   */
  async findTrace(
    tenant: string,
    traceIdHex: string,
    range: { startUnixSec?: number; endUnixSec?: number } = {},
    keep?: BlockFilter,
  ): Promise<FoundTrace> {
    const lower = traceIdHex.toLowerCase();
    if (!TRACE_ID_RE.test(lower)) return { spans: [], inspectedBytes: 0, blocksSearched: 0 };
    const id = lower.padStart(32, '0');
    const from = range.startUnixSec !== undefined && range.startUnixSec > 0 ? BigInt(Math.floor(range.startUnixSec)) * NANOS_PER_SECOND : undefined;
    // `end` is a whole second: spans starting anywhere in it are in range.
    const until = range.endUnixSec !== undefined && range.endUnixSec > 0 ? (BigInt(Math.floor(range.endUnixSec)) + 1n) * NANOS_PER_SECOND : undefined;

    const candidates: LoadedBlock[] = [];
    for (const b of this.listed(tenant, keep)) {
      const m = b.meta;
      if (from !== undefined && BigInt(m.maxEndUnixNano) < from) continue;
      if (until !== undefined && BigInt(m.minStartUnixNano) >= until) continue;
      if (id < m.minTraceId || id > m.maxTraceId || !b.bloom.mayContain(id)) continue;
      candidates.push(b);
    }
    // Taken in the same tick as the candidates were chosen: a compaction or retention
    // deleting one of them now waits until this lookup is done with it.
    for (const b of candidates) b.readers++;
    let inspectedBytes = 0;
    let blocksSearched = 0;
    let found: StoredSpan[][];
    try {
      const reads: Array<{ key: string; want: ReadableWant; known: readonly KnownColumn[] }> = [];
      const located = await Promise.all(candidates.map((b) => this.locateTrace(b, id)));
      for (const [c, b] of candidates.entries()) {
        const m = b.meta;
        let used = false;
        for (const [i, part] of m.parts.entries()) {
          // Without a trace index, the part's ID range says whether it may hold the trace.
          const at = located[c];
          const here = at === undefined ? undefined : at.filter((l) => l.part === i);
          if (here !== undefined ? here.length === 0 : id < part.minTraceId || id > part.maxTraceId) continue;
          const groups = groupsAdmitting(part, [id]);
          if (part.rowGroups.length > 0 && groups.length === 0) continue;
          inspectedBytes += part.rowGroups.length > 0 ? groups.reduce((n, j) => n + part.rowGroups[j]!.bytes, 0) : part.bytes;
          const known = here === undefined ? [] : constantColumnsOf(here.reduce((f, l) => f | l.flags, 0));
          reads.push({ key: b.partKeys[i]!, want: partWant(part, groups), known });
          used = true;
        }
        if (used) blocksSearched++;
      }
      const files = await readableObjects(this.opts.backend, reads);
      try {
        found = await Promise.all(files.paths.map((path, i) => readTraceSpans(this.opts.engine, path, id, reads[i]!.known)));
      } finally {
        files.release();
      }
    } finally {
      for (const b of candidates) this.release(b);
    }
    return { spans: dedupeBySpanId(found), inspectedBytes, blocksSearched };
  }

  /** False when no block of the tenant holds a span of the trace (by ID ranges and bloom filters); true when one may. */
  mayHoldTrace(tenant: string, traceIdHex: string): boolean {
    const id = traceIdHex.toLowerCase().padStart(32, '0');
    for (const b of this.byTenant.get(tenant) ?? []) {
      if (id >= b.meta.minTraceId && id <= b.meta.maxTraceId && b.bloom.mayContain(id)) return true;
    }
    return false;
  }

  /**
   * The spans of many traces at once (search's candidates): each part that may hold
   * some of them, by its trace-ID ranges and its block's bloom filter, is read for all of
   * its IDs in one statement. `slim` reads only what queries about a span's own fields
   * need, `noEvents` all but events and links (readTracesSpans). Keys are padded lowercase IDs.
   */
  async findTraces(
    tenant: string,
    traceIdsHex: readonly string[],
    opts: { slim?: boolean; noEvents?: boolean; query?: QueryContext | undefined } = {},
  ): Promise<{ traces: Map<string, StoredSpan[]>; inspectedBytes: number }> {
    const ids = [...new Set(traceIdsHex.map((id) => id.toLowerCase()).filter((id) => TRACE_ID_RE.test(id)))].map((id) => id.padStart(32, '0')).sort();
    /** By part key: the part and the IDs it may hold. */
    const byPart = new Map<string, { part: BlockPart; ids: string[] }>();
    const groupsRead = new Set<string>();
    let inspectedBytes = 0;
    const candidates = new Set<LoadedBlock>();
    /** IDs more than one block may hold: their spans are de-duplicated. */
    const inSeveral = new Set<string>();
    const inOne = new Set<string>();
    for (const b of this.byTenant.get(tenant) ?? []) {
      const m = b.meta;
      for (const id of ids) {
        if (id < m.minTraceId || id > m.maxTraceId || !b.bloom.mayContain(id)) continue;
        if (inOne.has(id)) inSeveral.add(id);
        else inOne.add(id);
        for (const [i, part] of m.parts.entries()) {
          if (id < part.minTraceId || id > part.maxTraceId) continue;
          const groups = part.rowGroups.flatMap((g, j) => (g.minTraceId <= id && id <= g.maxTraceId ? [j] : []));
          if (part.rowGroups.length > 0 && groups.length === 0) continue;
          const key = b.partKeys[i]!;
          if (part.rowGroups.length === 0 && !groupsRead.has(key)) {
            groupsRead.add(key);
            inspectedBytes += part.bytes;
          }
          for (const j of groups) {
            if (groupsRead.has(`${key}#${j}`)) continue;
            groupsRead.add(`${key}#${j}`);
            inspectedBytes += part.rowGroups[j]!.bytes;
          }
          const entry = byPart.get(key);
          if (entry) entry.ids.push(id);
          else byPart.set(key, { part, ids: [id] });
          candidates.add(b);
        }
      }
    }
    // Taken in the same tick as the parts were chosen, as in findTrace.
    for (const b of candidates) b.readers++;
    let found: StoredSpan[];
    try {
      // The parts are read together, for all the IDs: DuckDB may read a row group of a
      // part for any of them, so that is what each part's file must hold.
      const parts = [...byPart];
      const files = await readableObjects(
        this.opts.backend,
        parts.map(([key, { part }]) => ({ key, want: partWant(part, groupsAdmitting(part, ids)) })),
      );
      try {
        found = await readTracesSpans(
          this.opts.engine,
          parts.map(([, { ids: partIds }], i) => ({ path: files.paths[i]!, traceIdsHex: partIds })),
          opts.slim === true ? 'slim' : opts.noEvents === true ? 'no-events' : 'all',
          opts.query,
        );
      } finally {
        files.release();
      }
    } finally {
      for (const b of candidates) this.release(b);
    }
    const traces = new Map<string, StoredSpan[]>();
    for (const s of found) {
      const id = toHex(s.span.traceId);
      const list = traces.get(id);
      if (list) list.push(s);
      else traces.set(id, [s]);
    }
    for (const id of inSeveral) {
      const list = traces.get(id);
      if (list) traces.set(id, dedupeBySpanId([list]));
    }
    return { traces, inspectedBytes };
  }

  /**
   * Runs `read` over the Parquet parts of the tenant's blocks that overlap the range
   * (unix nanoseconds, either end open); the blocks are not deleted until it is done.
   * Search scans these with its own SQL.
   */
  async withParts<T>(
    tenant: string,
    range: { startUnixNano?: bigint | undefined; endUnixNano?: bigint | undefined },
    read: (parts: Array<{ path: string; bytes: number }>, engine: DuckEngine) => Promise<T>,
  ): Promise<T> {
    return this.withBlocks(tenant, range, (blocks, engine) => read(blocks.flatMap((b) => b.parts), engine));
  }

  /**
   * Runs `read` over the tenant's blocks that overlap the range (unix nanoseconds, either
   * end open), each with its parts and tag index; the blocks are not deleted until it is
   * done. Tag queries answer from the indexes and scan only what they cannot answer.
   */
  async withBlocks<T>(
    tenant: string,
    range: { startUnixNano?: bigint | undefined; endUnixNano?: bigint | undefined },
    read: (blocks: BlockView[], engine: DuckEngine) => Promise<T>,
  ): Promise<T> {
    const held = this.acquire(tenant, range);
    try {
      return await read(held.blocks, held.engine);
    } finally {
      held.release();
    }
  }

  /**
   * withBlocks for a reader that cannot wrap its reads in one call (an iteration its
   * consumer may leave at any point): the blocks stay until `release()`, which must be
   * called exactly once. `keep` narrows the blocks chosen.
   */
  acquire(tenant: string, range: { startUnixNano?: bigint | undefined; endUnixNano?: bigint | undefined }, keep?: BlockFilter): HeldBlocks {
    const chosen = this.listed(tenant, keep).filter(
      (b) =>
        (range.startUnixNano === undefined || BigInt(b.meta.maxEndUnixNano) >= range.startUnixNano) &&
        (range.endUnixNano === undefined || BigInt(b.meta.minStartUnixNano) < range.endUnixNano),
    );
    for (const b of chosen) b.readers++;
    let released = false;
    // With the local backend the parts' names are their files: nothing to prepare.
    const remote =
      this.opts.backend.directPath === undefined
        ? new HeldParts(this.opts.backend, new Map(chosen.flatMap((b) => b.meta.parts.map((p, i) => [b.partNames[i]!, { key: b.partKeys[i]!, bytes: p.bytes }] as const))))
        : undefined;
    return {
      blocks: chosen.map((b) => ({
        blockId: b.meta.blockId,
        minStartUnixNano: BigInt(b.meta.minStartUnixNano),
        maxEndUnixNano: BigInt(b.meta.maxEndUnixNano),
        parts: b.meta.parts.map((p, i) => ({ path: b.partNames[i]!, bytes: p.bytes })),
        tagsBytes: b.meta.tags?.bytes ?? 0,
        tags: () => this.tagsOf(b),
        mayHoldTrace: (id: string) => id >= b.meta.minTraceId && id <= b.meta.maxTraceId && b.bloom.mayContain(id),
      })),
      engine: remote ? remote.engine(this.opts.engine) : this.opts.engine,
      release: () => {
        if (released) return;
        released = true;
        remote?.release();
        for (const b of chosen) this.release(b);
      },
    };
  }

  /**
   * One compaction pass for the tenant: among blocks smaller than maxBlockBytes
   * whose spans start in the same window, when at least minInputBlocks share one,
   * merge them into a block of compactionLevel max(inputs)+1 and retire the inputs.
   * The output is visible before the inputs go; a crash in between leaves spans in
   * two blocks, which reads and the next compaction de-duplicate. On a backend of its
   * own the inputs are deleted once no lookup reads them; on a shared one they are
   * marked compacted (compacted.json, and the index) and sweep() deletes them after a
   * grace, since other instances may be reading them until their next refresh.
   */
  compactOnce(tenant: string, opts: { windowMs: number; maxBlockBytes: number; minInputBlocks: number }): Promise<BlockMeta | undefined> {
    return this.exclusive(tenant, async () => {
      const stagingDir = this.assertWritable();
      const blocks = this.byTenant.get(tenant) ?? [];
      const plan = planCompaction(
        blocks.map((b) => b.meta),
        opts,
      );
      if (!plan) return undefined;
      const inputs = plan.map((m) => blocks.find((b) => b.meta.blockId === m.blockId)!);
      const started = process.hrtime.bigint();
      const files = await readableObjects(
        this.opts.backend,
        inputs.flatMap((b) => b.meta.parts.map((p, i) => ({ key: b.partKeys[i]!, want: partWant(p, 'all') }))),
      );
      let merged: string[];
      try {
        merged = await mergeParquet(this.opts.engine, stagingDir, files.paths, { rowGroupSpans: this.opts.rowGroupSpans });
      } finally {
        files.release();
      }
      const level = Math.max(...inputs.map((b) => b.meta.compactionLevel)) + 1;
      // The output holds exactly the inputs' spans, so its index is the union of theirs;
      // with an input that has none (written before tags.json), the output has none either.
      const inputTags = await Promise.all(inputs.map((b) => this.tagsOf(b)));
      let tags: TagIndex | undefined;
      if (inputTags.every((t) => t !== undefined)) {
        tags = new TagIndex();
        for (const t of inputTags) tags.merge(t);
      }
      const meta = await this.publish(tenant, merged, level, tags);
      blockMetrics.writeDuration.observe({ tenant, reason: 'compaction' }, secondsSince(started));
      if (this.opts.backend.shared) {
        const compactedAt = this.now();
        // Every mark first: should one fail, no input has left this instance's view, and
        // the inputs marked already go at the next full listing.
        for (const b of inputs) {
          await this.opts.backend.write(`${tenant}/${b.meta.blockId}/${COMPACTED_FILE}`, serializeCompactedMark({ compactedAt: new Date(compactedAt), into: meta.blockId }));
        }
        const marks = this.compactedOf(tenant);
        for (const b of inputs) {
          this.drop(tenant, b);
          marks.set(b.meta.blockId, { since: compactedAt, block: b });
        }
        await this.syncIndex(tenant);
      } else {
        for (const b of inputs) await this.retire(tenant, b);
      }
      blockMetrics.compactions.inc({ tenant });
      blockMetrics.compactionDuration.observe({ tenant }, secondsSince(started));
      const byLevel = { tenant, level: String(level - 1) };
      blockMetrics.compactedBlocks.inc(byLevel, inputs.length);
      blockMetrics.compactionBytesWritten.inc(byLevel, meta.sizeBytes);
      blockMetrics.compactionTracesWritten.inc(byLevel, meta.traceCount);
      blockMetrics.compactionTracesCombined.inc(byLevel, Math.max(0, inputs.reduce((n, b) => n + b.meta.traceCount, 0) - meta.traceCount));
      this.opts.logger.info(
        {
          tenant,
          blockId: meta.blockId,
          inputs: inputs.map((b) => b.meta.blockId),
          level,
          spans: meta.spanCount,
          spansIn: inputs.reduce((n, b) => n + b.meta.spanCount, 0),
          bytes: meta.sizeBytes,
          bytesIn: inputs.reduce((n, b) => n + b.meta.sizeBytes, 0),
        },
        'blocks compacted',
      );
      return meta;
    });
  }

  /**
   * Deletes whole blocks whose newest span ended before the cutoff; returns their IDs.
   * Deleted at once, on a shared backend too: their data is past keeping anyway.
   */
  async applyRetention(tenant: string, cutoffUnixNano: bigint): Promise<string[]> {
    const deleted = await this.deleteBlocks(tenant, 'age', (blocks) => expiredBlocks(blocks.map((b) => b.meta), cutoffUnixNano), {
      cutoffUnixNano: cutoffUnixNano.toString(),
    });
    return deleted.map((m) => m.blockId);
  }

  /** Deletes the tenant's oldest blocks until the rest take at most `maxBytes` (0: no limit); returns their IDs. */
  async applySizeRetention(tenant: string, maxBytes: number): Promise<string[]> {
    if (maxBytes <= 0) return [];
    const deleted = await this.deleteBlocks(tenant, 'size', (blocks) => blocksOverSize(blocks, maxBytes).map((b) => b.meta), { maxBytes });
    return deleted.map((m) => m.blockId);
  }

  /** The tenant's blocks, each with the bytes it takes in the backend (what storage.max_bytes counts). */
  sizedBlocks(tenant: string): SizedBlock[] {
    return (this.byTenant.get(tenant) ?? []).map((b) => ({ meta: b.meta, bytes: b.diskBytes }));
  }

  /**
   * Deletes the blocks `choose` picks from the tenant's blocks as they are once its other
   * maintenance is done, in the order given, counting and logging them with `reason` and
   * `why`; returns them. Deleted at once, on a shared backend too (as age retention does).
   */
  deleteBlocks(tenant: string, reason: RetentionReason, choose: (blocks: readonly SizedBlock[]) => readonly BlockMeta[], why: Record<string, unknown>): Promise<BlockMeta[]> {
    return this.exclusive(tenant, async () => {
      this.assertWritable();
      const blocks = this.byTenant.get(tenant) ?? [];
      const deleted: BlockMeta[] = [];
      let bytes = 0;
      for (const m of choose(blocks.map((b) => ({ meta: b.meta, bytes: b.diskBytes })))) {
        const b = blocks.find((x) => x.meta.blockId === m.blockId);
        if (!b) continue;
        await this.retire(tenant, b);
        blockMetrics.retentionDeleted.inc({ tenant, reason });
        blockMetrics.retentionDeletedBytes.inc({ tenant, reason }, b.diskBytes);
        deleted.push(m);
        bytes += b.diskBytes;
      }
      if (deleted.length > 0) {
        this.opts.logger.info({ tenant, reason, ...why, blocks: deleted.map((m) => m.blockId), bytes, bytesLeft: this.diskBytes(tenant) }, 'retention deleted blocks');
        await this.syncIndex(tenant);
      }
      return deleted;
    });
  }

  /**
   * On a shared backend, deletes what compaction and interrupted writes left: blocks
   * marked compacted at least `2 × poll interval + 1 min` ago (every instance has
   * dropped them at its next refresh, and had a minute to finish reading) whose lookups
   * here are done, and blocks without meta.json whose newest object is an hour old (no
   * write in progress takes that long), as the last full listing found them. The
   * compactor's job; returns the deleted blocks' IDs.
   */
  sweep(tenant: string): Promise<string[]> {
    return this.exclusive(tenant, async () => {
      this.assertWritable();
      if (!this.opts.backend.shared) return [];
      const now = this.now();
      const deleted: string[] = [];
      const marks = this.compacted.get(tenant) ?? new Map<string, { since: number; block?: LoadedBlock }>();
      for (const [blockId, mark] of marks) {
        // A lookup still reading it here: the next sweep deletes it.
        if (now - mark.since < this.compactedGraceMs || (mark.block?.readers ?? 0) > 0) continue;
        await this.deleteBlock(tenant, blockId);
        marks.delete(blockId);
        deleted.push(blockId);
      }
      const incomplete = this.incomplete.get(tenant) ?? new Map<string, number>();
      for (const [blockId, newest] of incomplete) {
        if (now - newest < INCOMPLETE_BLOCK_GRACE_MS || this.publishing.has(blockId)) continue;
        incomplete.delete(blockId);
        const files = await this.opts.backend.list(`${tenant}/${blockId}`);
        // Finished since the listing: a block after all.
        if (files.includes(META_FILE)) continue;
        this.opts.logger.warn({ tenant, blockId, files, lastWritten: new Date(newest).toISOString() }, 'deleting an incomplete block (no meta.json, nothing written to it for an hour)');
        await this.opts.backend.delete(`${tenant}/${blockId}`);
        deleted.push(blockId);
      }
      if (deleted.length > 0) {
        this.opts.logger.info({ tenant, blocks: deleted }, 'compacted and incomplete blocks deleted');
        await this.syncIndex(tenant);
      }
      return deleted;
    });
  }

  /** Bytes of blocks on disk, of one tenant or all. */
  diskBytes(tenant?: string): number {
    const lists = tenant === undefined ? [...this.byTenant.values()] : [this.byTenant.get(tenant) ?? []];
    return lists.reduce((n, list) => n + list.reduce((m, b) => m + b.diskBytes, 0), 0);
  }

  /** Waits for running compactions and retention; the engine and backend stay open (their owner closes them). */
  async close(): Promise<void> {
    this.closed = true;
    await this.refreshing?.done;
    await Promise.allSettled([...this.maintenance.values()]);
  }

  // ── internals ────────────────────────────────────────────────────────────

  /** Moves finished Parquet parts in as a new block: parts, then bloom and tags, then meta.json. */
  private async publish(tenant: string, parquetPaths: readonly string[], compactionLevel: number, tags: TagIndex | undefined): Promise<BlockMeta> {
    const blockId = randomUUID();
    this.publishing.add(blockId);
    try {
      return await this.publishAs(tenant, blockId, parquetPaths, compactionLevel, tags);
    } finally {
      this.publishing.delete(blockId);
    }
  }

  private async publishAs(tenant: string, blockId: string, parquetPaths: readonly string[], compactionLevel: number, tags: TagIndex | undefined): Promise<BlockMeta> {
    const prefix = `${tenant}/${blockId}`;
    let meta: BlockMeta;
    let bloom: BloomFilter;
    let bloomBytes: Uint8Array;
    let metaBytes: Uint8Array;
    const tagsBytes = tags?.serialize();
    let traceIndex: TraceIndex | undefined;
    let traceIndexBytes: Uint8Array | undefined;
    try {
      const summary = await summarizeParquet(this.opts.engine, parquetPaths);
      // One scan gives the trace index and the bloom filter's IDs.
      const traceRows = await readTraceRows(this.opts.engine, parquetPaths);
      traceIndex = TraceIndex.build(traceRows, parquetPaths.length);
      if (!traceIndex) this.opts.logger.warn({ tenant, blockId }, 'block rows not laid out by trace ID (a trace in two parts, or its rows apart): written without a trace index');
      traceIndexBytes = traceIndex?.serialize();
      bloom = BloomFilter.fromTraceIds([...new Set(traceRows.map((t) => t.traceId))]);
      bloomBytes = bloom.serialize();
      const parts = await Promise.all(
        summary.parts.map(async (p, i) => ({
          file: partFileName(i),
          minTraceId: p.minTraceId,
          maxTraceId: p.maxTraceId,
          spans: p.spanCount,
          bytes: (await stat(p.path)).size,
          rowGroups: p.rowGroups,
          footerOffset: p.footerOffset,
        })),
      );
      meta = {
        format: BLOCK_FORMAT,
        blockId,
        tenant,
        minStartUnixNano: summary.minStartUnixNano.toString(),
        maxEndUnixNano: summary.maxEndUnixNano.toString(),
        spanCount: summary.spanCount,
        traceCount: summary.traceCount,
        sizeBytes: parts.reduce((n, p) => n + p.bytes, 0),
        minTraceId: summary.minTraceId,
        maxTraceId: summary.maxTraceId,
        compactionLevel,
        createdAt: new Date().toISOString(),
        parts,
        ...(tagsBytes !== undefined && { tags: { file: TAGS_FILE, bytes: tagsBytes.byteLength } }),
        ...(traceIndexBytes !== undefined && { traceIndex: { file: TRACE_INDEX_FILE, bytes: traceIndexBytes.byteLength } }),
      };
      metaBytes = serializeBlockMeta(meta);
      for (const [i, path] of parquetPaths.entries()) await this.opts.backend.writeFile(`${prefix}/${partFileName(i)}`, path);
      await this.opts.backend.write(`${prefix}/${BLOOM_FILE}`, bloomBytes);
      if (tagsBytes !== undefined) await this.opts.backend.write(`${prefix}/${TAGS_FILE}`, tagsBytes);
      if (traceIndexBytes !== undefined) await this.opts.backend.write(`${prefix}/${TRACE_INDEX_FILE}`, traceIndexBytes);
      await this.opts.backend.write(`${prefix}/${META_FILE}`, metaBytes);
    } catch (err) {
      await Promise.all(parquetPaths.map((p) => rm(p, { force: true })));
      await this.opts.backend.delete(prefix).catch(() => undefined);
      throw err;
    }
    this.add(tenant, {
      meta,
      bloom,
      ...this.partsOf(prefix, meta),
      diskBytes: meta.sizeBytes + bloomBytes.byteLength + (tagsBytes?.byteLength ?? 0) + (traceIndexBytes?.byteLength ?? 0) + metaBytes.byteLength,
      readers: 0,
      onIdle: undefined,
      publishedAtMs: Date.now(),
    });
    if (tags !== undefined && tagsBytes !== undefined) this.tagCache.set(blockId, Promise.resolve(tags), tagsBytes.byteLength);
    if (traceIndex !== undefined) this.traceIndexCache.set(blockId, Promise.resolve(traceIndex), traceIndex.memoryBytes);
    return meta;
  }

  /** The tenant's blocks (sorted by minStartUnixNano) that `keep` accepts; all of them without it. */
  private listed(tenant: string, keep: BlockFilter | undefined): LoadedBlock[] {
    const list = this.byTenant.get(tenant) ?? [];
    return keep === undefined ? list : list.filter((b) => keep(b.meta, b.publishedAtMs));
  }

  private partsOf(prefix: string, meta: BlockMeta): { partKeys: string[]; partNames: string[] } {
    const partKeys = meta.parts.map((p) => `${prefix}/${p.file}`);
    return { partKeys, partNames: partKeys.map((key) => partName(this.opts.backend, key)) };
  }

  /**
   * Loads one block: its meta (from meta.json unless the index gave it) and bloom filter.
   * A block without meta.json is not one yet (or no longer): nothing happens.
   */
  private async loadBlock(tenant: string, blockId: string, indexed: BlockMeta | undefined): Promise<void> {
    const prefix = `${tenant}/${blockId}`;
    const log = this.opts.logger;
    let meta: BlockMeta;
    let metaBytes: number;
    try {
      if (indexed) {
        meta = indexed;
        metaBytes = serializeBlockMeta(meta).byteLength;
      } else {
        let bytes: Buffer;
        try {
          bytes = await this.opts.backend.read(`${prefix}/${META_FILE}`);
        } catch (err) {
          if (err instanceof BackendNotFoundError) return;
          throw err;
        }
        meta = parseBlockMeta(bytes);
        metaBytes = bytes.byteLength;
      }
      if (meta.blockId !== blockId || meta.tenant !== tenant) throw new Error(`meta.json names block ${meta.tenant}/${meta.blockId}`);
    } catch (err) {
      // The bucket failing is not the block's fault: nothing is skipped for it.
      if (err instanceof BackendError) throw err;
      // Not ours to delete: it may be a newer format or need a human.
      if (!this.unusable.has(prefix)) log.error({ tenant, blockId, err }, 'skipping a block whose meta.json cannot be used');
      this.unusable.add(prefix);
      return;
    }
    const parts = this.partsOf(prefix, meta);
    let bloom: BloomFilter;
    let bloomSize: number;
    try {
      const bytes = await this.opts.backend.read(`${prefix}/${BLOOM_FILE}`);
      bloom = BloomFilter.parse(bytes);
      bloomSize = bytes.byteLength;
    } catch (err) {
      if (err instanceof BackendError) throw err;
      log.warn({ tenant, blockId, err }, 'bloom filter unreadable; rebuilding it from the block');
      const files = await readableObjects(
        this.opts.backend,
        meta.parts.map((p, i) => ({ key: parts.partKeys[i]!, want: partWant(p, 'all') })),
      );
      try {
        bloom = BloomFilter.fromTraceIds(await readTraceIds(this.opts.engine, files.paths));
      } finally {
        files.release();
      }
      const bytes = bloom.serialize();
      // Repaired in place only where no other instance may be deleting the block meanwhile.
      if (!this.opts.backend.shared && this.opts.readOnly !== true) await this.opts.backend.write(`${prefix}/${BLOOM_FILE}`, bytes);
      bloomSize = bytes.byteLength;
    }
    const diskBytes = meta.sizeBytes + bloomSize + (meta.tags?.bytes ?? 0) + (meta.traceIndex?.bytes ?? 0) + metaBytes;
    this.add(tenant, { meta, bloom, ...parts, diskBytes, readers: 0, onIdle: undefined }, false);
  }

  /** Tenants in the backend, and those known here (all of whose blocks may have gone). */
  private async listTenants(): Promise<string[]> {
    const listed = (await this.opts.backend.list('')).filter((name) => !name.startsWith('~'));
    return [...new Set([...listed, ...this.byTenant.keys()])].sort();
  }

  private async refreshAll(compactor: boolean): Promise<void> {
    if (this.closed) return;
    const started = process.hrtime.bigint();
    let tenants: string[];
    try {
      tenants = await this.listTenants();
    } catch (err) {
      blockMetrics.pollFailures.inc();
      this.opts.logger.warn({ err }, 'block list poll failed: tenants cannot be listed; the next poll retries');
      return;
    }
    for (const tenant of tenants) {
      if (this.closed) return;
      try {
        await this.exclusive(tenant, () => this.refreshTenant(tenant, { full: compactor, writeIndex: compactor }));
      } catch (err) {
        blockMetrics.pollFailures.inc();
        this.opts.logger.warn({ tenant, err }, 'block list poll failed for the tenant; the next poll retries');
      }
    }
    blockMetrics.pollDuration.observe(secondsSince(started));
  }

  /**
   * One tenant's refresh (under exclusive(), so never beside its compaction, retention
   * or sweep): lists, drops what went, loads what came, and with `writeIndex` writes the
   * index when it changed.
   */
  private async refreshTenant(tenant: string, opts: { full: boolean; writeIndex: boolean }): Promise<void> {
    // Only blocks known before listing began may be dropped for missing from it: one
    // published meanwhile is missing because it was not there yet.
    const before = new Set((this.byTenant.get(tenant) ?? []).map((b) => b.meta.blockId));
    const listing = (!opts.full && this.opts.backend.shared ? await this.indexedListing(tenant) : undefined) ?? (await this.fullListing(tenant));
    const now = this.now();

    const marks = this.compactedOf(tenant);
    for (const b of this.byTenant.get(tenant) ?? []) {
      const blockId = b.meta.blockId;
      if (!before.has(blockId) || listing.blocks.has(blockId)) continue;
      this.drop(tenant, b);
      if (listing.compacted.has(blockId)) marks.set(blockId, { since: now, block: b });
    }
    for (const blockId of listing.compacted) if (!marks.has(blockId)) marks.set(blockId, { since: now });
    // Deleted by now (sweep, here or on an earlier compactor).
    for (const blockId of marks.keys()) if (!listing.compacted.has(blockId)) marks.delete(blockId);
    if (listing.incomplete) this.incomplete.set(tenant, listing.incomplete);

    const shown = new Set((this.byTenant.get(tenant) ?? []).map((b) => b.meta.blockId));
    for (const [blockId, meta] of listing.blocks) {
      if (shown.has(blockId) || marks.has(blockId) || this.publishing.has(blockId)) continue;
      try {
        await this.loadBlock(tenant, blockId, meta);
      } catch (err) {
        // Deleted while it was being loaded, or unreadable for now.
        blockMetrics.pollFailures.inc();
        this.opts.logger.warn({ tenant, blockId, err }, 'block not loaded; the next poll retries');
      }
    }
    this.updateGauges(tenant);
    if (listing.indexBuiltAt !== undefined) blockMetrics.indexAge.set({ tenant }, (now - listing.indexBuiltAt) / 1000);
    if (opts.writeIndex) await this.syncIndex(tenant);
  }

  /**
   * The tenant's index and a listing of its block IDs: blocks written since the index was
   * built are in the listing only (their meta.json is read), blocks deleted since are in
   * the index only (dropped). Undefined without an index younger than INDEX_STALE_POLLS
   * poll intervals.
   */
  private async indexedListing(tenant: string): Promise<TenantListing | undefined> {
    let bytes: Buffer;
    try {
      bytes = await this.opts.backend.read(`${tenant}/${INDEX_FILE}`);
    } catch (err) {
      if (err instanceof BackendNotFoundError) {
        blockMetrics.indexAge.remove({ tenant });
        return undefined;
      }
      throw err;
    }
    let index;
    try {
      index = parseBlockIndex(bytes);
    } catch (err) {
      this.opts.logger.warn({ tenant, err }, 'block index unusable; listing the tenant instead');
      return undefined;
    }
    const builtAt = Date.parse(index.builtAt);
    if (this.now() - builtAt > INDEX_STALE_POLLS * this.pollIntervalMs) {
      blockMetrics.indexAge.set({ tenant }, (this.now() - builtAt) / 1000);
      this.opts.logger.debug({ tenant, builtAt: index.builtAt }, 'block index too old to trust; listing the tenant instead');
      return undefined;
    }
    const indexed = new Map(index.blocks.map((m) => [m.blockId, m]));
    const compacted = new Set(index.compacted);
    const listing: TenantListing = { blocks: new Map(), compacted: new Set(), indexBuiltAt: builtAt };
    for (const blockId of await this.opts.backend.list(tenant)) {
      if (!isBlockId(blockId)) continue;
      if (compacted.has(blockId)) listing.compacted.add(blockId);
      else listing.blocks.set(blockId, indexed.get(blockId));
    }
    this.indexState.set(tenant, { signature: indexSignature([...indexed.keys()], index.compacted), builtAt });
    return listing;
  }

  /** Every object of the tenant, grouped by block: blocks with meta.json, marked compacted, or incomplete. */
  private async fullListing(tenant: string): Promise<TenantListing> {
    const files = new Map<string, { names: Set<string>; newest: number }>();
    for (const o of await this.opts.backend.listObjects(tenant)) {
      const [blockId, name] = o.key.slice(tenant.length + 1).split('/');
      if (blockId === undefined || name === undefined || !isBlockId(blockId)) continue;
      const entry = files.get(blockId) ?? { names: new Set<string>(), newest: 0 };
      entry.names.add(name);
      entry.newest = Math.max(entry.newest, o.modified.getTime());
      files.set(blockId, entry);
    }
    const listing: TenantListing = { blocks: new Map(), compacted: new Set(), incomplete: new Map() };
    for (const [blockId, { names, newest }] of files) {
      if (names.has(COMPACTED_FILE)) listing.compacted.add(blockId);
      else if (names.has(META_FILE)) listing.blocks.set(blockId, undefined);
      else listing.incomplete!.set(blockId, newest);
    }
    return listing;
  }

  /** Deletes blocks without meta.json: on a backend of this process's own, what a crash interrupted. */
  private async removeIncompleteBlocks(): Promise<void> {
    for (const tenant of await this.listTenants()) {
      for (const blockId of await this.opts.backend.list(tenant)) {
        if (!isBlockId(blockId)) continue;
        const prefix = `${tenant}/${blockId}`;
        const files = await this.opts.backend.list(prefix);
        if (files.includes(META_FILE)) continue;
        // meta.json is written last: without it this is a write a crash interrupted.
        this.opts.logger.warn({ tenant, blockId, files }, 'deleting an incomplete block (no meta.json)');
        await this.opts.backend.delete(prefix);
      }
    }
  }

  /**
   * Writes the tenant's index when what this instance sees differs from it, or it nears
   * the age at which others stop trusting it; deletes it once the tenant has no block.
   * Only the compactor calls this (through refresh, compaction, retention and sweep).
   */
  private async syncIndex(tenant: string): Promise<void> {
    if (!this.opts.backend.shared) return;
    const blocks = (this.byTenant.get(tenant) ?? []).map((b) => b.meta);
    const compacted = [...this.compactedOf(tenant).keys()].sort();
    const signature = indexSignature(
      blocks.map((m) => m.blockId),
      compacted,
    );
    const last = this.indexState.get(tenant);
    const now = this.now();
    if (last?.signature === signature && now - last.builtAt < INDEX_REWRITE_POLLS * this.pollIntervalMs) {
      blockMetrics.indexAge.set({ tenant }, (now - last.builtAt) / 1000);
      return;
    }
    const key = `${tenant}/${INDEX_FILE}`;
    if (blocks.length === 0 && compacted.length === 0) {
      await this.opts.backend.delete(key);
      this.indexState.delete(tenant);
      blockMetrics.indexAge.remove({ tenant });
      return;
    }
    await this.opts.backend.write(key, serializeBlockIndex({ format: 1, builtAt: new Date(now).toISOString(), blocks, compacted }));
    this.indexState.set(tenant, { signature, builtAt: now });
    blockMetrics.indexAge.set({ tenant }, 0);
  }

  private compactedOf(tenant: string): Map<string, { since: number; block?: LoadedBlock }> {
    let marks = this.compacted.get(tenant);
    if (!marks) {
      marks = new Map();
      this.compacted.set(tenant, marks);
    }
    return marks;
  }

  /** How long a compacted block stays: every instance drops it within a poll interval, and gets another and a minute to finish reading it. */
  private get compactedGraceMs(): number {
    return 2 * this.pollIntervalMs + 60_000;
  }

  private add(tenant: string, block: LoadedBlock, gauges = true): void {
    const list = this.byTenant.get(tenant) ?? [];
    const start = BigInt(block.meta.minStartUnixNano);
    let at = list.length;
    while (at > 0 && BigInt(list[at - 1]!.meta.minStartUnixNano) > start) at--;
    // Replaced, not mutated: a lookup iterating the old list is unaffected.
    this.byTenant.set(tenant, [...list.slice(0, at), block, ...list.slice(at)]);
    if (gauges) this.updateGauges(tenant);
  }

  /** Removes a block from view: lookups that hold it keep reading it, new ones do not see it. */
  private drop(tenant: string, block: LoadedBlock): void {
    this.byTenant.set(
      tenant,
      (this.byTenant.get(tenant) ?? []).filter((b) => b !== block),
    );
    this.updateGauges(tenant);
    this.tagCache.delete(block.meta.blockId);
    this.traceIndexCache.delete(block.meta.blockId);
  }

  /** Removes a block from view, waits for the lookups reading it, then deletes it. */
  private async retire(tenant: string, block: LoadedBlock): Promise<void> {
    this.drop(tenant, block);
    if (block.readers > 0) await new Promise<void>((resolve) => (block.onIdle = resolve));
    await this.deleteBlock(tenant, block.meta.blockId);
  }

  private async deleteBlock(tenant: string, blockId: string): Promise<void> {
    const prefix = `${tenant}/${blockId}`;
    // Without meta.json first, a crash mid-delete could leave a visible block missing its data.
    await this.opts.backend.delete(`${prefix}/${META_FILE}`);
    await this.opts.backend.delete(prefix);
  }

  /** The block's tag index, read on first use; undefined when it has none or it cannot be read (tag queries then scan). */
  private tagsOf(block: LoadedBlock): Promise<TagIndex | undefined> {
    const file = block.meta.tags;
    if (file === undefined) return Promise.resolve(undefined);
    const { tenant, blockId } = block.meta;
    const cached = this.tagCache.get(blockId);
    if (cached) return cached;
    const loading = this.opts.backend
      .read(`${tenant}/${blockId}/${file.file}`)
      .then((bytes) => TagIndex.parse(bytes))
      .catch((err: unknown) => {
      // The Parquet parts still answer everything the index would: log once (the failure is cached) and scan.
        this.opts.logger.warn({ tenant, blockId, err }, 'tags.json unreadable; tag queries scan this block');
        return undefined;
      });
    this.tagCache.set(blockId, loading, file.bytes);
    return loading;
  }

  /**
   * Where the block's trace index puts the trace: [] when the block does not hold it;
   * undefined when the block has no trace index, or it cannot be read (its parts are
   * then searched by their ID ranges, as before trace indexes existed).
   */
  private async locateTrace(block: LoadedBlock, traceIdHex: string): Promise<TraceLocation[] | undefined> {
    return (await this.traceIndexOf(block))?.find(traceIdHex);
  }

  /** The block's trace index, read on first use and kept in a bounded cache; undefined without a usable one. */
  private traceIndexOf(block: LoadedBlock): Promise<TraceIndex | undefined> {
    const file = block.meta.traceIndex;
    if (file === undefined) return Promise.resolve(undefined);
    const { tenant, blockId } = block.meta;
    const cached = this.traceIndexCache.get(blockId);
    if (cached) return cached;
    const loading = this.opts.backend
      .read(`${tenant}/${blockId}/${file.file}`)
      .then((bytes) => TraceIndex.parse(bytes))
      .catch((err: unknown) => {
        // The parts answer without it. A bucket failing is tried again by the next lookup;
        // a file that cannot be used is logged once (the failure is cached).
        if (err instanceof BackendError) this.traceIndexCache.delete(blockId);
        this.opts.logger.warn({ tenant, blockId, err }, "trace-index.bin unreadable; trace lookups search this block by its parts' ID ranges");
        return undefined;
      });
    // Held in memory as read: its file's size is what it costs.
    this.traceIndexCache.set(blockId, loading, file.bytes);
    return loading;
  }

  private release(block: LoadedBlock): void {
    block.readers--;
    if (block.readers === 0 && block.onIdle) {
      const wake = block.onIdle;
      block.onIdle = undefined;
      wake();
    }
  }

  private exclusive<T>(tenant: string, job: () => Promise<T>): Promise<T> {
    const previous = this.maintenance.get(tenant) ?? Promise.resolve();
    const run = previous.then(job, job);
    this.maintenance.set(
      tenant,
      run.catch(() => undefined),
    );
    return run;
  }

  private updateGauges(tenant: string): void {
    const list = this.byTenant.get(tenant) ?? [];
    blockMetrics.blocks.set({ tenant }, list.length);
    blockMetrics.bytes.set({ tenant }, this.diskBytes(tenant));
    blockMetrics.spans.set(
      { tenant },
      list.reduce((n, b) => n + b.meta.spanCount, 0),
    );
  }

  /** The staging directory, when the store may write. */
  private assertWritable(): string {
    if (this.closed) throw new Error('the block store is closed');
    if (this.stagingDir === undefined) throw new Error('the block store is read-only (a querier): it writes, compacts and deletes no blocks');
    return this.stagingDir;
  }
}

/** What an index says, in a form that compares equal exactly when two indexes list the same blocks. */
function indexSignature(blockIds: readonly string[], compacted: readonly string[]): string {
  return `${[...blockIds].sort().join(',')}|${[...compacted].sort().join(',')}`;
}

/** Parsed indexes (tag or trace) by block ID, least recently used dropped first once over `maxBytes`. */
class LruCache<T> {
  private readonly entries = new Map<string, { index: Promise<T | undefined>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(blockId: string): Promise<T | undefined> | undefined {
    const e = this.entries.get(blockId);
    if (!e) return undefined;
    this.entries.delete(blockId);
    this.entries.set(blockId, e);
    return e.index;
  }

  set(blockId: string, index: Promise<T | undefined>, bytes: number): void {
    this.delete(blockId);
    this.entries.set(blockId, { index, bytes });
    this.bytes += bytes;
    for (const [id, e] of this.entries) {
      if (this.bytes <= this.maxBytes || id === blockId) break;
      this.entries.delete(id);
      this.bytes -= e.bytes;
    }
  }

  delete(blockId: string): void {
    const e = this.entries.get(blockId);
    if (!e) return;
    this.entries.delete(blockId);
    this.bytes -= e.bytes;
  }
}

function dedupeBySpanId(lists: readonly StoredSpan[][]): StoredSpan[] {
  const seen = new Set<string>();
  const out: StoredSpan[] = [];
  for (const list of lists) {
    for (const s of list) {
      const id = toHex(s.span.spanId);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(s);
    }
  }
  return out;
}

function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}
