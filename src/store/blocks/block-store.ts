// Every tenant's immutable Parquet blocks: writing them (head cuts), finding a
// trace in them, compacting and expiring them. Layout under the backend:
//
//   <tenant>/<blockId>/data-NNNN.parquet  spans, one row per span, in trace-ID
//                                         ranges of their own (docs/block-format.md)
//   <tenant>/<blockId>/bloom.bin          bloom filter of the block's trace IDs
//   <tenant>/<blockId>/tags.json          tag names and values (tag-index.ts)
//   <tenant>/<blockId>/meta.json          written last: a block exists once it does
//
// Metadata and bloom filters of all blocks stay in memory, so trace-by-ID asks
// DuckDB only about blocks that may hold the trace. Tag indexes are read when a
// tag query first needs them and kept in a bounded cache.
//
// DuckDB reads parts from local files the backend makes readable at read time
// (held-parts.ts): with the local backend the objects themselves; with a bucket,
// cached copies holding what each read needs (the footer and the row groups a
// lookup reads; whole parts for scans and compaction), pinned while it runs.
import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import type { StoredSpan, TraceSpans } from '../../otlp/model.js';
import { toHex } from '../../otlp/model.js';
import type { Logger } from '../../telemetry/logger.js';
import { BackendError, type Backend, type ReadableWant } from '../backend/backend.js';
import type { DuckEngine, QueryContext } from '../engine/duckdb.js';
import { BloomFilter } from './bloom.js';
import { mergeParquet, planCompaction } from './compactor.js';
import { HeldParts, partName, readableObjects } from './held-parts.js';
import { BLOOM_FILE, groupsAdmitting, META_FILE, parseBlockMeta, partFileName, partWant, serializeBlockMeta, TAGS_FILE, type BlockMeta, type BlockPart } from './meta.js';
import { blockMetrics } from './metrics.js';
import { readTraceIds, readTraceSpans, readTracesSpans, summarizeParquet } from './reader.js';
import { expiredBlocks } from './retention.js';
import { BLOCK_FORMAT } from './schema.js';
import { TagIndex } from './tag-index.js';
import { writeTracesParquet } from './writer.js';

export type { BlockMeta } from './meta.js';

export interface BlockStoreOptions {
  backend: Backend;
  engine: DuckEngine;
  rowGroupSpans: number;
  logger: Logger;
  /** Bytes of tags.json files whose parsed indexes are kept in memory (least recently used go first). */
  tagCacheBytes?: number;
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
  /** Parquet parts + bloom.bin + tags.json + meta.json. */
  diskBytes: number;
  /** Lookups reading the block right now: it is deleted only once they are done. */
  readers: number;
  onIdle: (() => void) | undefined;
}

const TRACE_ID_RE = /^[0-9a-f]{1,32}$/;
const RESERVED_PREFIX = '~';
const DEFAULT_TAG_CACHE_BYTES = 32 * 1024 * 1024;
const NANOS_PER_SECOND = 1_000_000_000n;

export class BlockStore {
  /** Tenant → its blocks, sorted by minStartUnixNano. */
  private readonly byTenant = new Map<string, LoadedBlock[]>();
  /** Tenant → the compaction or retention running for it: they run one at a time. */
  private readonly maintenance = new Map<string, Promise<unknown>>();
  private closed = false;
  private readonly tagCache: TagCache;

  private constructor(
    private readonly opts: BlockStoreOptions,
    private readonly stagingDir: string,
  ) {
    this.tagCache = new TagCache(opts.tagCacheBytes ?? DEFAULT_TAG_CACHE_BYTES);
  }

