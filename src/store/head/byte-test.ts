// Span and trace filters as tests on the head's encoded spans (Head.encodedSpans), before
// anything is decoded. Protobuf keeps strings as their UTF-8 bytes, so an attribute a
// condition reads must have its key among the bytes of the span (or of its resource or
// scope), and a string it must equal, or a regex's literal prefix, too. A test is true
// whenever the filter may hold: it only ever rules traces out, for a fraction of the cost
// of decoding them (match.ts then has the exact answer). What bytes cannot tell (status,
// kind, durations, numbers) the head's summaries do (match.ts summaryTest).
import type { Condition, SpanFilter, TraceFilter } from '../fetch/request.js';
import { literalPrefix } from '../../regex/literal-prefix.js';

export interface EncodedSpan {
  span: Uint8Array;
  resource: Uint8Array;
  scope: Uint8Array;
}

type Part = 'span' | 'resource' | 'scope';
type SpanTest = (s: EncodedSpan) => boolean;
export type EncodedTraceTest = (spans: readonly EncodedSpan[]) => boolean;

/** The trace filter over encoded spans, or null when bytes cannot narrow it. */
export function encodedTraceTest(filter: TraceFilter | null): EncodedTraceTest | null {
  if (filter === null) return null;
  switch (filter.type) {
    // A span meeting the aggregate's filter must be there, at least.
    case 'aggregate':
    case 'some': {
      const t = filter.filter === null ? null : spanTest(filter.filter);
      return t === null ? null : (spans) => spans.some(t);
    }
    case 'and': {
      const tests = filter.args.map(encodedTraceTest).filter((t): t is EncodedTraceTest => t !== null);
      return tests.length === 0 ? null : (spans) => tests.every((t) => t(spans));
    }
    case 'or': {
      const tests = filter.args.map(encodedTraceTest);
      if (tests.length === 0 || tests.some((t) => t === null)) return null;
      return (spans) => tests.some((t) => t!(spans));
    }
  }
}

function spanTest(f: SpanFilter): SpanTest | null {
  if (f.type === 'condition') return conditionTest(f.condition);
  const tests = f.args.map(spanTest);
  if (f.type === 'and') {
    const known = tests.filter((t): t is SpanTest => t !== null);
    return known.length === 0 ? null : (s) => known.every((t) => t(s));
  }
  if (tests.length === 0 || tests.some((t) => t === null)) return null;
  return (s) => tests.some((t) => t!(s));
}

function conditionTest({ field, op, value }: Condition): SpanTest | null {
  // The text a matching string value contains.
  const literal = value.t !== 'string' ? '' : op === '=' ? value.v : op === '=~' ? literalPrefix(value.v).prefix : '';
  if (field.type === 'intrinsic') {
    if (literal === '') return null;
    switch (field.name) {
      case 'name':
      case 'statusMessage':
      case 'event:name':
        return contains('span', [literal]);
      case 'instrumentation:name':
      case 'instrumentation:version':
        return contains('scope', [literal]);
      default:
        return null;
    }
  }
  // Every comparison with a missing attribute is false, `!= nil` included: the key is there.
  const needles = literal === '' ? [field.name] : [field.name, literal];
  switch (field.scope) {
    case 'span':
      return contains('span', needles);
    case 'resource':
      return contains('resource', needles);
    case 'instrumentation':
      return contains('scope', needles);
    case 'none': {
      const span = contains('span', needles);
      const resource = contains('resource', needles);
      return (s) => span(s) || resource(s);
    }
  }
}

/** Whether the part's bytes hold every needle; resources and scopes are shared by many spans, so their answers are kept. */
function contains(part: Part, texts: readonly string[]): SpanTest {
  const needles = texts.map((t) => Buffer.from(t, 'utf8'));
  const holds = (bytes: Uint8Array) => {
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return needles.every((n) => b.indexOf(n) >= 0);
  };
  if (part === 'span') return (s) => holds(s.span);
  const known = new WeakMap<Uint8Array, boolean>();
  return (s) => {
    const bytes = s[part];
    let answer = known.get(bytes);
    if (answer === undefined) known.set(bytes, (answer = holds(bytes)));
    return answer;
  };
}
