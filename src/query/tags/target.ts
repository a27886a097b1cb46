// Which tag a values request is about: a TraceQL identifier on v2
// (`resource.service.name`, `span.http.route`, `.foo`, `name`, `span:status`),
// a bare attribute name on v1 (`service.name`).
import { TAG_INTRINSICS, type TagIntrinsic, type TagScope, type TagTarget as FetchTagTarget } from '../../store/fetch/request.js';
import { parseTraceQL, TraceQLError, type Intrinsic } from '../traceql/index.js';

export type AttributeTagScope = TagScope | 'none';

export type TagTarget =
  | { type: 'attribute'; scope: AttributeTagScope; name: string }
  | { type: 'intrinsic'; name: Intrinsic }
  /** v1: a bare name, looked up in span and resource attributes (and `name` is also the span name). */
  | { type: 'legacy'; name: string };

const SCOPE_PREFIXES: ReadonlyArray<[string, AttributeTagScope]> = [
  ['span.', 'span'],
  ['resource.', 'resource'],
  ['event.', 'event'],
  ['link.', 'link'],
  ['instrumentation.', 'instrumentation'],
  ['.', 'none'],
];

/** A v2 tag name, or an error that says why it is not one. */
export function parseTagTarget(text: string): TagTarget | { error: string } {
  if (text === '') return { error: 'invalid tag name "": expected a TraceQL identifier such as resource.service.name, span.http.route, .foo, name, status or kind' };
  // Attribute names are taken verbatim after the scope, as they arrive in the URL:
  // `span.foo bar` needs no quotes here. A quoted name goes through the parser.
  for (const [prefix, scope] of SCOPE_PREFIXES) {
    if (text.startsWith(prefix) && text.length > prefix.length && !text.startsWith(`${prefix}"`)) {
      return { type: 'attribute', scope, name: text.slice(prefix.length) };
    }
  }
  try {
    const { ast } = parseTraceQL(`{ ${text} != nil }`);
    const q = ast.query;
    const stage = q.type === 'pipeline' && q.stages.length === 1 ? q.stages[0] : undefined;
    const e = stage?.type === 'spansetFilter' ? stage.expr : null;
    if (ast.hints.length === 0 && e?.type === 'binary' && e.op === '!=' && e.rhs.type === 'static' && e.rhs.valueType === 'nil') {
      const f = e.lhs;
      if (f.type === 'intrinsic' && f.name !== 'parent') return { type: 'intrinsic', name: f.name };
      if (f.type === 'attribute' && !f.parent) return { type: 'attribute', scope: f.scope, name: f.name };
    }
  } catch (err) {
    if (!(err instanceof TraceQLError)) throw err;
  }
  return {
    error: `invalid tag name ${JSON.stringify(text)}: expected a TraceQL identifier such as resource.service.name, span.http.route, .foo, name, status or kind`,
  };
}

const LISTED_INTRINSICS: ReadonlySet<string> = new Set(TAG_INTRINSICS);

/**
 * What the store is asked for, or undefined for an intrinsic whose values are not listed:
 * durations, IDs and counts, which every span has its own of, so listing them helps no one.
 */
export function fetchTargetOf(target: TagTarget): FetchTagTarget | undefined {
  if (target.type !== 'intrinsic') return target;
  return LISTED_INTRINSICS.has(target.name) ? { type: 'intrinsic', name: target.name as TagIntrinsic } : undefined;
}

/**
 * The intrinsics Tempo lists under scope `intrinsic` (what Grafana offers after `{ `).
 * Values are listed for the ones whose values are a small set of words or names.
 */
export const INTRINSIC_TAG_NAMES: readonly string[] = [
  'duration',
  'event:name',
  'event:timeSinceStart',
  'instrumentation:name',
  'instrumentation:version',
  'kind',
  'link:spanID',
  'link:traceID',
  'name',
  'rootName',
  'rootServiceName',
  'span:childCount',
  'span:duration',
  'span:id',
  'span:kind',
  'span:name',
  'span:parentID',
  'span:status',
  'span:statusMessage',
  'status',
  'statusMessage',
  'trace:duration',
  'trace:id',
  'trace:rootName',
  'trace:rootService',
  'traceDuration',
];