  /** Loads every block's meta.json and bloom.bin, and deletes leftovers of writes a crash interrupted. */
  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    const store = new BlockStore(opts, await opts.backend.stagingDir());
    for (const tenant of await opts.backend.list('')) {
      // `~` names are Skein's own objects beside the tenants and blocks (backend.ts).
      if (tenant.startsWith(RESERVED_PREFIX)) continue;
      for (const blockId of await opts.backend.list(tenant)) {
        if (blockId.startsWith(RESERVED_PREFIX)) continue;
        await store.load(tenant, blockId);
      }
      store.updateGauges(tenant);
    }
    const blocks = [...store.byTenant.values()].reduce((n, list) => n + list.length, 0);
    opts.logger.info({ tenants: store.byTenant.size, blocks, bytes: store.diskBytes() }, 'blocks opened');
    return store;
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
    this.assertOpen();
    const started = process.hrtime.bigint();
    const staged = await writeTracesParquet(this.opts.engine, this.stagingDir, traces, { rowGroupSpans: this.opts.rowGroupSpans });
    const meta = await this.publish(tenant, staged.paths, opts.compactionLevel ?? 0, staged.tags);
    blockMetrics.writeDuration.observe({ tenant, reason: 'flush' }, secondsSince(started));
    return meta;
  }

  /**
   * Writes traces the way writeBlock does, as far as the Parquet parts, and deletes
   * them: throws what writeBlock would throw for them (see isolate.ts).
   */
  async tryWrite(traces: AsyncIterable<TraceSpans> | Iterable<TraceSpans>): Promise<void> {
    this.assertOpen();
    const staged = await writeTracesParquet(this.opts.engine, this.stagingDir, traces, { rowGroupSpans: this.opts.rowGroupSpans });
    await Promise.all(staged.paths.map((p) => rm(p, { force: true })));
  }

  /**
   * Spans of one trace from every block that may hold it (time range overlap when
   * given, in unix seconds as Tempo's start/end; then trace-ID range; then bloom),
   * merged and de-duplicated by span ID.
   */
  async findTrace(tenant: string, traceIdHex: string, range: { startUnixSec?: number; endUnixSec?: number } = {}): Promise<FoundTrace> {
    const lower = traceIdHex.toLowerCase();
    if (!TRACE_ID_RE.test(lower)) return { spans: [], inspectedBytes: 0, blocksSearched: 0 };
    const id = lower.padStart(32, '0');
    const from = range.startUnixSec !== undefined && range.startUnixSec > 0 ? BigInt(Math.floor(range.startUnixSec)) * NANOS_PER_SECOND : undefined;
    // `end` is a whole second: spans starting anywhere in it are in range.
    const until = range.endUnixSec !== undefined && range.endUnixSec > 0 ? (BigInt(Math.floor(range.endUnixSec)) + 1n) * NANOS_PER_SECOND : undefined;

    let inspectedBytes = 0;
    const candidates: LoadedBlock[] = [];
    const reads: Array<{ key: string; want: ReadableWant }> = [];
    for (const b of this.byTenant.get(tenant) ?? []) {
      const m = b.meta;
      if (from !== undefined && BigInt(m.maxEndUnixNano) < from) continue;
      if (until !== undefined && BigInt(m.minStartUnixNano) >= until) continue;
      if (id < m.minTraceId || id > m.maxTraceId || !b.bloom.mayContain(id)) continue;
      let used = false;
      for (const [i, part] of m.parts.entries()) {
        if (id < part.minTraceId || id > part.maxTraceId) continue;
        const groups = groupsAdmitting(part, [id]);
        if (part.rowGroups.length > 0 && groups.length === 0) continue;
        inspectedBytes += part.rowGroups.length > 0 ? groups.reduce((n, j) => n + part.rowGroups[j]!.bytes, 0) : part.bytes;
        reads.push({ key: b.partKeys[i]!, want: partWant(part, groups) });
        used = true;
      }
      if (used) candidates.push(b);
    }
    // Taken in the same tick as the candidates were chosen: a compaction or retention
    // deleting one of them now waits until this lookup is done with it.
    for (const b of candidates) b.readers++;
    let found: StoredSpan[][];
    try {
      const files = await readableObjects(this.opts.backend, reads);
      try {
        found = await Promise.all(files.paths.map((path) => readTraceSpans(this.opts.engine, path, id)));
      } finally {
        files.release();
      }
    } finally {
      for (const b of candidates) this.release(b);
    }
    return { spans: dedupeBySpanId(found), inspectedBytes, blocksSearched: candidates.length };
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
   * called exactly once.
   */
  acquire(tenant: string, range: { startUnixNano?: bigint | undefined; endUnixNano?: bigint | undefined }): HeldBlocks {
    const chosen = (this.byTenant.get(tenant) ?? []).filter(
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
   * merge them into a block of compactionLevel max(inputs)+1 and delete the inputs.
   * The output is visible before the inputs go; a crash in between leaves spans in
   * two blocks, which reads and the next compaction de-duplicate.
   */
  compactOnce(tenant: string, opts: { windowMs: number; maxBlockBytes: number; minInputBlocks: number }): Promise<BlockMeta | undefined> {
    return this.exclusive(tenant, async () => {
      this.assertOpen();
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
        merged = await mergeParquet(this.opts.engine, this.stagingDir, files.paths, { rowGroupSpans: this.opts.rowGroupSpans });
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
      for (const b of inputs) await this.retire(tenant, b);
      blockMetrics.compactions.inc({ tenant });
      blockMetrics.compactionDuration.observe({ tenant }, secondsSince(started));
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

  /** Deletes whole blocks whose newest span ended before the cutoff; returns their IDs. */
  applyRetention(tenant: string, cutoffUnixNano: bigint): Promise<string[]> {
    return this.exclusive(tenant, async () => {
      const blocks = this.byTenant.get(tenant) ?? [];
      const expired = expiredBlocks(
        blocks.map((b) => b.meta),
        cutoffUnixNano,
      );
      const deleted: string[] = [];
      for (const m of expired) {
        const b = blocks.find((x) => x.meta.blockId === m.blockId);
        if (!b) continue;
        await this.retire(tenant, b);
        blockMetrics.retentionDeleted.inc({ tenant });
        deleted.push(m.blockId);
      }
      if (deleted.length > 0) this.opts.logger.info({ tenant, blocks: deleted, cutoffUnixNano: cutoffUnixNano.toString() }, 'retention deleted blocks');
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
    await Promise.allSettled([...this.maintenance.values()]);
  }

  // ── internals ────────────────────────────────────────────────────────────

  /** Moves finished Parquet parts in as a new block: parts, then bloom and tags, then meta.json. */
  private async publish(tenant: string, parquetPaths: readonly string[], compactionLevel: number, tags: TagIndex | undefined): Promise<BlockMeta> {
    const blockId = randomUUID();
    const prefix = `${tenant}/${blockId}`;
    let meta: BlockMeta;
    let bloom: BloomFilter;
    let bloomBytes: Uint8Array;
    let metaBytes: Uint8Array;
    const tagsBytes = tags?.serialize();
    try {
      const summary = await summarizeParquet(this.opts.engine, parquetPaths);
      bloom = BloomFilter.fromTraceIds(await readTraceIds(this.opts.engine, parquetPaths));
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
      };
      metaBytes = serializeBlockMeta(meta);
      for (const [i, path] of parquetPaths.entries()) await this.opts.backend.writeFile(`${prefix}/${partFileName(i)}`, path);
      await this.opts.backend.write(`${prefix}/${BLOOM_FILE}`, bloomBytes);
      if (tagsBytes !== undefined) await this.opts.backend.write(`${prefix}/${TAGS_FILE}`, tagsBytes);
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
      diskBytes: meta.sizeBytes + bloomBytes.byteLength + (tagsBytes?.byteLength ?? 0) + metaBytes.byteLength,
      readers: 0,
      onIdle: undefined,
    });
    if (tags !== undefined && tagsBytes !== undefined) this.tagCache.set(blockId, Promise.resolve(tags), tagsBytes.byteLength);
    return meta;
  }

  private partsOf(prefix: string, meta: BlockMeta): { partKeys: string[]; partNames: string[] } {
    const partKeys = meta.parts.map((p) => `${prefix}/${p.file}`);
    return { partKeys, partNames: partKeys.map((key) => partName(this.opts.backend, key)) };
  }

  private async load(tenant: string, blockId: string): Promise<void> {
    const prefix = `${tenant}/${blockId}`;
    const log = this.opts.logger;
    const files = await this.opts.backend.list(prefix);
    if (!files.includes(META_FILE)) {
      // meta.json is written last: without it this is a write a crash interrupted.
      log.warn({ tenant, blockId, files }, 'deleting an incomplete block (no meta.json)');
      await this.opts.backend.delete(prefix);
      return;
    }
    let meta: BlockMeta;
    let metaBytes: Buffer;
    try {
      metaBytes = await this.opts.backend.read(`${prefix}/${META_FILE}`);
      meta = parseBlockMeta(metaBytes);
      if (meta.blockId !== blockId || meta.tenant !== tenant) throw new Error(`meta.json names block ${meta.tenant}/${meta.blockId}`);
    } catch (err) {
      // The bucket failing is not the block's fault: nothing is skipped for it.
      if (err instanceof BackendError) throw err;
      // Not ours to delete: it may be a newer format or need a human.
      log.error({ tenant, blockId, err }, 'skipping a block whose meta.json cannot be used');
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
      await this.opts.backend.write(`${prefix}/${BLOOM_FILE}`, bytes);
      bloomSize = bytes.byteLength;
    }
    const diskBytes = meta.sizeBytes + bloomSize + (meta.tags?.bytes ?? 0) + metaBytes.byteLength;
    this.add(tenant, { meta, bloom, ...parts, diskBytes, readers: 0, onIdle: undefined }, false);
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

  /** Removes a block from view, waits for the lookups reading it, then deletes it (meta.json first). */
  private async retire(tenant: string, block: LoadedBlock): Promise<void> {
    this.byTenant.set(
      tenant,
      (this.byTenant.get(tenant) ?? []).filter((b) => b !== block),
    );
    this.updateGauges(tenant);
    this.tagCache.delete(block.meta.blockId);
    if (block.readers > 0) await new Promise<void>((resolve) => (block.onIdle = resolve));
    const prefix = `${tenant}/${block.meta.blockId}`;
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

  private assertOpen(): void {
    if (this.closed) throw new Error('the block store is closed');
  }
}

/** Parsed tag indexes by block ID, least recently used dropped first once over `maxBytes` of files. */
class TagCache {
  private readonly entries = new Map<string, { index: Promise<TagIndex | undefined>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(blockId: string): Promise<TagIndex | undefined> | undefined {
    const e = this.entries.get(blockId);
    if (!e) return undefined;
    this.entries.delete(blockId);
    this.entries.set(blockId, e);
    return e.index;
  }

  set(blockId: string, index: Promise<TagIndex | undefined>, bytes: number): void {
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
