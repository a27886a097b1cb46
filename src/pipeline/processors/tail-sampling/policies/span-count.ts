// Samples traces whose number of spans lies in [min_spans, max_spans] (max 0: no upper bound).
import type { PolicyEvaluator, TraceView } from './policy.js';

export function spanCountPolicy(settings: { min_spans: number; max_spans: number }): PolicyEvaluator {
  const { min_spans: min, max_spans: max } = settings;
  return {
    evaluate: (trace: TraceView) => (trace.spanCount >= min && (max === 0 || trace.spanCount <= max) ? 'sampled' : 'not_sampled'),
  };
}
