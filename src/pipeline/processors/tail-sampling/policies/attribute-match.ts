// The shared rule of the attribute policies (string, numeric, boolean): a trace
// matches when a resource or a span of it has the key with a matching value.
// With invert_match the vote is inverted: "inverted sampled" when nothing
// matches (a missing key included), "inverted not sampled" as soon as
// something does, exactly as the collector's invertHasResourceOrSpanWithCondition.
import type { AnyValue, KeyValue } from '../../../../otlp/model.js';
import type { Decision, TraceView } from './policy.js';

/** Whether an attribute's value matches; `onSpan` tells span attributes from resource ones. */
export type ValueTest = (value: AnyValue, onSpan: boolean) => boolean;

function firstValue(attributes: readonly KeyValue[], key: string): AnyValue | undefined {
  for (const kv of attributes) if (kv.key === key) return kv.value;
  return undefined;
}

function anyMatch(trace: TraceView, key: string, test: ValueTest): boolean {
  for (const resource of trace.resources()) {
    const value = firstValue(resource.attributes, key);
    if (value !== undefined && test(value, false)) return true;
  }
  for (const span of trace.spans()) {
    const value = firstValue(span.attributes, key);
    if (value !== undefined && test(value, true)) return true;
  }
  return false;
}

export function attributeDecision(trace: TraceView, key: string, test: ValueTest, invertMatch: boolean): Decision {
  const matched = anyMatch(trace, key, test);
  if (invertMatch) return matched ? 'inverted_not_sampled' : 'inverted_sampled';
  return matched ? 'sampled' : 'not_sampled';
}
