// The exporter's sending queue: batches wait here for a consumer to send
// them. Bounded in batches, counting those being sent as well as those
// waiting, so queue_size is the most the exporter ever holds; when full, a new
// batch is refused rather than an old one dropped.
import type { ResourceSpans } from '../../../otlp/model.js';
import { encodeTracesData } from '../../../otlp/protobuf.js';
import { wireFormOf } from '../../../otlp/wire-form.js';

export interface QueueEntry {
  tenant: string;
  batch: ResourceSpans[];
  spans: number;
  /** The batch as an encoded TracesData, once something needed it. */
  encoded: Uint8Array | undefined;
}

/** The encoded form of an entry's batch, made once however often it is sent. */
export function entryProtobuf(entry: QueueEntry): Uint8Array {
  return (entry.encoded ??= wireFormOf(entry.batch) ?? encodeTracesData(entry.batch));
}

/** What the exporter needs of a queue, in memory or on disk. */
export interface SendingQueue {
  /** Batches held: waiting plus being sent. */
  readonly size: number;
  /** Spans in those batches. */
  readonly spans: number;
  readonly capacity: number;
  /** Loads what a previous run left (the persistent queue); call once before anything else. */
  open(): Promise<void>;
  /** Holds a batch (durably, for the persistent queue); false, holding nothing, when full. */
  offer(tenant: string, batch: ResourceSpans[], spans: number): Promise<boolean>;
  /** The next batch to send; undefined once the queue is closed, or stopped and empty. */
  take(): Promise<QueueEntry | undefined>;
  /** A taken batch is finished with: delivered, or dropped for good. */
  done(entry: QueueEntry): void;
  /** Refuses further offers; take() hands out what is left, then undefined. */
  stopIntake(): void;
  /** Hands out nothing more. Batches not done stay held: lost in memory, kept on disk. */
  close(): Promise<void>;
}

/** FIFO with a capacity and waiting takers; the bookkeeping both queues share. */
export class BoundedQueue<T extends QueueEntry> {
  private readonly waiting: T[] = [];
  private head = 0;
  private readonly takers: Array<(entry: T | undefined) => void> = [];
  private held = 0;
  private heldSpans = 0;
  /** Reserved but not yet pushed (a durable write in progress): takers must wait for them even after stopIntake. */
  private arriving = 0;
  private intakeStopped = false;
  private closed = false;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.held;
  }

  get spans(): number {
    return this.heldSpans;
  }

  /** Claims room for a batch about to be pushed; false when full or stopped. */
  reserve(spans: number): boolean {
    if (this.intakeStopped || this.held >= this.capacity) return false;
    this.held++;
    this.heldSpans += spans;
    this.arriving++;
    return true;
  }

  /** Gives back room reserved for a batch that did not come (its durable write failed). */
  unreserve(spans: number): void {
    this.held--;
    this.heldSpans -= spans;
    this.arriving--;
    this.wakeIfFinished();
  }

  /** Adds a batch whose room was reserved. */
  push(entry: T): void {
    this.arriving--;
    this.enqueue(entry);
    this.wakeIfFinished();
  }

  /** Adds a batch from a previous run, even beyond capacity: it was accepted once and is not dropped now. */
  restore(entry: T): void {
    this.held++;
    this.heldSpans += entry.spans;
    this.enqueue(entry);
  }

  take(): Promise<T | undefined> {
    if (this.head < this.waiting.length) {
      const entry = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as T;
      // Compact now and then rather than shift() each time (O(n) per take).
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve(entry);
    }
    if (this.finished) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  release(entry: T): void {
    this.held--;
    this.heldSpans -= entry.spans;
  }

  stopIntake(): void {
    this.intakeStopped = true;
    this.wakeIfFinished();
  }

  close(): void {
    this.closed = true;
    this.intakeStopped = true;
    this.waiting.length = 0;
    this.head = 0;
    this.wakeAll();
  }

  private enqueue(entry: T): void {
    if (this.closed) return;
    const taker = this.takers.shift();
    if (taker) taker(entry);
    else this.waiting.push(entry);
  }

  /** Nothing more will ever be handed out. */
  private get finished(): boolean {
    return this.closed || (this.intakeStopped && this.arriving === 0 && this.head >= this.waiting.length);
  }

  private wakeIfFinished(): void {
    if (this.finished) this.wakeAll();
  }

  private wakeAll(): void {
    for (const taker of this.takers.splice(0)) taker(undefined);
  }
}

/** The default queue: in memory only, so what it holds at a crash or an unfinished shutdown is lost. */
export class MemoryQueue implements SendingQueue {
  private readonly queue: BoundedQueue<QueueEntry>;

  constructor(capacity: number) {
    this.queue = new BoundedQueue(capacity);
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

  async open(): Promise<void> {}

  async offer(tenant: string, batch: ResourceSpans[], spans: number): Promise<boolean> {
    if (!this.queue.reserve(spans)) return false;
    this.queue.push({ tenant, batch, spans, encoded: undefined });
    return true;
  }

  take(): Promise<QueueEntry | undefined> {
    return this.queue.take();
  }

  done(entry: QueueEntry): void {
    this.queue.release(entry);
  }

  stopIntake(): void {
    this.queue.stopIntake();
  }

  async close(): Promise<void> {
    this.queue.close();
  }
}
