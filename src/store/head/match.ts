// Span conditions (store/fetch/request.ts) over the head's decoded spans: the one
// matcher for spans not yet in a block, with the engine's meaning (values.ts compare),
// array attributes compared element by element and event conditions on one event, as
// the engine does. blocks/conditions-sql.ts says the same over block rows.
//
// `summaryTest` answers from the head's per-span summaries (service, kind, status,
// duration: Head.traceSummaries) without decoding a span: true whenever the filter may
// hold, so it only ever narrows.
import type { SpanEvent, StoredSpan } from '../../otlp/model.js';
import type { Condition, SpanFilter, TraceFilter } from '../fetch/request.js';
import { compare, existenceTest, KIND_BY_CODE, NIL, spanAttributeValue, STATUS_BY_CODE, type Val } from '../fetch/values.js';

/** Whether the span meets the filter (null: every span). */
export function spanMatches(filter: SpanFilter | null, s: StoredSpan): boolean {
  if (filter === null) return true;
  if (!usesEvents(filter) || s.span.events.length === 0) return holds(filter, s, undefined);
  for (const ev of s.span.events) if (holds(filter, s, ev)) return true;
  return false;
}

/** Whether the trace's spans meet the trace filter (null: any trace). */
export function traceMatches(filter: TraceFilter | null, spans: readonly StoredSpan[]): boolean {
  if (filter === null) return true;
  switch (filter.type) {
    case 'some':
      return filter.filter === null ? spans.length > 0 : spans.some((s) => spanMatches(filter.filter, s));
    case 'aggregate':
      // A span meeting its filter must be there; the aggregate itself is left to the engine.
      return filter.filter === null ? spans.length > 0 : spans.some((s) => spanMatches(filter.filter, s));
    case 'and':
      return filter.args.every((f) => traceMatches(f, spans));
    case 'or':
      return filter.args.some((f) => traceMatches(f, spans));
  }
}

function usesEvents(f: SpanFilter): boolean {
  return f.type === 'condition' ? f.condition.field.type === 'intrinsic' && f.condition.field.name === 'event:name' : f.args.some(usesEvents);
}

function holds(f: SpanFilter, s: StoredSpan, event: SpanEvent | undefined): boolean {
  switch (f.type) {
    case 'condition':
      return f.condition.value.t === 'nil'
        ? existenceTest(f.condition.op, valueOf(f.condition, s, event))
        : compare(f.condition.op, valueOf(f.condition, s, event), f.condition.value);
    case 'and':
      return f.args.every((a) => holds(a, s, event));
    case 'or':
      return f.args.some((a) => holds(a, s, event));
  }
}

function valueOf({ field }: Condition, s: StoredSpan, event: SpanEvent | undefined): Val {
  if (field.type === 'attribute') return spanAttributeValue(s, field.scope, field.name);
  const sp = s.span;
  switch (field.name) {
    case 'name':
      return { t: 'string', v: sp.name };
    case 'statusMessage':
      return { t: 'string', v: sp.status.message };
    case 'instrumentation:name':
      return { t: 'string', v: s.scope.name };
    case 'instrumentation:version':
      return { t: 'string', v: s.scope.version };
    case 'event:name':
      return event ? { t: 'string', v: event.name } : NIL;
    case 'duration':
      return { t: 'duration', v: sp.endTimeUnixNano > sp.startTimeUnixNano ? sp.endTimeUnixNano - sp.startTimeUnixNano : 0n };
    case 'status':
      return { t: 'status', v: STATUS_BY_CODE[sp.status.code] ?? 'unset' };
    case 'kind':
      return { t: 'kind', v: KIND_BY_CODE[sp.kind] ?? 'unspecified' };
  }
}

// ── from span summaries ─────────────────────────────────────────────────────

/** What a head summary knows of one span. */
export interface SpanFacts {
  service: string | undefined;
  kind: number;
  status: number;
  durationNano: number;
}

/** Over the spans of one trace, given as `anySpan`; false only when no span can meet the filter. */
export type SummaryTest = (anySpan: (test: (s: SpanFacts) => boolean) => boolean) => boolean;

/** The trace filter over span summaries, or null when summaries cannot narrow it. */
export function summaryTest(filter: TraceFilter | null): SummaryTest | null {
  if (filter === null) return null;
  switch (filter.type) {
    // For an aggregate: a span meeting its filter, at least.
    case 'aggregate':
    case 'some': {
      const p = filter.filter === null ? null : factTest(filter.filter);
      return p === null ? null : (anySpan) => anySpan(p);
    }
    case 'and': {
      const tests = filter.args.map(summaryTest).filter((t): t is SummaryTest => t !== null);
      return tests.length === 0 ? null : (anySpan) => tests.every((t) => t(anySpan));
    }
    case 'or': {
      const tests = filter.args.map(summaryTest);
      if (tests.some((t) => t === null)) return null;
      return (anySpan) => tests.some((t) => t!(anySpan));
    }
  }
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** A test on span facts true whenever the filter may hold (null: cannot tell). */
function factTest(f: SpanFilter): ((s: SpanFacts) => boolean) | null {
  if (f.type !== 'condition') {
    const tests = f.args.map(factTest);
    // Loops, not every()/some(): these run per span, and a callback allocates each time.
    if (f.type === 'and') {
      const known = tests.filter((t): t is (s: SpanFacts) => boolean => t !== null);
      if (known.length === 0) return null;
      if (known.length === 1) return known[0]!;
      return (s) => {
        for (const t of known) if (!t(s)) return false;
        return true;
      };
    }
    if (tests.some((t) => t === null)) return null;
    const all = tests as Array<(s: SpanFacts) => boolean>;
    return (s) => {
      for (const t of all) if (t(s)) return true;
      return false;
    };
  }
  // Each test runs for every span of every head trace: answers are worked out once, not per span.
  const { field, op, value } = f.condition;
  if (value.t === 'nil') return null;
  if (field.type === 'intrinsic' && (field.name === 'status' || field.name === 'kind')) {
    const words = field.name === 'status' ? STATUS_BY_CODE : KIND_BY_CODE;
    const holds = words.map((w) => compare(op, { t: field.name, v: w } as Val, value));
    return field.name === 'status' ? (s) => holds[s.status] ?? holds[0]! : (s) => holds[s.kind] ?? holds[0]!;
  }
  // Summaries keep durations as doubles: exact up to 2^53 ns (104 days); beyond, no narrowing.
  if (field.type === 'intrinsic' && field.name === 'duration' && (value.t === 'duration' || value.t === 'int') && value.v <= MAX_EXACT && value.v >= -MAX_EXACT) {
    // Integers both: compared as integers, which doubles this small are.
    const n = Number(value.v);
    const cmp = NUMBER_OPS[op];
    if (cmp !== undefined) return (s) => s.durationNano > Number.MAX_SAFE_INTEGER || cmp(s.durationNano, n);
    return (s) => s.durationNano > Number.MAX_SAFE_INTEGER || compare(op, { t: 'duration', v: BigInt(s.durationNano) }, value);
  }
  if (field.type === 'attribute' && field.scope === 'resource' && field.name === 'service.name' && value.t === 'string' && op !== '=~' && op !== '!~') {
    // A resource without a string service.name is not judged here.
    const v = value.v;
    if (op === '=') return (s) => s.service === undefined || s.service === v;
    if (op === '!=') return (s) => s.service === undefined || s.service !== v;
    return (s) => s.service === undefined || compare(op, { t: 'string', v: s.service }, value);
  }
  return null;
}

const NUMBER_OPS: Partial<Record<string, (a: number, b: number) => boolean>> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};
