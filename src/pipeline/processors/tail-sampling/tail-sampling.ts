// The tail_sampling processor: groups spans by trace, waits decision_wait from
// a trace's first span, asks the policies, and hands sampled traces whole to
// the next stage.
//
// Durability: consume() resolves only once the spans are in the processor's
// WAL, so an acknowledged span survives a crash while it waits. Replay on
// start() brings every undecided trace back with its original arrival time; a
// sampled trace's WAL segments go once the next stage has accepted it (which
// for the store means it is durable there). Decisions are functions of the
// spans and the configuration alone (rate limits aside), so a restart decides
// exactly as an uninterrupted run would.
//
// Differences from the collector, each for a reason (see docs/tail-sampling.md):
// beyond num_traces the oldest trace is decided early instead of being lost;
// shutdown leaves undecided traces in the WAL for the next start instead of
// deciding them on partial data.
import type { ResourceSpans, ScopeSpans } from '../../../otlp/model.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { ComponentContext, Processor } from '../../component.js';
import type { TracesConsumer } from '../../consumer.js';
import { BatchSubset } from './batch-subset.js';
import { BufferedTrace, TraceBuffer, TraceKeys, traceIdOfKey, traceKey } from './buffer.js';
import type { TailSamplingConfig } from './config.js';
import { Decider } from './decide.js';
import { DecisionCache } from './decision-cache.js';
import { reportBuffer, tailSamplingMetrics as metrics, type BufferStats } from './metrics.js';
import { SamplerWal, samplerWalDir } from './persistence.js';
import { encodeDecisionsRecord, encodeSpansRecord, spansRecordBatch, spansRecordFromWire, type DecisionEntry, type SamplerRecord } from './wal-records.js';
import { wireFormOf } from '../../../otlp/wire-form.js';
import type { Clock } from './policies/policy.js';
import { walkTracesData } from '../../../otlp/traces-data-layout.js';

export interface TailSamplingOptions {
  /** Milliseconds since the epoch (default Date.now); arrival times are stored with it, so it must be wall time. */
  clock?: Clock;
  /** How often due traces are decided (default decision_wait / 10, within 10 ms … 1 s). */
  tickMs?: number;
  /** How often the WAL starts a new epoch so that decided segments can go (default decision_wait / 2, within 100 ms … 10 s). */
  rotateMs?: number;
}

