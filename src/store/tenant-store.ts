// One tenant's write path and recent data: WAL → head → block cut.
import type { Logger } from '../telemetry/logger.js';
import { filterSpans, type ResourceSpans, type StoredSpan, type TraceSpans } from '../otlp/model.js';
import { decodeTracesDataKeepingWire } from '../otlp/protobuf.js';
import { Head, encodedBatchOf } from './head/head.js';
import { Wal, type SyncPolicy } from '../lib/wal/wal.js';
import type { BlockStore } from './blocks/block-store.js';
import { writeCutBlock } from './cut-block.js';
import type { Quarantine } from './quarantine.js';
import { storeMetrics } from './metrics.js';
import { collectAfterCut } from './memory.js';
import { checkHeadLimits, type HeadLimits } from './head/limits.js';
import type { RefusedSpans } from '../lib/refused.js';
import { countDiscardedSpans } from '../telemetry/discarded.js';

export interface TenantStoreOptions {
  tenant: string;
  walDir: string;
  sync: { policy: SyncPolicy; intervalMs: number; segmentMaxBytes: number };
  blocks: BlockStore;
  quarantine: Quarantine;
  logger: Logger;
}

export interface HeadRange {
  startUnixNano?: bigint;
  endUnixNano?: bigint;
}

export class TenantStore {
  private head = new Head();
  /** Heads sealed for a block cut, oldest first: still queried until their block is visible. */
  private readonly sealed: Array<{ head: Head; walSeq: Promise<number> }> = [];
  private cutting: Promise<void> = Promise.resolve();
  private queuedCut: Promise<void> | undefined;

  private constructor(
    private readonly opts: TenantStoreOptions,
    private readonly wal: Wal,
  ) {}

  static async open(opts: TenantStoreOptions): Promise<TenantStore> {
    const log = opts.logger.child({ tenant: opts.tenant });
    const replayed = new Head();
    let records = 0;
    const wal = await Wal.open(
      {
        dir: opts.walDir,
        syncPolicy: opts.sync.policy,
        syncIntervalMs: opts.sync.intervalMs,
        segmentMaxBytes: opts.sync.segmentMaxBytes,
        logger: log,
        tenant: opts.tenant,
      },
      (payload) => {
        // A record is a TracesData Skein wrote: its own bytes serve the head as a request's do.
        replayed.insert(encodedBatchOf(decodeTracesDataKeepingWire(payload)).encoded);
        records++;
      },
    );
    const store = new TenantStore(opts, wal);
    store.head = replayed;
    if (records > 0) {
      log.info({ records, spans: replayed.spanCount, traces: replayed.traceCount }, 'wal replayed');
    }
    store.updateGauges();
    return store;
  }

  get tenant(): string {
    return this.opts.tenant;
  }

  /** Bytes of spans held in memory (the head and heads being cut). */
  get memoryBytes(): number {
    return this.head.bytes + this.sealed.reduce((n, s) => n + s.head.bytes, 0);
  }

  /** Traces with spans held in memory (a trace in the head and in a head being cut counts in each). */
  get memoryTraces(): number {
    return this.head.traceCount + this.sealed.reduce((n, s) => n + s.head.traceCount, 0);
  }

  /** Spans held in memory (the head and heads being cut): those not yet in a block, which the WAL holds. */
  get memorySpans(): number {
    return this.head.spanCount + this.sealed.reduce((n, s) => n + s.head.spanCount, 0);
  }

  get headBytes(): number {
    return this.head.bytes;
  }

  /** Milliseconds since the current head received its first span (0 when empty). */
  get headAgeMs(): number {
    return this.head.firstAppendAt === undefined ? 0 : Date.now() - this.head.firstAppendAt;
  }

