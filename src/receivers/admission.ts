// Which export requests Skein takes on while it is busy, and in what order,
// shared by every receiver so overload is shed alike on every protocol.
//
// Refusing early: a request is refused (retryably) from its headers alone,
// before its body is read or decoded, while the memory_limiter refuses or
// while the requests already in flight hold the in-flight budget (the
// limiter's spike room, hard − soft limit: what a burst may add between two
// checks). Refusing after decoding would cost the memory and CPU the refusal
// is meant to save.
//
// Taking turns: decoding, validation and the pipeline up to the WAL and the
// head are CPU work on the one event loop. Run for every request that arrived
// at once, they kept the loop busy for seconds (a WAL group commit releases
// dozens of head inserts together): /metrics and /ready went unanswered and
// gRPC calls outlived their deadline while HTTP requests, read in fewer loop
// turns, took their place. So at most `concurrency` requests are processed at
// a time, in the order their headers arrived whatever their protocol, each
// starting in its own event-loop turn; a request that cannot start before its
// deadline (the gRPC deadline, or MAX_WAIT_MS after its headers) is refused
// retryably instead of timing out.
import { OverloadError } from '../lib/errors.js';

/**
 * Requests processed at once: enough for the WAL to commit several in one
 * sync, few enough that what they release together stays a short loop turn.
 */
export const CONCURRENT_REQUESTS = 4;
/** Longest a request waits for its turn, from its headers, before it is refused (retryable) rather than held. */
export const MAX_WAIT_MS = 2_000;
/** A gRPC request is refused this long before its deadline, so the refusal reaches the client in time. */
const DEADLINE_MARGIN_MS = 500;

export interface AdmissionOptions {
  /** The pipeline's memory_limiter verdict now (undefined: accepting). */
  pressure: () => OverloadError | undefined;
  /** Bytes the requests in flight may hold together (Infinity without a memory_limiter). */
  maxInFlightBytes: number;
  /** Requests processed at once. */
  concurrency: number;
  retryAfterSeconds: number;
}

export class Admission {
  private inFlightBytes = 0;
  private running = 0;
  /** Requests waiting for their turn, by when their headers arrived. */
  private readonly waiting: Array<{ arrivedAt: number; start: () => void }> = [];

  constructor(private readonly opts: AdmissionOptions) {}

  /** Why a request of about `bytes` bytes would be refused now, or undefined if it is welcome. */
  refusal(bytes: number): OverloadError | undefined {
    const pressure = this.opts.pressure();
    if (pressure) return pressure;
    // One request is always let in, however large (max_request_bytes bounds it).
    if (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.opts.maxInFlightBytes) {
      return new OverloadError(
        `export requests in flight already hold ${this.inFlightBytes} bytes, the most memory_limiter's spike room allows (${this.opts.maxInFlightBytes} bytes); retry later`,
        this.opts.retryAfterSeconds,
      );
    }
    return undefined;
  }

  /**
   * Runs `work` for a request of `bytes` bytes when its turn comes, holding its
   * bytes against the in-flight budget until it is done. Turns go by when the
   * request's headers arrived (`arrivedAt`, a Date.now() time), so a request
   * whose body took longer to arrive (a gRPC message paced by HTTP/2 flow
   * control) is not overtaken by later ones. Resolves to an OverloadError,
   * without running `work`, when the request is refused.
   */
  async run<T>(bytes: number, when: { deadline?: number; arrivedAt?: number }, work: () => Promise<T>): Promise<T | OverloadError> {
    const refused = this.refusal(bytes);
    if (refused) return refused;
    this.inFlightBytes += bytes;
    // The wait counts from the headers too: time a body took to arrive is time its client has waited.
    const arrived = Math.min(when.arrivedAt ?? Date.now(), Date.now());
    try {
      const waitUntil = Math.min(arrived + MAX_WAIT_MS, (when.deadline ?? Infinity) - DEADLINE_MARGIN_MS);
      if (!(await this.turn(arrived, waitUntil))) {
        return new OverloadError(
          `receivers are busy: the request waited ${Math.round(Date.now() - arrived)} ms without its turn; retry later`,
          this.opts.retryAfterSeconds,
        );
      }
      try {
        // Its own event-loop turn: what arrived meanwhile (a /metrics scrape, a /ready probe) gets answered in between.
        await new Promise((resolve) => setImmediate(resolve));
        return await work();
      } finally {
        this.release();
      }
    } finally {
      this.inFlightBytes -= bytes;
    }
  }

  /** Resolves true once the request may run, false if `until` (a Date.now() time) came first. */
  private turn(arrivedAt: number, until: number): Promise<boolean> {
    if (this.running < this.opts.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        arrivedAt,
        start: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(
        () => {
          const i = this.waiting.indexOf(entry);
          if (i !== -1) this.waiting.splice(i, 1);
          resolve(false);
        },
        Math.max(0, until - Date.now()),
      );
      const before = this.waiting.findIndex((w) => w.arrivedAt > arrivedAt);
      this.waiting.splice(before === -1 ? this.waiting.length : before, 0, entry);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next in line, so `running` stays as it is.
    if (next) next.start();
    else this.running--;
  }
}
