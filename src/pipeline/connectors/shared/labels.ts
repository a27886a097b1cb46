// Label names and the guard against identifier dimensions. A label whose
// values are trace, span, session or request IDs makes one series per request:
// memory in Skein, and the Prometheus behind it, grows without bound. Those are
// refused when the configuration is loaded, not discovered in production.

/** Value of every folded label of the series that takes label sets past `max_label_sets`. */
export const OVERFLOW_VALUE = '__overflow__';

const INVALID_LABEL_CHARS = /[^a-zA-Z0-9_]/g;

/** Prometheus label syntax for an attribute name (`http.route` → `http_route`), as Tempo sanitizes it. */
export function sanitizeLabelName(name: string): string {
  const s = name.replace(INVALID_LABEL_CHARS, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

// Compared with case and separators removed, so `trace_id`, `traceId`,
// `otel.trace.id` and `parent_span_id` are all caught.
const IDENTIFIER_SUFFIXES = ['traceid', 'spanid', 'sessionid', 'requestid'];

/**
 * Why `name` must not become a label, or undefined when it may. Names that end
 * in a trace, span, session or request ID are refused.
 */
export function identifierDimensionProblem(name: string): string | undefined {
  const squashed = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (!IDENTIFIER_SUFFIXES.some((suffix) => squashed.endsWith(suffix))) return undefined;
  return (
    `dimension ${JSON.stringify(name)} looks like a per-request identifier (trace, span, session or request ID): ` +
    'it would create one series per value and grow memory and Prometheus without bound; remove it ' +
    '(search by attribute with TraceQL to get from a metric to its traces)'
  );
}
