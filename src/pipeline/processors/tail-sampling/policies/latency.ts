// Samples traces by duration: latest end minus earliest start over all spans.
import type { Decision, PolicyEvaluator, TraceView } from './policy.js';

export interface LatencySettings {
  threshold_ms: number;
  /** 0: no upper bound. */
  upper_threshold_ms: number;
}

export function latencyPolicy(settings: LatencySettings): PolicyEvaluator {
  const lower = BigInt(settings.threshold_ms);
  const upper = BigInt(settings.upper_threshold_ms);
  return {
    evaluate(trace: TraceView): Decision {
      // Whole milliseconds, truncated, as Go's Duration.Milliseconds() gives them.
      const ms = (trace.latestEndNs - trace.earliestStartNs) / 1_000_000n;
      // The collector's bounds: `>= threshold` alone, `(threshold, upper]` with an upper bound.
      const inRange = upper === 0n ? ms >= lower : ms > lower && ms <= upper;
      return inRange ? 'sampled' : 'not_sampled';
    },
  };
}