const TRACE_ID_BYTES = 16;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export class TailSamplingProcessor implements Processor {
  private readonly buffer = new TraceBuffer();
  private readonly decisions: DecisionCache;
  private readonly decider: Decider;
  private readonly wal: SamplerWal;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly waitMs: number;
  private readonly tickMs: number;
  private readonly rotateMs: number;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Deliveries and decision records under way (shutdown waits for them). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Decided "sampled" since the last flush, to be handed to the next stage. */
  private toDeliver: BufferedTrace[] = [];
  /** Final decisions since the last flush, to be recorded in the WAL. */
  private decided: DecisionEntry[] = [];
  /** Keys of traces decided "sampled" whose spans the next stage has not accepted yet. */
  private readonly undelivered = new Set<string>();
  private readonly tenants = new Map<string, string>();
  private hideBuffer: (() => void) | undefined;
  /** The trace ID of the last key built (a copy: holding the span's own bytes could keep a whole request alive). */
  private readonly lastTraceId = new Uint8Array(TRACE_ID_BYTES);
  private hasLastKey = false;
  private lastTenant = '';
  private lastKey = '';
  private readonly traceKeys = new TraceKeys();
  /** Counts decisions made, so that spans looked up before an await need no second look when none was made since. */
  private decisionsMade = 0;
  private readonly labels: { processor: string };
  private readonly decisionLatency: { observe(seconds: number): void };
  private readonly decidedEarly: { inc(): void };
  private readonly sampledBy = new Map<string, { inc(): void }>();
  private readonly droppedBy = new Map<string, { inc(): void }>();

  constructor(
    private readonly config: TailSamplingConfig,
    private readonly next: TracesConsumer,
    private readonly ctx: ComponentContext,
    options: TailSamplingOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.waitMs = config.decision_wait;
    this.tickMs = options.tickMs ?? clamp(Math.floor(config.decision_wait / 10), 10, 1000);
    this.rotateMs = options.rotateMs ?? clamp(Math.floor(config.decision_wait / 2), 100, 10_000);
    this.logger = ctx.logger.child({ processor: ctx.name });
    this.labels = { processor: ctx.name };
    this.decisionLatency = metrics.decisionLatency.labels(this.labels);
    this.decidedEarly = metrics.decidedEarly.labels(this.labels);
    this.decider = new Decider(config.policies, this.clock);
    this.decisions = new DecisionCache({
      sampled: config.decision_cache.sampled_cache_size,
      nonSampled: config.decision_cache.non_sampled_cache_size,
      recent: config.num_traces,
    });
    this.wal = new SamplerWal({ dir: samplerWalDir(ctx.dataDir, ctx.name), logger: this.logger });
  }

  /** Replays the WAL (undecided traces come back, decided ones refill the cache), then starts deciding. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`${this.ctx.name}: start() called twice`);
    this.state = 'starting';
    const started = performance.now();
    await this.wal.open((record, epoch) => this.replay(record, epoch));
    this.state = 'running';
    while (this.buffer.traceCount > this.config.num_traces) this.decide(this.buffer.oldest()!, true);
    this.flushDecided();
    this.every(this.tickMs, () => this.decideDue());
    this.every(this.rotateMs, () => void this.wal.rotate());
    this.hideBuffer = reportBuffer(this.ctx.name, () => this.stats());
    this.logger.info(
      { traces: this.buffer.traceCount, spans: this.buffer.spanCount, ms: Math.round(performance.now() - started) },
      'tail_sampling: replayed its WAL; undecided traces are waiting again',
    );
  }

  /** What waits for a decision now. */
  stats(): BufferStats {
    return { spans: this.buffer.spanCount, traces: this.buffer.traceCount, bytes: this.buffer.bytes };
  }

  async consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    if (this.state !== 'running') throw new Error(`${this.ctx.name}: not running (${this.state})`);
    tenant = this.internTenant(tenant);
    const arrivalMs = this.clock();
    const lookedUpAt = this.decisionsMade;
    const late = new BatchSubset();
    let lateDropped = 0;
    const waiting = new BatchSubset();
    const keys: string[] = [];
    let lastKey = '';
    let decided: boolean | undefined;
    for (const rs of batch) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (span.traceId.length !== TRACE_ID_BYTES) {
            // Validation upstream refuses these; a span without a trace cannot be sampled by trace.
            late.add(rs, ss, span);
            continue;
          }
          const key = this.keyOf(span.traceId, tenant);
          if (key !== lastKey) {
            lastKey = key;
            decided = this.buffer.get(key) === undefined ? this.decisions.get(key) : undefined;
          }
          if (decided !== undefined) {
            if (decided) late.add(rs, ss, span);
            else lateDropped++;
            continue;
          }
          waiting.add(rs, ss, span);
          keys.push(key);
        }
      }
    }
    this.countLate(late.spanCount, lateDropped);
    const work: Array<Promise<unknown>> = [];
    if (late.spanCount > 0) work.push(this.next.consume(tenant, late.batch));
    if (keys.length > 0) {
      // Every span waits: the batch as received (and its wire form, when it has one) is the record.
      const whole = late.spanCount === 0 && lateDropped === 0;
      work.push(this.bufferDurably(tenant, arrivalMs, whole ? batch : waiting.batch, keys, lookedUpAt, whole ? wireFormOf(batch) : undefined));
    }
    await Promise.all(work);
  }

  /**
   * Stops deciding and closes the WAL once the deliveries under way are done.
   * Undecided traces are not decided on partial data: they stay in the WAL and
   * are decided after the next start, decision_wait after their first span.
   */
  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    this.hideBuffer?.();
    this.flushDecided();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.recordDecisionCache().catch((err: unknown) =>
      this.logger.warn({ err }, 'tail_sampling: could not record the decision cache; late spans of traces decided before the restart start new traces'),
    );
    await this.wal.close();
  }

  /**
   * Records every remembered decision again, at the end of the WAL. The records
   * made at decision time go with their segments soon after, so without this a
   * restart would forget nearly every decision and late spans of decided traces
   * would start new traces (an error trace's late span then being dropped).
   * Left out: traces still waiting, and kept traces not handed over yet, which
   * replay must bring back to decide and deliver again.
   */
  private async recordDecisionCache(): Promise<void> {
    const CHUNK = 100_000;
    let chunk: DecisionEntry[] = [];
    for (const [key, sampled] of this.decisions.entries()) {
      if (this.buffer.get(key) !== undefined || this.undelivered.has(key)) continue;
      chunk.push({ tenant: key.slice(TRACE_ID_BYTES), traceId: traceIdOfKey(key), sampled });
      if (chunk.length === CHUNK) {
        await this.wal.append(encodeDecisionsRecord(chunk));
        chunk = [];
      }
    }
    if (chunk.length > 0) await this.wal.append(encodeDecisionsRecord(chunk));
  }

  // ---- arrival ---------------------------------------------------------------

  /** Writes the spans to the WAL, then adds them to their traces. */
  private async bufferDurably(
    tenant: string,
    arrivalMs: number,
    waiting: readonly ResourceSpans[],
    keys: readonly string[],
    lookedUpAt: number,
    wire: Uint8Array | undefined,
  ): Promise<void> {
    // Encoded once (or taken as received): the same bytes are the WAL record and stay in memory as the spans' only copy.
    const batch = spansRecordBatch(tenant, arrivalMs, waiting);
    const tracesData = wire === undefined ? encodeSpansRecord(batch) : spansRecordFromWire(tenant, arrivalMs, wire);
    const epoch = this.wal.currentEpoch;
    // The epoch's segments must outlive this append even if no trace pins them yet.
    this.wal.pin(epoch);
    let late: BatchSubset | undefined;
    try {
      await this.wal.append(tracesData);
      late = this.insert(tenant, arrivalMs, batch, tracesData, keys, epoch, false, lookedUpAt);
    } finally {
      this.wal.unpin(epoch);
    }
    // Decided while the append was under way: the spans follow the decision like any late span.
    if (late && late.spanCount > 0) await this.next.consume(tenant, late.batch);
  }

  /**
   * Adds durable spans to their traces. `tracesData` is the encoding of `batch`
   * (spans in the same order); `keys` are the spans' trace keys when known.
   * `lookedUpAt`: the decision count when consume() found no decision for any
   * of the keys; while no decision has been made since, none is looked up
   * again. Returns the spans of traces decided "sampled" meanwhile, to forward.
   */
  private insert(
    tenant: string,
    arrivalMs: number,
    batch: readonly ResourceSpans[],
    tracesData: Uint8Array,
    keys: readonly string[] | undefined,
    epoch: number,
    replaying: boolean,
    lookedUpAt = -1,
  ): BatchSubset | undefined {
    const buffer = this.buffer;
    let late: BatchSubset | undefined;
    let lateDropped = 0;
    // Everything interned here is held until the end, so that a trace decided
    // early inside the loop cannot free (and hand out again) an id still in use.
    const payloadId = buffer.payloads.register(tracesData);
    buffer.payloads.ref(payloadId);
    const heldResources: number[] = [];
    const heldScopes: number[] = [];
    let rs: ResourceSpans | undefined;
    let ss: ScopeSpans | undefined;
    let resourceBytes: Uint8Array = tracesData;
    let scopeBytes: Uint8Array = tracesData;
    let resourceId = -1;
    let scopeId = -1;
    let rsIndex = -1;
    let ssIndex = -1;
    let spanIndex = 0;
    let n = 0;
    walkTracesData(tracesData, {
      resource: (bytes) => {
        rs = batch[++rsIndex]!;
        ssIndex = -1;
        resourceBytes = bytes;
        resourceId = -1;
      },
      scope: (bytes) => {
        ss = rs!.scopeSpans[++ssIndex]!;
        spanIndex = 0;
        scopeBytes = bytes;
        scopeId = -1;
      },
      span: (offset, length) => {
        const span = ss!.spans[spanIndex++]!;
        const key = keys ? keys[n++]! : this.keyOf(span.traceId, tenant);
        let trace = buffer.get(key);
        if (!trace) {
          // Checked per span: a trace decided early in this loop (num_traces) has a decision from then on.
          const sampled = replaying || this.decisionsMade === lookedUpAt ? undefined : this.decisions.get(key);
          if (sampled === true) {
            (late ??= new BatchSubset()).add(rs!, ss!, span);
            return;
          }
          if (sampled === false) {
            lateDropped++;
            return;
          }
          if (!replaying) while (buffer.traceCount >= this.config.num_traces) this.decide(buffer.oldest()!, true);
          trace = buffer.create(key, tenant, arrivalMs);
        }
        if (!trace.hasEpoch(epoch)) {
          trace.addEpoch(epoch);
          this.wal.pin(epoch);
        }
        if (resourceId < 0) {
          resourceId = buffer.resources.intern(resourceBytes, rs!.schemaUrl);
          buffer.resources.ref(resourceId);
          heldResources.push(resourceId);
        }
        if (scopeId < 0) {
          scopeId = buffer.scopes.intern(scopeBytes, ss!.schemaUrl);
          buffer.scopes.ref(scopeId);
          heldScopes.push(scopeId);
        }
        buffer.appendSpan(trace, payloadId, offset, length, resourceId, scopeId, span);
      },
    });
    buffer.payloads.unref(payloadId);
    for (const id of heldResources) buffer.resources.unref(id);
    for (const id of heldScopes) buffer.scopes.unref(id);
    this.countLate((late as BatchSubset | undefined)?.spanCount ?? 0, lateDropped);
    if (!replaying) this.flushDecided();
    return late;
  }

  private replay(record: SamplerRecord, epoch: number): void {
    if (record.kind === 'spans') {
      const tenant = this.internTenant(record.tenant);
      this.insert(tenant, record.arrivalMs, record.batch, record.tracesData, undefined, epoch, true);
      return;
    }
    for (const { tenant, traceId, sampled } of record.decisions) {
      const key = traceKey(traceId, this.internTenant(tenant));
      const trace = this.buffer.get(key);
      if (trace) {
        // Decided and, if sampled, delivered before the restart.
        this.buffer.remove(trace);
        this.release(trace);
      }
      this.decisions.put(key, sampled);
    }
  }

  // ---- decisions ---------------------------------------------------------------

  private decideDue(): void {
    const due: BufferedTrace[] = [];
    const now = this.clock();
    for (const trace of this.buffer.inArrivalOrder()) {
      if (trace.arrivalMs + this.waitMs > now) break;
      due.push(trace);
    }
    for (const trace of due) this.decide(trace, false);
    this.flushDecided();
  }

  private decide(trace: BufferedTrace, early: boolean): void {
    this.buffer.remove(trace);
    this.decisionsMade++;
    const started = performance.now();
    const view = this.buffer.view(trace);
    const { sampled, policy } = this.decider.decide(view);
    this.decisionLatency.observe((performance.now() - started) / 1000);
    if (early) this.decidedEarly.inc();
    this.decisions.put(trace.key, sampled);
    this.policyCounter(sampled, policy).inc();
    if (sampled) {
      this.undelivered.add(trace.key);
      this.toDeliver.push(trace);
    } else {
      this.release(trace);
      this.decided.push({ tenant: trace.tenant, traceId: view.traceId, sampled: false });
    }
  }

  /** Starts the hand-over of what was decided since the last flush, and records the final decisions. */
  private flushDecided(): void {
    if (this.toDeliver.length > 0) {
      const traces = this.toDeliver;
      this.toDeliver = [];
      this.track(this.deliver(traces, 0));
    }
    this.recordDecisions();
  }

  private recordDecisions(): void {
    if (this.decided.length === 0) return;
    const record = encodeDecisionsRecord(this.decided);
    this.decided = [];
    // Losing this record to a crash only means deciding those traces again after replay.
    this.track(this.wal.append(record).catch((err: unknown) => this.logger.warn({ err }, 'tail_sampling: could not record decisions; they are made again after a restart')));
  }

  /** Hands sampled traces to the next stage, one batch per tenant; failures are retried, the spans staying in the WAL. */
  private async deliver(traces: readonly BufferedTrace[], attempt: number): Promise<void> {
    const byTenant = new Map<string, BufferedTrace[]>();
    for (const trace of traces) {
      const list = byTenant.get(trace.tenant);
      if (list) list.push(trace);
      else byTenant.set(trace.tenant, [trace]);
    }
    for (const [tenant, list] of byTenant) {
      try {
        await this.next.consume(tenant, this.buffer.toResourceSpans(list));
      } catch (err) {
        metrics.deliveryFailures.inc(this.labels);
        this.retryLater(list, attempt, err);
        continue;
      }
      for (const trace of list) {
        this.undelivered.delete(trace.key);
        this.release(trace);
        this.decided.push({ tenant, traceId: traceIdOfKey(trace.key), sampled: true });
      }
    }
    this.recordDecisions();
  }

  private retryLater(traces: BufferedTrace[], attempt: number, err: unknown): void {
    if (this.state === 'stopped') {
      this.logger.warn({ err, traces: traces.length }, 'tail_sampling: the next stage refused sampled traces at shutdown; they are delivered after the next start');
      return;
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt);
    this.logger.warn({ err, traces: traces.length, retryInMs: delay }, 'tail_sampling: the next stage refused sampled traces; retrying');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.state !== 'stopped') this.track(this.deliver(traces, attempt + 1));
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Frees a decided trace: its spans, and its hold on the WAL segments that have them. */
  private release(trace: BufferedTrace): void {
    this.buffer.release(trace);
    for (const epoch of trace.epochList()) this.wal.unpin(epoch);
  }

  // ---- small helpers ---------------------------------------------------------------

  private keyOf(traceId: Uint8Array, tenant: string): string {
    // Spans of one trace usually come together: skip building the same key again.
    const last = this.lastTraceId;
    if (this.hasLastKey && tenant === this.lastTenant) {
      let same = true;
      for (let i = 0; i < TRACE_ID_BYTES; i++) {
        if (last[i] !== traceId[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastKey;
    }
    last.set(traceId);
    this.hasLastKey = true;
    this.lastTenant = tenant;
    this.lastKey = this.traceKeys.of(traceId, tenant);
    return this.lastKey;
  }

  /** One string per tenant, shared by all its traces rather than one per request. */
  private internTenant(tenant: string): string {
    const known = this.tenants.get(tenant);
    if (known !== undefined) return known;
    this.tenants.set(tenant, tenant);
    return tenant;
  }

  private countLate(sampled: number, dropped: number): void {
    if (sampled > 0) metrics.lateSpans.inc({ ...this.labels, decision: 'sampled' }, sampled);
    if (dropped > 0) metrics.lateSpans.inc({ ...this.labels, decision: 'not_sampled' }, dropped);
  }

  private policyCounter(sampled: boolean, policy: string): { inc(): void } {
    const cache = sampled ? this.sampledBy : this.droppedBy;
    let counter = cache.get(policy);
    if (!counter) {
      counter = (sampled ? metrics.tracesSampled : metrics.tracesDropped).labels({ ...this.labels, policy });
      cache.set(policy, counter);
    }
    return counter;
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private track(work: Promise<void>): void {
    const settled = work
      .catch((err: unknown) => this.logger.error({ err }, 'tail_sampling: handing over decided traces failed'))
      .finally(() => this.inFlight.delete(settled));
    this.inFlight.add(settled);
  }
}
