// Drops a trace when every sub-policy matches it: a "dropped" vote beats every
// other policy's "sampled". Otherwise it says not sampled, which changes nothing.
import type { PolicyEvaluator, TraceView } from './policy.js';

export function dropPolicy(subPolicies: readonly PolicyEvaluator[]): PolicyEvaluator {
  return {
    evaluate(trace: TraceView) {
      for (const sub of subPolicies) {
        const vote = sub.evaluate(trace);
        if (vote === 'not_sampled' || vote === 'inverted_not_sampled') return 'not_sampled';
      }
      return 'dropped';
    },
  };
}
