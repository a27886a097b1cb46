// The final decision over all policies, by the collector's rules:
//   1. a drop policy that matched        → not sampled (drop policies run first; the first match ends it)
//   2. an "inverted not sampled" vote    → not sampled
//   3. a "sampled" vote                  → sampled
//   4. an "inverted sampled" vote and no plain "not sampled" vote → sampled
//   5. otherwise                         → not sampled
// Every other policy is evaluated even after one has sampled, as in the
// collector, so stateful policies (rate limits) see every trace alike.
import type { PolicyConfig } from './config.js';
import { buildPolicy } from './policies/build.js';
import type { Clock, Decision, PolicyEvaluator, TraceView } from './policies/policy.js';

export interface FinalDecision {
  sampled: boolean;
  /** The policy that settled it: the first to vote the winning way; `none` when no policy matched. */
  policy: string;
}

interface NamedPolicy {
  name: string;
  evaluator: PolicyEvaluator;
}

export const NO_POLICY = 'none';

export class Decider {
  private readonly policies: NamedPolicy[];

  constructor(configs: readonly PolicyConfig[], clock: Clock) {
    const named = configs.map((config) => ({ name: config.name, evaluator: buildPolicy(config, clock), drop: config.type === 'drop' }));
    this.policies = [...named.filter((p) => p.drop), ...named.filter((p) => !p.drop)];
  }

  decide(trace: TraceView): FinalDecision {
    let invertedNotSampled: string | undefined;
    let sampled: string | undefined;
    let invertedSampled: string | undefined;
    let anyNotSampled = false;
    for (const { name, evaluator } of this.policies) {
      const vote: Decision = evaluator.evaluate(trace);
      switch (vote) {
        case 'dropped':
          return { sampled: false, policy: name };
        case 'inverted_not_sampled':
          invertedNotSampled ??= name;
          break;
        case 'sampled':
          sampled ??= name;
          break;
        case 'inverted_sampled':
          invertedSampled ??= name;
          break;
        case 'not_sampled':
          anyNotSampled = true;
          break;
      }
    }
    if (invertedNotSampled !== undefined) return { sampled: false, policy: invertedNotSampled };
    if (sampled !== undefined) return { sampled: true, policy: sampled };
    if (invertedSampled !== undefined && !anyNotSampled) return { sampled: true, policy: invertedSampled };
    return { sampled: false, policy: NO_POLICY };
  }
}
