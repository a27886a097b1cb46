// Span validation at ingest: refuses individually invalid spans (OTLP partial
// success) and keeps the rest. On the hot path, where every span is valid,
// nothing is allocated per span and the input batch is returned as it is.
// It lives with the receivers, not in src/otlp, because it applies the `limits:`
// section of the configuration and names its keys in what it reports.
import { formatDuration } from '../config/units.js';
import { SPAN_ID_BYTES, TRACE_ID_BYTES, stringAttribute, toHex, type AnyValue, type KeyValue, type ResourceSpans, type ScopeSpans, type Span } from '../otlp/model.js';

export interface SpanLimits {
  /** Longest string or bytes attribute value, in bytes (also inside arrays and kvlists). */
  maxAttributeValueLength: number;
  /** Most attributes on a span, event, link, resource or scope. */
  maxAttributesPerSpan: number;
  /** Most events on a span, and most links. */
  maxEventsPerSpan: number;
  /** How far ahead of the clock a span may end, in milliseconds; 0: no limit. */
  maxSpanEndAheadMs: number;
  /**
   * How messages name the two attribute limits when they are a tenant's own (config/overrides.ts:
   * `max_attributes_per_span=10 (override for tenant "a")`); default `limits.<key>=<value>`.
   */
  named?: { maxAttributeValueLength: string; maxAttributesPerSpan: string };
}

export type RejectReason =
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'end_before_start'
  | 'end_in_future'
  | 'attribute_value_too_long'
  | 'too_many_attributes'
  | 'too_many_events'
  | 'too_many_links';

export interface ValidationResult {
  /** The valid spans; the input batch itself when nothing was rejected. */
  accepted: ResourceSpans[];
  acceptedSpans: number;
  rejectedSpans: number;
  reasons: Map<RejectReason, number>;
  /** '' when nothing was rejected; else what was wrong, with up to MAX_EXAMPLES examples. */
  errorMessage: string;
}

interface Problem {
  reason: RejectReason;
  message: string;
}

const MAX_EXAMPLES = 5;
const UINT64_MAX = (1n << 64n) - 1n;
/** Long garbage IDs are cut short in messages. */
const MAX_ID_HEX_CHARS = 64;

/** `nowMs` is the clock a span's end time is checked against (tests set it). */
export function validateBatch(batch: ResourceSpans[], limits: SpanLimits, nowMs = Date.now()): ValidationResult {
  let rejections: Rejections | undefined;
  let total = 0;
  const latestEnd = limits.maxSpanEndAheadMs > 0 ? BigInt(nowMs + limits.maxSpanEndAheadMs) * 1_000_000n : UINT64_MAX;
  for (const rs of batch) {
    const resourceIssue = attributeIssue(rs.resource.attributes, limits);
    const resourceProblem = resourceIssue && describe(resourceIssue, 'resource', limits);
    for (const ss of rs.scopeSpans) {
      total += ss.spans.length;
      if (ss.spans.length === 0) continue;
      if (resourceProblem) {
        (rejections ??= new Rejections()).rejectGroup(ss, resourceProblem, `the resource ${resourceLabel(rs)}`);
        continue;
      }
      const scopeIssue = attributeIssue(ss.scope.attributes, limits);
      if (scopeIssue) {
        const owner = `scope "${ss.scope.name}"`;
        (rejections ??= new Rejections()).rejectGroup(ss, describe(scopeIssue, owner, limits), owner);
        continue;
      }
      for (const span of ss.spans) {
        const problem = spanProblem(span, limits, latestEnd);
        if (problem) (rejections ??= new Rejections()).rejectSpan(span, problem);
      }
    }
  }
  if (!rejections) {
    return { accepted: batch, acceptedSpans: total, rejectedSpans: 0, reasons: new Map(), errorMessage: '' };
  }
  return {
    accepted: rejections.keepAccepted(batch),
    acceptedSpans: total - rejections.count,
    rejectedSpans: rejections.count,
    reasons: rejections.reasons,
    errorMessage: rejections.message(),
  };
}

function resourceLabel(rs: ResourceSpans): string {
  const service = stringAttribute(rs.resource.attributes, 'service.name');
  return service === undefined ? 'without service.name' : `with service.name "${service}"`;
}

