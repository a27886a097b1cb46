// Samples by the first sub-policy (in policy_order) that would sample the
// trace, as long as that sub-policy's share of max_total_spans_per_second has
// room for the trace's spans in the current second. A sub-policy over its share
// ends the evaluation with "not sampled", as in the collector: its traces do
// not spill over into the shares of the sub-policies after it.
import type { Clock, PolicyEvaluator, TraceView } from './policy.js';

export interface CompositeMember {
  name: string;
  evaluator: PolicyEvaluator;
}

interface Share {
  evaluator: PolicyEvaluator;
  spansPerSecond: number;
  spansThisSecond: number;
}

export interface CompositeSettings {
  max_total_spans_per_second: number;
  policy_order: readonly string[];
  rate_allocation: ReadonlyArray<{ policy: string; percent: number }>;
}

/**
 * Spans per second of each sub-policy: its percentage of the total, or an equal
 * share (total / number of sub-policies) when it has none or 0 % (the collector
 * since its fix for sub-policies left out of rate_allocation).
 */
export function rateAllocation(settings: CompositeSettings, names: readonly string[]): Map<string, number> {
  const total = settings.max_total_spans_per_second;
  const equalShare = Math.floor(total / names.length);
  const percents = new Map(settings.rate_allocation.map((a) => [a.policy, a.percent]));
  return new Map(names.map((name) => {
    const percent = percents.get(name) ?? 0;
    return [name, percent > 0 ? Math.floor((percent / 100) * total) : equalShare];
  }));
}

export function compositePolicy(settings: CompositeSettings, members: readonly CompositeMember[], clock: Clock): PolicyEvaluator {
  const allocation = rateAllocation(settings, members.map((m) => m.name));
  const position = (name: string) => {
    const i = settings.policy_order.indexOf(name);
    return i < 0 ? settings.policy_order.length : i;
  };
  const ordered = [...members].sort((a, b) => position(a.name) - position(b.name)); // stable: unlisted keep config order
  const shares: Share[] = ordered.map((m) => ({ evaluator: m.evaluator, spansPerSecond: allocation.get(m.name)!, spansThisSecond: 0 }));
  const maxTotal = settings.max_total_spans_per_second;
  let second = -1;
  let totalThisSecond = 0;

  return {
    evaluate(trace: TraceView) {
      const now = Math.floor(clock() / 1000);
      if (now !== second) {
        second = now;
        totalThisSecond = 0;
        for (const share of shares) share.spansThisSecond = 0;
      }
      for (const share of shares) {
        const vote = share.evaluator.evaluate(trace);
        if (vote !== 'sampled' && vote !== 'inverted_sampled') continue;
        const spans = share.spansThisSecond + trace.spanCount;
        // Beyond the share the trace is refused but not counted, so a smaller trace may still fit later.
        if (spans > share.spansPerSecond || totalThisSecond + trace.spanCount > maxTotal) return 'not_sampled';
        share.spansThisSecond = spans;
        totalThisSecond += trace.spanCount;
        return 'sampled';
      }
      return 'not_sampled';
    },
  };
}
