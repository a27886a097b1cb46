// Samples traces in which some span's W3C trace state has the key with one of
// the values. A trace state that is not valid W3C is ignored, as the
// collector's parser (OpenTelemetry Go's ParseTraceState) rejects it.
import type { PolicyEvaluator, TraceView } from './policy.js';

const MAX_MEMBERS = 32;
const SIMPLE_KEY = /^[a-z][_0-9a-z\-*/]{0,255}$/;
const TENANT_KEY = /^[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13}$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** The value of `key` in a W3C tracestate header, '' when absent, undefined when the header is invalid. */
export function traceStateValue(traceState: string, key: string): string | undefined {
  let found = '';
  const seen = new Set<string>();
  for (const raw of traceState.split(',')) {
    if (raw === '' || /^[ \t]*$/.test(raw)) continue;
    const eq = raw.indexOf('=');
    if (eq < 0) return undefined;
    const memberKey = raw.slice(0, eq).replace(/^[ \t]+/, '');
    const value = raw.slice(eq + 1).replace(/[ \t]+$/, '');
    if (!(SIMPLE_KEY.test(memberKey) || TENANT_KEY.test(memberKey)) || !VALUE.test(value)) return undefined;
    if (seen.has(memberKey)) return undefined;
    seen.add(memberKey);
    if (seen.size > MAX_MEMBERS) return undefined;
    if (memberKey === key) found = value;
  }
  return found;
}

export function traceStatePolicy(settings: { key: string; values: readonly string[] }): PolicyEvaluator {
  // As in the collector: empty values, and pairs too long for a trace state (256 with the "="), never match.
  const wanted = new Set(settings.values.filter((v) => v !== '' && settings.key.length + v.length < 256));
  return {
    evaluate(trace: TraceView) {
      for (const span of trace.spans()) {
        if (span.traceState === '') continue;
        const value = traceStateValue(span.traceState, settings.key);
        if (value !== undefined && wanted.has(value)) return 'sampled';
      }
      return 'not_sampled';
    },
  };
}