function idHex(id: Uint8Array): string {
  if (id.length === 0) return '(empty)';
  const hex = toHex(id);
  return hex.length > MAX_ID_HEX_CHARS ? `${hex.slice(0, MAX_ID_HEX_CHARS)}…` : hex;
}

/** Collects what was rejected; only created once something is. */
class Rejections {
  count = 0;
  readonly reasons = new Map<RejectReason, number>();
  private readonly spans = new Set<Span>();
  private readonly groups = new Set<ScopeSpans>();
  private readonly examples: string[] = [];
  private readonly problemsShown = new Set<string>();
  /** Spans the shown examples account for. */
  private covered = 0;

  rejectSpan(span: Span, problem: Problem): void {
    this.spans.add(span);
    this.tally(problem.reason, 1);
    this.example(`span ${idHex(span.spanId)} of trace ${idHex(span.traceId)}: ${problem.message}`, problem.message, 1);
  }

  rejectGroup(ss: ScopeSpans, problem: Problem, owner: string): void {
    const n = ss.spans.length;
    this.groups.add(ss);
    this.tally(problem.reason, n);
    const spans = n === 1 ? '1 span' : `all ${n} spans`;
    this.example(`${spans} of ${owner}: ${problem.message}`, problem.message, n);
  }

  /** The batch without the rejected spans, dropping scopes and resources left empty. */
  keepAccepted(batch: ResourceSpans[]): ResourceSpans[] {
    const out: ResourceSpans[] = [];
    for (const rs of batch) {
      const scopeSpans: ScopeSpans[] = [];
      let changed = false;
      for (const ss of rs.scopeSpans) {
        if (this.groups.has(ss)) {
          changed = true;
          continue;
        }
        const spans = ss.spans.filter((s) => !this.spans.has(s));
        if (spans.length === ss.spans.length) scopeSpans.push(ss);
        else {
          changed = true;
          if (spans.length > 0) scopeSpans.push({ scope: ss.scope, schemaUrl: ss.schemaUrl, spans });
        }
      }
      if (!changed) out.push(rs);
      else if (scopeSpans.length > 0) out.push({ resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans });
    }
    return out;
  }

  message(): string {
    const head = `${this.count} ${this.count === 1 ? 'span' : 'spans'} rejected: ${this.examples.join('; ')}`;
    const more = this.count - this.covered;
    return more > 0 ? `${head}; and ${more} more` : head;
  }

  private tally(reason: RejectReason, n: number): void {
    this.count += n;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + n);
  }

  private example(text: string, problem: string, spans: number): void {
    if (this.examples.length >= MAX_EXAMPLES || this.problemsShown.has(problem)) return;
    this.problemsShown.add(problem);
    this.examples.push(text);
    this.covered += spans;
  }
}

function spanProblem(span: Span, limits: SpanLimits, latestEnd: bigint): Problem | undefined {
  const idProblem =
    idLengthProblem(span.traceId, TRACE_ID_BYTES, 'trace_id', 'invalid_trace_id') ??
    idLengthProblem(span.spanId, SPAN_ID_BYTES, 'span_id', 'invalid_span_id');
  if (idProblem) return idProblem;
  const parent = span.parentSpanId.length;
  if (parent !== 0 && parent !== SPAN_ID_BYTES) {
    return { reason: 'invalid_parent_span_id', message: `parent_span_id is ${byteCount(parent)}, must be ${SPAN_ID_BYTES} or empty` };
  }
  if (span.endTimeUnixNano < span.startTimeUnixNano) {
    return { reason: 'end_before_start', message: 'end time is before start time' };
  }
  if (span.endTimeUnixNano > latestEnd) {
    return {
      reason: 'end_in_future',
      message: `end time ${new Date(Number(span.endTimeUnixNano / 1_000_000n)).toISOString()} is further in the future than limits.max_span_end_ahead=${formatDuration(limits.maxSpanEndAheadMs)} allows`,
    };
  }
  if (span.events.length > limits.maxEventsPerSpan) {
    return {
      reason: 'too_many_events',
      message: `span has ${span.events.length} events, over the limit limits.max_events_per_span=${limits.maxEventsPerSpan}`,
    };
  }
  if (span.links.length > limits.maxEventsPerSpan) {
    return {
      reason: 'too_many_links',
      message: `span has ${span.links.length} links, over the limit limits.max_events_per_span=${limits.maxEventsPerSpan} (which also bounds links)`,
    };
  }
  const attrs = attributeIssue(span.attributes, limits);
  if (attrs) return describe(attrs, 'span', limits);
  for (const event of span.events) {
    const issue = attributeIssue(event.attributes, limits);
    if (issue) return describe(issue, `event "${event.name}"`, limits);
  }
  for (const link of span.links) {
    const issue = attributeIssue(link.attributes, limits);
    if (issue) return describe(issue, `link to span ${idHex(link.spanId)}`, limits);
  }
  return undefined;
}

