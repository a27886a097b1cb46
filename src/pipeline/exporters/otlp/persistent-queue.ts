// The persistent sending queue (sending_queue.persistent: true): the memory
// queue plus a write-ahead log (the store's Wal class, in a directory of its
// own), so a batch is on disk before offer() resolves and a restart resends
// every batch that was not finished with.
//
// Records (WAL payloads), version byte first:
//   batch: [1][1] varint id, varint tenant length, tenant (UTF-8), TracesData (protobuf)
//   done:  [1][2] varint count, count × varint id
// A batch's id is unique within the WAL (replay continues after the highest
// id it saw). "done" records name batches delivered or dropped for good; they
// are written about once a second, so a crash may resend a few delivered
// batches (at-least-once, as OTLP retries are anyway), and replay skips the rest.
//
// Segments are removed by epochs: an epoch is the appends between two
// rotations (on replay, one per replayed segment) and counts its batches not
// yet done. Once an epoch and every older one count zero and the epoch's last
// segment is known (its rotation finished), its segments are deleted.
import type { Logger } from '../../../telemetry/logger.js';
import type { ResourceSpans } from '../../../otlp/model.js';
import { countSpans } from '../../../otlp/model.js';
import { decodeTracesData, encodeTracesData } from '../../../otlp/protobuf.js';
import { wireFormOf } from '../../../otlp/wire-form.js';
import { Wal } from '../../../lib/wal/wal.js';
import { BoundedQueue, type QueueEntry, type SendingQueue } from './queue.js';

const FORMAT_VERSION = 1;
const KIND_BATCH = 1;
const KIND_DONE = 2;

export type QueueRecord =
  | { kind: 'batch'; id: number; tenant: string; tracesData: Uint8Array }
  | { kind: 'done'; ids: number[] };

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  // Division rather than shifts: ids may pass 2^32 over a long life.
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

class RecordReader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('exporter queue WAL: record ends early');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    for (let scale = 1; scale <= 2 ** 49; scale *= 128) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
    throw new Error('exporter queue WAL: varint too long');
  }

  raw(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('exporter queue WAL: record ends early');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  rest(): Buffer {
    return this.raw(this.buf.length - this.pos);
  }
}

export function encodeBatchRecord(id: number, tenant: string, tracesData: Uint8Array): Uint8Array {
  const name = Buffer.from(tenant, 'utf8');
  const buf = Buffer.allocUnsafe(2 + varintSize(id) + varintSize(name.length) + name.length + tracesData.length);
  buf[0] = FORMAT_VERSION;
  buf[1] = KIND_BATCH;
  let pos = writeVarint(buf, 2, id);
  pos = writeVarint(buf, pos, name.length);
  buf.set(name, pos);
  buf.set(tracesData, pos + name.length);
  return buf;
}

export function encodeDoneRecord(ids: readonly number[]): Uint8Array {
  let size = 2 + varintSize(ids.length);
  for (const id of ids) size += varintSize(id);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = FORMAT_VERSION;
  buf[1] = KIND_DONE;
  let pos = writeVarint(buf, 2, ids.length);
  for (const id of ids) pos = writeVarint(buf, pos, id);
  return buf;
}

