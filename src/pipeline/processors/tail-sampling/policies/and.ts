// Samples a trace only if every sub-policy would; an inverted vote counts as
// its plain meaning here, so `and` itself only says sampled or not sampled.
import type { PolicyEvaluator, TraceView } from './policy.js';

export function andPolicy(subPolicies: readonly PolicyEvaluator[]): PolicyEvaluator {
  return {
    evaluate(trace: TraceView) {
      for (const sub of subPolicies) {
        const vote = sub.evaluate(trace);
        if (vote === 'not_sampled' || vote === 'inverted_not_sampled') return 'not_sampled';
      }
      return 'sampled';
    },
  };
}
