// The processor's own write-ahead log: the store's Wal class in a directory of
// its own. Spans are in it before consume() resolves, so an acknowledged span
// survives a crash while it waits for its decision (records: wal-records.ts).
//
// Segments are removed by epochs. An epoch is the span of appends between two
// rotations (on replay: one epoch per replayed segment), and counts the traces
// that still wait for a decision with spans in it (plus appends in flight).
// Once an epoch and every older one count zero and the epoch's last segment
// is known (its rotation finished), its segments are deleted.
import { join } from 'node:path';
import type { Logger } from '../../../telemetry/logger.js';
import { Wal } from '../../../lib/wal/wal.js';
import { decodeRecord, type SamplerRecord } from './wal-records.js';

/** `<dataDir>/sampler/<name with / replaced by _>`: one WAL per configured processor. */
export function samplerWalDir(dataDir: string, processorName: string): string {
  return join(dataDir, 'sampler', processorName.replaceAll('/', '_'));
}

interface Epoch {
  /** Waiting traces with spans in this epoch, plus appends to it still in flight. */
  refs: number;
  /** The last segment holding its records, once its rotation has finished. */
  lastSegment: number | undefined;
}

export interface SamplerWalOptions {
  dir: string;
  logger: Logger;
  /** A new segment once one passes this size (default 64 MiB). Appends are group-committed (the 'batch' sync policy). */
  segmentMaxBytes?: number;
}

export class SamplerWal {
  /** Oldest first; the last one is the epoch appends go to. */
  private readonly epochs = new Map<number, Epoch>();
  private current = -1;
  private wal: Wal | undefined;
  private appendsSinceRotation = 0;
  private removing: Promise<void> = Promise.resolve();
  private rotating: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: SamplerWalOptions) {}

  /**
   * Opens the WAL, replaying it first: `onRecord` gets each record with the
   * epoch of its segment, which the traces it recreates pin.
   */
  async open(onRecord: (record: SamplerRecord, epoch: number) => void): Promise<void> {
    const segmentEpochs = new Map<number, number>();
    this.wal = await Wal.open(
      { dir: this.opts.dir, syncPolicy: 'batch', syncIntervalMs: 0, segmentMaxBytes: this.opts.segmentMaxBytes ?? 64 * 1024 * 1024, logger: this.opts.logger },
      (payload, segment) => {
        let epoch = segmentEpochs.get(segment);
        if (epoch === undefined) {
          epoch = ++this.current;
          segmentEpochs.set(segment, epoch);
          this.epochs.set(epoch, { refs: 0, lastSegment: segment });
        }
        onRecord(decodeRecord(payload), epoch);
      },
    );
    this.current++;
    this.epochs.set(this.current, { refs: 0, lastSegment: undefined });
    // Replayed segments that hold no waiting trace can go now.
    this.removeFinished();
  }

  /** The epoch an append made now belongs to. */
  get currentEpoch(): number {
    return this.current;
  }

  /** Keeps an epoch's segments from removal (a waiting trace has spans in it, or an append to it is in flight). */
  pin(epoch: number): void {
    this.epochs.get(epoch)!.refs++;
  }

  unpin(epoch: number): void {
    const state = this.epochs.get(epoch)!;
    if (--state.refs === 0) this.removeFinished();
  }

  append(payload: Uint8Array): Promise<void> {
    if (!this.wal) return Promise.reject(new Error('tail_sampling: the WAL is not open'));
    this.appendsSinceRotation++;
    return this.wal.append(payload);
  }

  /**
   * Starts a new epoch if anything was appended since the last one; once the
   * WAL has rotated, the finished epoch's segments become removable.
   */
  rotate(): Promise<void> {
    const wal = this.wal;
    if (!wal || this.closed || this.rotating || this.appendsSinceRotation === 0) return this.rotating ?? Promise.resolve();
    const finished = this.current;
    this.current++;
    this.epochs.set(this.current, { refs: 0, lastSegment: undefined });
    this.appendsSinceRotation = 0;
    this.rotating = wal
      .rotate()
      .then((segment) => {
        this.epochs.get(finished)!.lastSegment = segment;
        this.removeFinished();
      })
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'tail_sampling: WAL rotation failed; its segments stay until a later rotation'))
      .finally(() => (this.rotating = undefined));
    return this.rotating;
  }

  /** Deletes the segments of the oldest epochs that no waiting trace needs any more. */
  private removeFinished(): void {
    const wal = this.wal;
    if (!wal || this.closed) return;
    let through: number | undefined;
    for (const [epoch, state] of this.epochs) {
      if (state.refs > 0 || state.lastSegment === undefined) break;
      through = state.lastSegment;
      this.epochs.delete(epoch);
    }
    if (through === undefined) return;
    const seq = through;
    this.removing = this.removing
      .then(() => wal.removeThrough(seq))
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'tail_sampling: removing decided WAL segments failed; a later removal retries'));
  }

  /** Bytes of all segment files. */
  diskBytes(): number {
    return this.wal?.diskBytes() ?? 0;
  }

  /** Writes the appends made before it, then closes; undecided traces stay in the segments for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    await this.rotating;
    await this.removing;
    await this.wal?.close();
  }
}
