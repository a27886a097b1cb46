// Cooperative query work. Queries evaluate spans in JavaScript on the thread that also
// takes OTLP requests and answers /ready, so every loop over spans or traces paces
// itself with a QueryBudget: after about SLICE_MS of work it gives the event loop a
// turn (pending I/O runs first), and it enforces query.timeout there and in between,
// by throwing the caller's timeout error. `signal` aborts at the deadline, so a DuckDB
// query in flight is interrupted too (DuckEngine.all).
//
// Paused queries resume one per turn of the event loop, in order: were each to resume
// on its own setImmediate, N running queries would take N slices per turn and ingest's
// share of the thread would shrink with every query added. And a slice is sized by what
// else the loop did since the last one: when it turned at once (nothing else wanted the
// thread) queries run SLICE_MS at a time, back to back; when other work (ingest) ran in
// between, the slice is cut so that queries take about BUSY_SHARE of the thread.

/** Longest stretch of query work between two turns of the event loop. */
export const SLICE_MS = 5;
/** Share of the thread queries take, at most, while other work wants it. */
const BUSY_SHARE = 0.15;
/** Shortest slice: below it, pausing costs more than the work it lets through. */
const MIN_SLICE_MS = 0.5;
/** Less than this between two slices: the loop had nothing else to do. */
const IDLE_GAP_MS = 1;
/** Units of work (spans, traces) between two looks at the clock: reading it costs more than most units. */
const CLOCK_EVERY = 32;
/** Steps inside one trace's evaluation between two looks at the deadline. */
const STEPS_PER_CHECK = 4096;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resumes of paused queries, oldest first. */
const paused: Array<() => void> = [];
let turnScheduled = false;
/** performance.now() when the last slice ended, and the length of the current one. */
let sliceEndedAt = 0;
let sliceMs = SLICE_MS;
/** performance.now() of the last resume that found other work had run since the slice before. */
let busySeenAt = Number.NEGATIVE_INFINITY;
/** Share of the time the query lane runs statements while other work is busy. */
const LANE_BUSY_SHARE = 0.5;
/** How long a sighting of other work counts: a few turns of a busy loop. */
const BUSY_MEMORY_MS = 100;

/** Resolves at a later turn of the event loop, after the queries paused before. */
function nextTurn(): Promise<void> {
  return new Promise((resume) => {
    paused.push(resume);
    if (!turnScheduled) {
      turnScheduled = true;
      setImmediate(resumeOne);
    }
  });
}

function resumeOne(): void {
  const now = performance.now();
  const other = now - sliceEndedAt;
  if (other >= IDLE_GAP_MS) busySeenAt = now;
  sliceMs = other < IDLE_GAP_MS ? SLICE_MS : Math.min(SLICE_MS, Math.max(MIN_SLICE_MS, (other * BUSY_SHARE) / (1 - BUSY_SHARE)));
  // Set again from inside an immediate, the next one runs at the next turn, after I/O.
  turnScheduled = paused.length > 1;
  if (turnScheduled) setImmediate(resumeOne);
  paused.shift()?.();
}

/** A query whose client went away before its answer: it stops, since nobody would read it. */
export class QueryCancelledError extends Error {
  override name = 'QueryCancelledError';
  /** What the query API logs and counts it as (nginx's "client closed request"); nobody receives it. */
  readonly statusCode = 499;
  constructor() {
    super('the client closed the request; the query was stopped');
  }
}

export class QueryBudget {
  private sliceStart = performance.now();
  private units = 0;
  private steps = 0;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param deadlineMs Date.now() after which the query gives up.
   * @param timedOut The error thrown then (each API names its own key and status).
   * @param cancelled Aborts when the client goes away: the query then ends with QueryCancelledError.
   */
  constructor(
    readonly deadlineMs: number,
    private readonly timedOut: () => Error,
    private readonly cancelled?: AbortSignal,
  ) {}

  /** A budget that never pauses nor expires (callers outside a request). */
  static unlimited(): QueryBudget {
    return new QueryBudget(Number.POSITIVE_INFINITY, () => new Error('unreachable'));
  }

  /**
   * Counts `units` of work (spans: a trace counts as many as it has); true when the
   * slice is spent and the caller should `await pause()`. Throws the timeout error once
   * past the deadline.
   */
  due(units = 1): boolean {
    this.units += units;
    if (this.units < CLOCK_EVERY) return false;
    this.units = 0;
    this.check();
    return performance.now() - this.sliceStart >= sliceMs;
  }

  /** `due()`, and the pause when it is: for loops that are async anyway. */
  async pace(units = 1): Promise<void> {
    if (this.due(units)) await this.pause();
  }

  /** Gives the event loop a turn and starts a new slice. */
  async pause(): Promise<void> {
    sliceEndedAt = performance.now();
    await nextTurn();
    this.check();
    this.sliceStart = performance.now();
  }

  /** Counts small steps (pairs of spans compared); looks at the deadline every STEPS_PER_CHECK of them. */
  tick(steps = 1): void {
    this.steps += steps;
    if (this.steps < STEPS_PER_CHECK) return;
    this.steps = 0;
    this.check();
  }

  /** Throws the timeout error when the deadline has passed. */
  check(): void {
    if (this.cancelled?.aborted) throw new QueryCancelledError();
    if (Date.now() > this.deadlineMs) {
      this.controller?.abort();
      throw this.timedOut();
    }
  }

  /** The timeout error, for a caller that notices the deadline another way (an interrupted engine query). */
  expired(): Error | undefined {
    if (this.cancelled?.aborted) return new QueryCancelledError();
    return Date.now() > this.deadlineMs ? this.timedOut() : undefined;
  }

  /** Aborts at the deadline or when the client goes away; for work that runs elsewhere (DuckDB) and can be interrupted. */
  get signal(): AbortSignal | undefined {
    if (!Number.isFinite(this.deadlineMs)) return this.cancelled;
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      this.timer = setTimeout(() => controller.abort(), Math.max(0, this.deadlineMs - Date.now()));
      this.timer.unref();
      this.cancelled?.addEventListener('abort', () => controller.abort(), { once: true });
    }
    return this.controller.signal;
  }

  /**
   * Called by the engine after one of this query's statements, holding the query lane:
   * while other work (ingest) keeps the event loop busy, the lane rests so that DuckDB
   * runs queries LANE_BUSY_SHARE of the time, and its thread, too, leaves the cores to
   * ingest. On an otherwise idle server it does not rest.
   */
  async afterStatement(ms: number): Promise<void> {
    if (performance.now() - busySeenAt > BUSY_MEMORY_MS) return;
    await sleep(Math.min(1000, (ms * (1 - LANE_BUSY_SHARE)) / LANE_BUSY_SHARE));
  }

  /** Ends the budget: releases the deadline timer. */
  close(): void {
    clearTimeout(this.timer);
  }

  /**
   * Runs `work`; an error it throws after the deadline (an engine query interrupted
   * by `signal`, say) becomes the timeout error. Closes the budget either way.
   */
  async run<T>(work: (budget: this) => Promise<T>): Promise<T> {
    try {
      return await work(this);
    } catch (err) {
      throw this.expired() ?? err;
    } finally {
      this.close();
    }
  }
}
