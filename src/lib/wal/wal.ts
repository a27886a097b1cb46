// The write-ahead log of one tenant. A span batch is acknowledged only once its
// record is in the WAL as the sync policy demands, so a crash loses nothing
// that was acknowledged; recovery replays the records into a new head.
//
// Every append, rotation and close goes through one queue worked by a single
// loop, so records reach the disk in call order and a rotation falls exactly
// between the appends called before it and those called after. With the
// 'batch' policy the loop takes all appends waiting at that moment as one group:
// one writev, one fdatasync, then all of them resolve (group commit).
import { mkdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../../telemetry/logger.js';
import { MAX_PAYLOAD_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, isValidPayloadLength, writeRecordHeader } from './record.js';
import { SegmentWriter, segmentFileName, syncDirectory } from './segment.js';
import { replayDirectory, type RecordHandler, type ReplayedSegment } from './replay.js';
import { walMetrics } from './metrics.js';

export type SyncPolicy = 'batch' | 'request' | 'none';

export interface WalOptions {
  /** One WAL per tenant directory, created if missing. */
  dir: string;
  /**
   * batch: group commit, an append resolves after an fdatasync that covers it and
   * concurrent appends share one write and one fdatasync. request: each append
   * gets its own write and fdatasync, one after another. none: an append resolves
   * once written to the OS (survives a crash of Skein, not of the machine).
   */
  syncPolicy: SyncPolicy;
  /** batch only: after the first pending append, wait up to this long to gather more (0: write as soon as the previous group is done). */
  syncIntervalMs: number;
  /** A new segment file is started once the current one passes this size. */
  segmentMaxBytes: number;
  logger: Logger;
  /** Label for metrics (defaults to the directory's name). */
  tenant?: string;
}

/** Conditions that can clear without anyone touching the WAL: space freed, a transient device or resource shortage. */
const RETRYABLE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EINTR', 'ENOMEM', 'EMFILE', 'ENFILE', 'EBUSY']);

/** An append the WAL could not make durable; nothing of it is left in the WAL. */
export class WalWriteError extends Error {
  override readonly name = 'WalWriteError';
  /** The system's error code, e.g. 'ENOSPC', 'EIO'. */
  readonly code: string;
  /** Whether the same append may succeed later (the disk was full, say) rather than never. */
  readonly retryable: boolean;

  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.retryable = RETRYABLE_CODES.has(code);
  }
}

