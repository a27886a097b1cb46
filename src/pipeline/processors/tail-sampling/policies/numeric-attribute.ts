// Samples traces with an integer attribute (on a resource or a span) within
// [min_value, max_value]; a missing bound is open.
import type { AnyValue } from '../../../../otlp/model.js';
import { attributeDecision } from './attribute-match.js';
import type { PolicyEvaluator, TraceView } from './policy.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export interface NumericAttributeSettings {
  key: string;
  min_value?: number | undefined;
  max_value?: number | undefined;
  invert_match: boolean;
}

export function numericAttributePolicy(settings: NumericAttributeSettings): PolicyEvaluator {
  const min = settings.min_value === undefined ? INT64_MIN : BigInt(settings.min_value);
  const max = settings.max_value === undefined ? INT64_MAX : BigInt(settings.max_value);
  // Only integer values are compared, as the collector's Int() reads them (it reads other types as 0).
  const test = (value: AnyValue) => value.type === 'int' && value.value >= min && value.value <= max;
  return {
    evaluate: (trace: TraceView) => attributeDecision(trace, settings.key, test, settings.invert_match),
  };
}