export function decodeQueueRecord(payload: Uint8Array): QueueRecord {
  const r = new RecordReader(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  const version = r.byte();
  if (version !== FORMAT_VERSION) throw new Error(`exporter queue WAL: record format version ${version}, this Skein reads version ${FORMAT_VERSION}`);
  const kind = r.byte();
  if (kind === KIND_BATCH) {
    const id = r.varint();
    const tenant = r.raw(r.varint()).toString('utf8');
    return { kind: 'batch', id, tenant, tracesData: r.rest() };
  }
  if (kind === KIND_DONE) {
    const ids: number[] = [];
    for (let n = r.varint(); n > 0; n--) ids.push(r.varint());
    return { kind: 'done', ids };
  }
  throw new Error(`exporter queue WAL: unknown record kind ${kind}`);
}

interface PersistentEntry extends QueueEntry {
  id: number;
  epoch: number;
}

interface Epoch {
  /** Batches appended in this epoch and not yet done, plus appends to it in flight. */
  pending: number;
  /** The last segment holding its records, once its rotation has finished. */
  lastSegment: number | undefined;
}

export interface PersistentQueueOptions {
  dir: string;
  capacity: number;
  logger: Logger;
  /** Label of the WAL's metrics. */
  walLabel: string;
  /** How often "done" records are written and the WAL rotated so finished segments can go (default 1 s). */
  maintenanceIntervalMs?: number;
  segmentMaxBytes?: number;
}

export class PersistentQueue implements SendingQueue {
  private readonly queue: BoundedQueue<PersistentEntry>;
  private wal: Wal | undefined;
  private nextId = 1;
  /** Oldest first; the last one is the epoch appends go to. */
  private readonly epochs = new Map<number, Epoch>();
  private current = -1;
  private appendsSinceRotation = 0;
  private doneIds: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Maintenance (done records, rotation, removal) runs one step at a time, in order. */
  private maintenance: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: PersistentQueueOptions) {
    this.queue = new BoundedQueue(opts.capacity);
  }

  get size(): number {
    return this.queue.size;
  }

  get spans(): number {
    return this.queue.spans;
  }

  get capacity(): number {
    return this.queue.capacity;
  }

  /** Replays the WAL: every batch not recorded as done is queued again, oldest first. */
  async open(): Promise<void> {
    const found = new Map<number, { tenant: string; tracesData: Uint8Array; segment: number }>();
    const segments: number[] = [];
    let highestId = 0;
    this.wal = await Wal.open(
      {
        dir: this.opts.dir,
        syncPolicy: 'batch',
        syncIntervalMs: 0,
        segmentMaxBytes: this.opts.segmentMaxBytes ?? 16 * 1024 * 1024,
        logger: this.opts.logger,
        tenant: this.opts.walLabel,
      },
      (payload, segment) => {
        if (segments.at(-1) !== segment) segments.push(segment);
        const record = decodeQueueRecord(payload);
        if (record.kind === 'batch') {
          found.set(record.id, { tenant: record.tenant, tracesData: record.tracesData, segment });
          highestId = Math.max(highestId, record.id);
        } else {
          for (const id of record.ids) {
            found.delete(id);
            highestId = Math.max(highestId, id);
          }
        }
      },
    );
    this.nextId = highestId + 1;
    const epochOfSegment = new Map<number, number>();
    for (const segment of segments) {
      epochOfSegment.set(segment, ++this.current);
      this.epochs.set(this.current, { pending: 0, lastSegment: segment });
    }
    let restored = 0;
    for (const [id, { tenant, tracesData, segment }] of [...found].sort((a, b) => a[0] - b[0])) {
      let batch: ResourceSpans[];
      try {
        batch = decodeTracesData(tracesData);
      } catch (err) {
        // The CRC matched, so this is not a torn write; keeping it would block its segment forever.
        this.opts.logger.error({ err, id }, 'exporter queue: a replayed batch does not decode; dropped');
        continue;
      }
      const epoch = epochOfSegment.get(segment)!;
      this.epochs.get(epoch)!.pending++;
      this.queue.restore({ id, epoch, tenant, batch, spans: countSpans(batch), encoded: tracesData });
      restored++;
    }
    // Segments without records (one a previous run opened and left empty) call
    // no onRecord; closing the segment Wal.open started yields a number at or
    // past all of them, so an empty epoch ending there lets them go too.
    this.epochs.set(++this.current, { pending: 0, lastSegment: await this.wal.rotate() });
    this.epochs.set(++this.current, { pending: 0, lastSegment: undefined });
    if (restored > 0) this.opts.logger.info({ batches: restored, spans: this.queue.spans }, 'exporter queue: resending batches left by the previous run');
    this.removeFinished();
    const interval = this.opts.maintenanceIntervalMs ?? 1000;
    this.timer = setInterval(() => this.schedule(() => this.maintain()), interval);
    this.timer.unref();
  }

  async offer(tenant: string, batch: ResourceSpans[], spans: number): Promise<boolean> {
    const wal = this.wal;
    if (!wal || this.closed) throw new Error('exporter queue: not open');
    if (!this.queue.reserve(spans)) return false;
    const id = this.nextId++;
    const epoch = this.current;
    const state = this.epochs.get(epoch)!;
    state.pending++;
    this.appendsSinceRotation++;
    const tracesData = wireFormOf(batch) ?? encodeTracesData(batch);
    try {
      await wal.append(encodeBatchRecord(id, tenant, tracesData));
    } catch (err) {
      this.queue.unreserve(spans);
      this.finish(epoch);
      throw err;
    }
    this.queue.push({ id, epoch, tenant, batch, spans, encoded: tracesData });
    return true;
  }

  take(): Promise<QueueEntry | undefined> {
    return this.queue.take();
  }

  done(entry: QueueEntry): void {
    const e = entry as PersistentEntry;
    this.queue.release(e);
    this.doneIds.push(e.id);
    this.finish(e.epoch);
  }

  stopIntake(): void {
    this.queue.stopIntake();
  }

  /** Records what was done, removes what it can, and closes the WAL; batches not done stay in it for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.queue.close();
    clearInterval(this.timer);
    await this.schedule(() => this.maintain());
    this.closed = true;
    await this.maintenance;
    await this.wal?.close();
  }

  private finish(epoch: number): void {
    const state = this.epochs.get(epoch);
    if (state && --state.pending === 0) this.removeFinished();
  }

  private schedule(step: () => Promise<void>): Promise<void> {
    this.maintenance = this.maintenance.then(step).catch((err: unknown) => {
      // Nothing is lost: done records and removals are retried on the next round.
      this.opts.logger.warn({ err }, 'exporter queue: WAL maintenance failed; retrying on the next round');
    });
    return this.maintenance;
  }

  /** Writes the pending done record, then rotates if anything was appended, so finished segments can go. */
  private async maintain(): Promise<void> {
    const wal = this.wal;
    if (!wal || this.closed) return;
    if (this.doneIds.length > 0) {
      const ids = this.doneIds;
      this.doneIds = [];
      this.appendsSinceRotation++;
      try {
        await wal.append(encodeDoneRecord(ids));
      } catch (err) {
        this.doneIds = ids.concat(this.doneIds);
        throw err;
      }
    }
    if (this.appendsSinceRotation === 0) return;
    const next = ++this.current;
    this.epochs.set(next, { pending: 0, lastSegment: undefined });
    this.appendsSinceRotation = 0;
    const closedSegment = await wal.rotate();
    // Every append called before rotate() is in a segment <= closedSegment, so
    // this also settles an earlier epoch whose own rotation failed.
    for (const [epoch, state] of this.epochs) if (epoch < next && state.lastSegment === undefined) state.lastSegment = closedSegment;
    this.removeFinished();
  }

  /** Deletes the segments of the oldest epochs whose batches are all done. */
  private removeFinished(): void {
    const wal = this.wal;
    if (!wal) return;
    let through: number | undefined;
    for (const [epoch, state] of this.epochs) {
      if (state.pending > 0 || state.lastSegment === undefined) break;
      through = state.lastSegment;
      this.epochs.delete(epoch);
    }
    if (through === undefined) return;
    const seq = through;
    void this.schedule(() => wal.removeThrough(seq));
  }
}