function byteCount(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

function idLengthProblem(id: Uint8Array, bytes: number, field: string, reason: RejectReason): Problem | undefined {
  if (id.length !== bytes) return { reason, message: `${field} is ${byteCount(id.length)}, must be ${bytes}` };
  for (let i = 0; i < bytes; i++) if (id[i] !== 0) return undefined;
  return { reason, message: `${field} is all zeros` };
}

/** What is wrong with a list of attributes; only allocated when something is. */
type AttributeIssue = { kind: 'count'; count: number } | { kind: 'length'; path: string; bytes: number };

function attributeIssue(attrs: readonly KeyValue[], limits: SpanLimits): AttributeIssue | undefined {
  if (attrs.length > limits.maxAttributesPerSpan) return { kind: 'count', count: attrs.length };
  const max = limits.maxAttributeValueLength;
  for (const kv of attrs) {
    if (!valueFits(kv.value, max)) return { kind: 'length', ...oversizedValue(kv.value, kv.key, max)! };
  }
  return undefined;
}

/** `owner` is what holds the attributes: "span", "resource", `event "name"`, … */
function describe(issue: AttributeIssue, owner: string, limits: SpanLimits): Problem {
  if (issue.kind === 'count') {
    return {
      reason: 'too_many_attributes',
      message: `${owner} has ${issue.count} attributes, over the limit ${limits.named?.maxAttributesPerSpan ?? `limits.max_attributes_per_span=${limits.maxAttributesPerSpan}`}`,
    };
  }
  const where = owner === 'span' ? '' : `${owner} `;
  return {
    reason: 'attribute_value_too_long',
    message: `${where}attribute "${issue.path}" value is ${byteCount(issue.bytes)}, over the limit ${limits.named?.maxAttributeValueLength ?? `limits.max_attribute_value_length=${limits.maxAttributeValueLength}`}`,
  };
}

/** UTF-8 length of a string is between its UTF-16 length and 3 times that. */
function stringFits(s: string, max: number): boolean {
  if (s.length * 3 <= max) return true;
  if (s.length > max) return false;
  return Buffer.byteLength(s, 'utf8') <= max;
}

function valueFits(v: AnyValue, max: number): boolean {
  switch (v.type) {
    case 'string':
      return stringFits(v.value, max);
    case 'bytes':
      return v.value.length <= max;
    case 'array':
      for (const x of v.value) if (!valueFits(x, max)) return false;
      return true;
    case 'kvlist':
      for (const kv of v.value) if (!valueFits(kv.value, max)) return false;
      return true;
    default:
      return true;
  }
}

/** Where the first oversized value is (e.g. `http.headers.cookie`, `payloads[3]`) and its size. */
function oversizedValue(v: AnyValue, path: string, max: number): { path: string; bytes: number } | undefined {
  switch (v.type) {
    case 'string': {
      const bytes = Buffer.byteLength(v.value, 'utf8');
      return bytes > max ? { path, bytes } : undefined;
    }
    case 'bytes':
      return v.value.length > max ? { path, bytes: v.value.length } : undefined;
    case 'array':
      for (let i = 0; i < v.value.length; i++) {
        const found = oversizedValue(v.value[i]!, `${path}[${i}]`, max);
        if (found) return found;
      }
      return undefined;
    case 'kvlist':
      for (const kv of v.value) {
        const found = oversizedValue(kv.value, `${path}.${kv.key}`, max);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}
