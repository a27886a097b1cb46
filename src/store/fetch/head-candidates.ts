// The heads' candidates for a traces fetch: their traces in the range, newest first by
// start, less those the filter rules out without decoding a span: first on the heads'
// per-span summaries (service, kind, status, duration) for every trace, then, as each is
// reached, on its encoded bytes (head/byte-test.ts).
//
// A trace a block may also hold is judged over all its spans, so one whose head spans
// fail the filter is still kept when they may meet part of it (one `some`): the rest may
// be in the block. When they can meet no part of it, the blocks' spans alone decide,
// and the block scan finds the trace if it matches.
import type { HeadTraceSummary } from '../head/head.js';
import { encodedTraceTest, type EncodedSpan, type EncodedTraceTest } from '../head/byte-test.js';
import { summaryTest, type SpanFacts, type SummaryTest } from '../head/match.js';
import { newerFirst, type Candidate } from '../blocks/trace-candidates.js';
import type { FetchTracesRequest, TraceFilter } from './request.js';
import type { SpanSources } from './sources.js';

/** Traces summarized between two turns at the pacer (each is a few span tests). */
const PACE_EVERY = 64;

interface HeadCandidate extends Candidate {
  /** Passed the summaries only through `anyPart` (a block may hold the rest): the byte test must do the same. */
  partial: boolean;
}

export class HeadCandidates {
  private next = 0;

  private constructor(
    private readonly list: HeadCandidate[],
    /** Tests of the whole filter and of any one of its parts on encoded spans; null: bytes cannot tell. */
    private readonly whole: EncodedTraceTest | null,
    private readonly anyPart: EncodedTraceTest | null,
    private readonly encoded: (traceId: string) => EncodedSpan[],
    private readonly inBlocks: (traceId: string) => boolean,
    private readonly pace: (() => Promise<void>) | undefined,
  ) {}

  static async of(sources: SpanSources, tenant: string, req: FetchTracesRequest): Promise<HeadCandidates> {
    const pacer = req.pacer;
    const heads = await sources.heads(tenant);
    const summaries = await sources.headTraceSummaries(tenant, pacer);
    const parts = anyPartOf(req.filter);
    const wholeTest = summaryTest(req.filter);
    const partTest = parts === req.filter ? wholeTest : summaryTest(parts);
    const inBlocks = (id: string) => sources.blocks.mayHoldTrace(tenant, id);
    const facts: SpanFacts = { service: undefined, kind: 0, status: 0, durationNano: 0 };
    let segments: HeadTraceSummary[] = [];
    const anySpan = (p: (s: SpanFacts) => boolean): boolean => {
      for (const seg of segments) {
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
    const list: HeadCandidate[] = [];
    let n = 0;
    for (const [traceId, segs] of summaries) {
      if (++n % PACE_EVERY === 0) await pacer?.pace(PACE_EVERY);
      let start = segs[0]!.startUnixNano;
      let end = segs[0]!.endUnixNano;
      for (const s of segs) {
        if (s.startUnixNano < start) start = s.startUnixNano;
        if (s.endUnixNano > end) end = s.endUnixNano;
      }
      if (req.startUnixNano !== undefined && end < req.startUnixNano) continue;
      if (req.endUnixNano !== undefined && start >= req.endUnixNano) continue;
      segments = segs;
      let partial = false;
      if (wholeTest !== null && !wholeTest(anySpan)) {
        if ((partTest !== null && !partTest(anySpan)) || !inBlocks(traceId)) continue;
        partial = true;
      }
      list.push({ traceId, key: start, partial });
    }
    list.sort(newerFirst);
    const encoded = (id: string): EncodedSpan[] => heads.flatMap((h) => h.encodedSpans(id));
    const whole = encodedTraceTest(req.filter);
    const anyPart = parts === req.filter ? whole : encodedTraceTest(parts);
    return new HeadCandidates(list, whole, anyPart, encoded, inBlocks, pacer && (() => pacer.pace()));
  }

  /** The key of the next candidate before the byte test, an upper bound of what is left; undefined when nothing is. */
  bound(): bigint | undefined {
    return this.list[this.next]?.key;
  }

  /** The next candidate that passes the byte test. */
  async peek(): Promise<Candidate | undefined> {
    for (;;) {
      const c = this.list[this.next];
      if (c === undefined || this.passes(c)) return c;
      this.next++;
      await this.pace?.();
    }
  }

  take(): Candidate | undefined {
    return this.list[this.next++];
  }

  private passes(c: HeadCandidate): boolean {
    if (this.whole === null) return true;
    const spans = this.encoded(c.traceId);
    if (!c.partial && this.whole(spans)) return true;
    return (this.anyPart === null || this.anyPart(spans)) && this.inBlocks(c.traceId);
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
