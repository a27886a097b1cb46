// Samples traces with a boolean attribute (on a resource or a span) of the given value.
import type { AnyValue } from '../../../../otlp/model.js';
import { attributeDecision } from './attribute-match.js';
import type { PolicyEvaluator, TraceView } from './policy.js';

export function booleanAttributePolicy(settings: { key: string; value: boolean; invert_match: boolean }): PolicyEvaluator {
  // A value of another type never matches (the collector's Bool() would read it as false).
  const test = (value: AnyValue) => value.type === 'bool' && value.value === settings.value;
  return {
    evaluate: (trace: TraceView) => attributeDecision(trace, settings.key, test, settings.invert_match),
  };
}
