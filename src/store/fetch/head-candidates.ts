// The heads' candidates for a traces fetch: their traces in the range, newest first by
// start, less those the filter rules out without decoding a span: on the heads' per-span
// summaries (service, kind, status, duration), then on the encoded bytes (head/byte-test.ts).
// Both tests run as each trace is reached, so a search that finds its matches among the
// newest traces tests only those: a head holds hundreds of thousands of spans.
//
// A trace a block may also hold is judged over all its spans, so one whose head spans fail
// the filter is still kept when they may meet part of it (one `some`): the rest may be in
// the block. When they can meet no part of it, the blocks' spans alone decide, and the
// block scan finds the trace if it matches.
import type { Head, HeadTraceSummary } from '../head/head.js';
import { encodedTraceTest, type EncodedSpan, type EncodedTraceTest } from '../head/byte-test.js';
import { summaryTest, type SpanFacts, type SummaryTest } from '../head/match.js';
import { newerFirst, type Candidate } from '../blocks/trace-candidates.js';
import type { FetchTracesRequest, TraceFilter } from './request.js';
import type { SpanSources } from './sources.js';

/** Traces listed or tested between two turns at the pacer (each costs about a span test). */
const PACE_EVERY = 64;

interface HeadTrace extends Candidate {
  /** The trace's summary in each head holding it. */
  segments: HeadTraceSummary[];
}

/** The tests of a filter, or of any one of its parts, on summaries and on encoded spans (null: cannot tell). */
interface Tests {
  summary: SummaryTest | null;
  bytes: EncodedTraceTest | null;
}

export class HeadCandidates {
  /** The candidate found to pass, until taken. */
  private passed: Candidate | undefined;
  /** Traces tested so far. */
  private tested = 0;
  private readonly facts: SpanFacts = { service: undefined, kind: 0, status: 0, durationNano: 0 };

  private constructor(
    private readonly order: NewestFirst,
    private readonly heads: readonly Head[],
    private readonly whole: Tests,
    private readonly anyPart: Tests,
    private readonly inBlocks: (traceId: string) => boolean,
    private readonly pacer: FetchTracesRequest['pacer'],
  ) {}

  static async of(sources: SpanSources, tenant: string, req: FetchTracesRequest): Promise<HeadCandidates> {
    const heads = await sources.heads(tenant);
    const traces: HeadTrace[] = [];
    let n = 0;
    for (const [h, head] of heads.entries()) {
      for (const t of head.traceSummaries()) {
        if (++n % PACE_EVERY === 0) await req.pacer?.pace(PACE_EVERY);
        const segments = [t];
        // A trace in a head being cut and in the one taking new spans is judged once, over both.
        if (heads.length > 1) {
          if (heads.slice(0, h).some((other) => other.has(t.traceId))) continue;
          for (const other of heads.slice(h + 1)) {
            const more = other.traceSummary(t.traceId);
            if (more) segments.push(more);
          }
        }
        let start = t.startUnixNano;
        let end = t.endUnixNano;
        for (const s of segments) {
          if (s.startUnixNano < start) start = s.startUnixNano;
          if (s.endUnixNano > end) end = s.endUnixNano;
        }
        if (req.startUnixNano !== undefined && end < req.startUnixNano) continue;
        if (req.endUnixNano !== undefined && start >= req.endUnixNano) continue;
        traces.push({ traceId: t.traceId, key: start, segments });
      }
    }
    const parts = anyPartOf(req.filter);
    const whole = { summary: summaryTest(req.filter), bytes: encodedTraceTest(req.filter) };
    const anyPart = parts === req.filter ? whole : { summary: summaryTest(parts), bytes: encodedTraceTest(parts) };
    return new HeadCandidates(new NewestFirst(traces), heads, whole, anyPart, (id) => sources.blocks.mayHoldTrace(tenant, id), req.pacer);
  }

  /** The next candidate that passes the tests. */
  async peek(): Promise<Candidate | undefined> {
    if (this.passed) return this.passed;
    for (;;) {
      const t = this.order.pop();
      if (t === undefined || this.passes(t)) return (this.passed = t);
      if (++this.tested % PACE_EVERY === 0) await this.pacer?.pace(PACE_EVERY);
    }
  }

  take(): Candidate | undefined {
    const c = this.passed;
    this.passed = undefined;
    return c;
  }

  /** The trace the summary tests look at (one closure for all, as they run for most of a head's traces). */
  private segments: readonly HeadTraceSummary[] = [];
  private readonly anySpan = (p: (s: SpanFacts) => boolean): boolean => {
    const facts = this.facts;
    for (const seg of this.segments) {
      for (let i = 0; i < seg.codes.length; i++) {
        const code = seg.codes[i]!;
        facts.service = seg.services[seg.resource[i]!];
        facts.kind = code & 7;
        facts.status = code >> 3;
        facts.durationNano = seg.durations[i]!;
        if (p(facts)) return true;
      }
    }
    return false;
  };

  private passes(t: HeadTrace): boolean {
    this.segments = t.segments;
    let encoded: EncodedSpan[] | undefined;
    const meets = (tests: Tests): boolean => {
      if (tests.summary !== null && !tests.summary(this.anySpan)) return false;
      if (tests.bytes === null) return true;
      encoded ??= this.heads.flatMap((h) => h.encodedSpans(t.traceId));
      return tests.bytes(encoded);
    };
    if (meets(this.whole)) return true;
    return this.anyPart !== this.whole && this.inBlocks(t.traceId) && meets(this.anyPart);
  }
}

/**
 * Traces taken newest first (by key, then trace ID) from a heap, so that only those taken
 * are ordered. Keys are compared as offsets from the earliest, in doubles, when they all
 * fit (a head spans minutes, not 104 days): far faster than comparing bigints.
 */
class NewestFirst {
  private readonly heap: number[];
  private readonly offsets: Float64Array | undefined;

  constructor(private readonly traces: readonly HeadTrace[]) {
    let min = traces[0]?.key ?? 0n;
    let max = min;
    for (const t of traces) {
      if (t.key < min) min = t.key;
      if (t.key > max) max = t.key;
    }
    if (max - min <= BigInt(Number.MAX_SAFE_INTEGER)) {
      const offsets = (this.offsets = new Float64Array(traces.length));
      traces.forEach((t, i) => (offsets[i] = Number(t.key - min)));
    }
    this.heap = Array.from(traces.keys());
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  pop(): HeadTrace | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.down(0);
    }
    return this.traces[top];
  }

  /** Whether trace a comes before trace b. */
  private before(a: number, b: number): boolean {
    const o = this.offsets;
    if (o !== undefined && o[a] !== o[b]) return o[a]! > o[b]!;
    return newerFirst(this.traces[a]!, this.traces[b]!) < 0;
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) return;
      const r = l + 1;
      const child = r < heap.length && this.before(heap[r]!, heap[l]!) ? r : l;
      if (!this.before(heap[child]!, heap[i]!)) return;
      [heap[i], heap[child]] = [heap[child]!, heap[i]!];
      i = child;
    }
  }
}

/** A filter that holds when any one part (`some`, aggregate) of `f` does (f itself when it has one or none). */
function anyPartOf(f: TraceFilter | null): TraceFilter | null {
  if (f === null) return null;
  const parts: TraceFilter[] = [];
  const walk = (t: TraceFilter): void => {
    if (t.type === 'some' || t.type === 'aggregate') parts.push(t);
    else t.args.forEach(walk);
  };
  walk(f);
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0]! : { type: 'or', args: parts };
}