  /**
   * Resolves once the batch is durable in the WAL and visible to queries, to the spans
   * `limits` refused (see head/limits.ts), if any: they are not written.
   */
  async append(batch: readonly ResourceSpans[], limits?: HeadLimits): Promise<RefusedSpans | undefined> {
    // The bytes the batch arrived in, when it still has them, spare encoding it (for the WAL and the head) again.
    let { encoded, reused } = encodedBatchOf(batch);
    if (encoded.spanCount === 0) return undefined;
    const verdict = limits && checkHeadLimits(this.head, encoded, this.tenant, limits);
    if (verdict) {
      for (const [reason, n] of verdict.refused.reasons) countDiscardedSpans(this.tenant, reason, n);
      // Rare: the kept spans are encoded again.
      ({ encoded, reused } = encodedBatchOf(filterSpans(batch, (i) => verdict.keep[i]!)));
      if (encoded.spanCount === 0) return verdict.refused;
    }
    // The target head is fixed when the WAL append is issued: cut() swaps heads and
    // rotates the WAL synchronously, so a record and its spans always land on the
    // same side of a cut.
    const target = this.head;
    target.beginAppend();
    let tracesBefore = 0;
    try {
      await this.wal.append(encoded.record);
      tracesBefore = target.traceCount;
      target.insert(encoded);
    } finally {
      target.endAppend();
    }
    storeMetrics.tracesCreated.inc({ tenant: this.tenant }, target.traceCount - tracesBefore);
    storeMetrics.spansStored.inc({ tenant: this.tenant }, encoded.spanCount);
    storeMetrics.bytesStored.inc({ tenant: this.tenant }, encoded.record.byteLength);
    storeMetrics.appendsBySource.inc({ source: reused ? 'request' : 'encoded' });
    this.updateGauges();
    return verdict?.refused;
  }

  find(traceId: string, range?: HeadRange): { spans: StoredSpan[]; bytes: number } {
    const spans: StoredSpan[] = [];
    let bytes = 0;
    for (const head of [this.head, ...this.sealed.map((s) => s.head)]) {
      const found = head.find(traceId, range);
      spans.push(...found.spans);
      bytes += found.bytes;
    }
    return { spans, bytes };
  }

  /** The head and the heads being cut (each with its own tag index and time range). */
  heads(): Head[] {
    return [this.head, ...this.sealed.map((s) => s.head)];
  }

  /** Traces of the head and of heads being cut that overlap the range (see Head.scan). */
  *scan(range?: HeadRange): Generator<TraceSpans & { bytes: number }> {
    for (const head of [this.head, ...this.sealed.map((s) => s.head)]) yield* head.scan(range);
  }



  /**
   * Cuts the head into a block and resolves when the block is durable and visible
   * and the WAL segments it covers are deleted. Cuts of one tenant run one at a time;
   * a head whose block failed to be written stays sealed (queryable, in the WAL) and
   * is retried first by the next cut.
   */
  cut(reason: 'flush' | 'size' | 'age' | 'shutdown'): Promise<void> {
    // A cut that has not started yet will seal everything acknowledged so far, so a
    // later request can share it.
    if (this.queuedCut) return this.queuedCut;
    const run = this.cutting.then(async () => {
      this.queuedCut = undefined;
      const cutBytes = this.memoryBytes;
      await this.cutNow(reason);
      // What the cut heads held is garbage now, and nothing here refers to it any
      // more (cutNow has returned): collect it in one go (see memory.ts).
      collectAfterCut(cutBytes);
    });
    this.queuedCut = run;
    this.cutting = run.catch(() => undefined);
    return run;
  }

  private async cutNow(reason: string): Promise<void> {
    if (this.head.spanCount > 0 || this.head.inFlight > 0) {
      this.sealed.push({ head: this.head, walSeq: this.wal.rotate() });
      this.head = new Head();
    }
    try {
      while (this.sealed.length > 0) {
        const started = process.hrtime.bigint();
        const { head, walSeq } = this.sealed[0]!;
        await head.whenDrained();
        const sealedThrough = await walSeq;
        // The head is the cut's span source: what a block cannot hold goes to the quarantine (cut-block.ts).
        const meta =
          head.spanCount > 0
            ? await writeCutBlock(this.opts, { traceIds: head.sortedTraceIds(), traces: (ids) => head.sortedTraces(ids) })
            : undefined;
        if (meta) {
          this.opts.logger.info(
            { tenant: this.tenant, reason, blockId: meta.blockId, spans: meta.spanCount, traces: meta.traceCount, bytes: meta.sizeBytes },
            'head cut into block',
          );
        }
        await this.wal.removeThrough(sealedThrough);
        this.sealed.shift();
        storeMetrics.flushDuration.observe({ reason }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    } catch (err) {
      this.opts.logger.error({ tenant: this.tenant, err }, 'head cut failed; the spans stay in the WAL and the next cut retries');
      storeMetrics.flushFailures.inc({ tenant: this.tenant });
      throw err;
    } finally {
      this.updateGauges();
    }
  }

  async close(): Promise<void> {
    await this.cutting;
    await this.wal.close();
  }

  walDiskBytes(): number {
    return this.wal.diskBytes();
  }

  private updateGauges(): void {
    storeMetrics.headSpans.set({ tenant: this.tenant }, this.memorySpans);
    storeMetrics.headBytes.set({ tenant: this.tenant }, this.memoryBytes);
    storeMetrics.headTraces.set({ tenant: this.tenant }, this.memoryTraces);
  }
}