function toWriteError(err: unknown, doing: string): WalWriteError {
  if (err instanceof WalWriteError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new WalWriteError(`wal: ${doing} failed: ${message}`, typeof code === 'string' ? code : 'EUNKNOWN', { cause: err });
}

interface PendingAppend {
  kind: 'append';
  payload: Uint8Array;
  queuedAt: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface PendingControl {
  kind: 'control';
  /** Never rejects: the outcome goes to whoever queued it. */
  run: () => Promise<void>;
}

export class Wal {
  private readonly queue: Array<PendingAppend | PendingControl> = [];
  private draining = false;
  /** The segment appends go to; unset after it failed or could not be created (the next group creates one). */
  private current: SegmentWriter | undefined;
  /** Size of every segment file no longer appended to, by sequence number. */
  private readonly closedSegments = new Map<number, number>();
  private nextSeq: number;
  private closing: Promise<void> | undefined;
  /** Ends the wait for more appends of a batch early (a rotation or close is waiting). */
  private endGathering: (() => void) | undefined;
  private readonly labels: { tenant: string };

  private constructor(
    private readonly opts: WalOptions,
    replayed: readonly ReplayedSegment[],
  ) {
    for (const segment of replayed) this.closedSegments.set(segment.seq, segment.bytes);
    this.nextSeq = (replayed.at(-1)?.seq ?? 0) + 1;
    this.labels = { tenant: opts.tenant ?? basename(opts.dir) };
  }

  /**
   * Replays every existing segment in order, calling onRecord for each valid
   * record (awaiting it if it returns a promise) and truncating torn or corrupt
   * tails, then opens a new segment for appends: a file that may end torn is
   * never appended to.
   */
  static async open(opts: WalOptions, onRecord: RecordHandler): Promise<Wal> {
    if (!['batch', 'request', 'none'].includes(opts.syncPolicy)) throw new RangeError(`wal: unknown sync policy ${String(opts.syncPolicy)}`);
    if (!(opts.segmentMaxBytes > 0)) throw new RangeError('wal: segmentMaxBytes must be positive');
    if (!(opts.syncIntervalMs >= 0)) throw new RangeError('wal: syncIntervalMs must be 0 or more');
    await mkdir(opts.dir, { recursive: true });
    const replayed = await replayDirectory(opts.dir, opts.logger, opts.tenant ?? basename(opts.dir), onRecord);
    const wal = new Wal(opts, replayed);
    try {
      await wal.startSegment();
    } catch (err) {
      // A full disk should not keep the replayed data from being served; appends
      // are refused (as retryable) until a segment can be created.
      const error = toWriteError(err, 'creating a segment');
      if (!error.retryable) throw error;
      walMetrics.writeErrors.inc(wal.labels);
      opts.logger.error({ err: error, code: error.code }, 'wal: cannot start a segment; appends will retry');
    }
    wal.updateDiskGauge();
    return wal;
  }

  /**
   * Appends one record; resolves when it is durable per the sync policy. The
   * payload must not change until then. On a failed write (disk full…) the
   * segment is truncated back so no partial record remains and the promise
   * rejects with a WalWriteError; later appends work again once the cause is gone.
   */
  append(payload: Uint8Array): Promise<void> {
    if (this.closing) return Promise.reject(new Error('wal: append after close'));
    if (!isValidPayloadLength(payload.byteLength)) {
      return Promise.reject(new RangeError(`wal: a record payload must be 1 to ${MAX_PAYLOAD_BYTES} bytes, got ${payload.byteLength}`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'append', payload, queuedAt: performance.now(), resolve, reject });
      this.drain();
    });
  }

  /**
   * Closes the current segment and starts a new one; resolves to the sequence
   * number of the closed segment. Every append called before rotate() is in a
   * segment <= that number, every append called after it in a later one.
   */
  rotate(): Promise<number> {
    if (this.closing) return Promise.reject(new Error('wal: rotate after close'));
    return this.enqueueControl(() => this.closeCurrentAndStartNext());
  }

  /** Deletes the segments with sequence number <= seq (their records are in a durable block now). */
  async removeThrough(seq: number): Promise<void> {
    const doomed = [...this.closedSegments.keys()].filter((s) => s <= seq).sort((a, b) => a - b);
    if (doomed.length === 0) return;
    try {
      for (const s of doomed) {
        await unlink(join(this.opts.dir, segmentFileName(s))).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        this.closedSegments.delete(s);
      }
    } finally {
      this.updateDiskGauge();
    }
    // Not for safety (a deletion lost to a crash only replays records a block also
    // has), but so that a restart after a power loss finds the WAL as it was left.
    if (this.opts.syncPolicy !== 'none') await syncDirectory(this.opts.dir);
  }

  /** Bytes of all segment files of this WAL. */
  diskBytes(): number {
    let bytes = this.current?.size ?? 0;
    for (const size of this.closedSegments.values()) bytes += size;
    return bytes;
  }

  /** Writes (and resolves) the appends called before it, then closes the segment. */
  close(): Promise<void> {
    this.closing ??= this.enqueueControl(async () => {
      if (this.current) await this.retire(this.current);
      this.updateDiskGauge();
    });
    return this.closing;
  }

  private enqueueControl<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: 'control', run: () => run().then(resolve, reject) });
      this.endGathering?.();
      this.drain();
    });
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.workQueue().finally(() => {
      this.draining = false;
      if (this.queue.length > 0) this.drain();
    });
  }

  private async workQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      if (first.kind === 'control') {
        this.queue.shift();
        await first.run();
        continue;
      }
      await this.gather(first);
      const group = this.takeGroup();
      try {
        await this.commit(group);
      } catch (err) {
        const error = toWriteError(err, 'append');
        walMetrics.writeErrors.inc(this.labels);
        for (const append of group) append.reject(error);
      }
    }
  }

  /** With 'batch' and an interval, lets more appends join the group of `first`. */
  private async gather(first: PendingAppend): Promise<void> {
    if (this.opts.syncPolicy !== 'batch' || this.opts.syncIntervalMs <= 0) return;
    const wait = first.queuedAt + this.opts.syncIntervalMs - performance.now();
    if (wait <= 0 || this.queue.some((entry) => entry.kind === 'control')) return;
    await new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.endGathering = undefined;
        resolve();
      };
      const timer = setTimeout(end, wait);
      this.endGathering = end;
    });
  }

  /**
   * The appends at the front of the queue that go into one write: one with
   * 'request', otherwise all of them up to the next rotation or close, but no
   * more than it takes for the current segment to pass segmentMaxBytes.
   */
  private takeGroup(): PendingAppend[] {
    const room = this.opts.segmentMaxBytes - (this.current?.size ?? SEGMENT_HEADER_BYTES);
    const limit = this.opts.syncPolicy === 'request' ? 1 : this.queue.length;
    let count = 0;
    let bytes = 0;
    while (count < limit) {
      const entry = this.queue[count];
      if (entry?.kind !== 'append' || (count > 0 && bytes >= room)) break;
      bytes += RECORD_HEADER_BYTES + entry.payload.byteLength;
      count++;
    }
    return this.queue.splice(0, count) as PendingAppend[];
  }

  /** Writes a group as one writev (and fdatasync per the policy), then resolves it; throws if any of that failed. */
  private async commit(group: PendingAppend[]): Promise<void> {
    let segment = this.current;
    if (!segment) {
      try {
        segment = await this.startSegment();
      } catch (err) {
        throw toWriteError(err, 'creating a segment');
      }
    }
    const headers = Buffer.allocUnsafe(RECORD_HEADER_BYTES * group.length);
    const buffers: Uint8Array[] = [];
    let bytes = 0;
    for (const [i, { payload }] of group.entries()) {
      const at = i * RECORD_HEADER_BYTES;
      writeRecordHeader(payload, headers, at);
      buffers.push(headers.subarray(at, at + RECORD_HEADER_BYTES), payload);
      bytes += RECORD_HEADER_BYTES + payload.byteLength;
    }
    const before = segment.size;
    try {
      await segment.append(buffers);
    } catch (err) {
      if (!segment.usable) await this.abandon(segment, err);
      throw toWriteError(err, 'write');
    }
    walMetrics.bytesWritten.inc(this.labels, bytes);
    walMetrics.recordsWritten.inc(this.labels, group.length);
    if (this.opts.syncPolicy !== 'none') {
      const started = performance.now();
      try {
        await segment.sync();
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages, and a
        // later fsync can report success for data that never reached the disk: the
        // group is cut off and the file is not trusted with more records.
        await segment.truncateTo(before);
        await this.abandon(segment, err);
        throw toWriteError(err, 'fdatasync');
      } finally {
        walMetrics.fsyncDuration.observe(this.labels, (performance.now() - started) / 1000);
      }
    }
    this.updateDiskGauge();
    for (const append of group) append.resolve();
    if (segment.size >= this.opts.segmentMaxBytes) await this.closeCurrentAndStartNext();
  }

  private async startSegment(): Promise<SegmentWriter> {
    // The number is used up even if creation fails, so a leftover file never blocks the next try.
    const seq = this.nextSeq++;
    const segment = await SegmentWriter.create(this.opts.dir, seq, this.opts.syncPolicy !== 'none');
    this.current = segment;
    return segment;
  }

  private async closeCurrentAndStartNext(): Promise<number> {
    const closed = this.current?.seq ?? this.nextSeq - 1;
    if (this.current) await this.retire(this.current);
    try {
      await this.startSegment();
    } catch (err) {
      this.opts.logger.warn({ err, code: (err as NodeJS.ErrnoException).code }, 'wal: cannot start a new segment yet; the next append retries');
    }
    this.updateDiskGauge();
    return closed;
  }

  /** Stops appending to `segment` (which is current) and counts it among the closed ones. */
  private async retire(segment: SegmentWriter): Promise<void> {
    const bytes = await segment.sizeOnDisk().catch(() => segment.size);
    this.current = undefined;
    this.closedSegments.set(segment.seq, bytes);
    await segment.close().catch((err: unknown) => this.opts.logger.warn({ err, segment: segment.seq }, 'wal: closing a segment failed'));
  }

  private async abandon(segment: SegmentWriter, cause: unknown): Promise<void> {
    this.opts.logger.error(
      { err: cause, segment: segment.seq, file: segment.path },
      'wal: segment abandoned after a failed write or fdatasync; appends continue in a new segment (recovery truncates any partial record it holds)',
    );
    await this.retire(segment);
  }

  private updateDiskGauge(): void {
    walMetrics.diskBytes.set(this.labels, this.diskBytes());
  }
}
