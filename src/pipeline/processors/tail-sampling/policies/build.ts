// Turns a validated policy configuration into its evaluator.
import type { CompositeSubPolicyConfig, PolicyConfig } from '../config.js';
import { alwaysSample } from './always-sample.js';
import { andPolicy } from './and.js';
import { booleanAttributePolicy } from './boolean-attribute.js';
import { compositePolicy } from './composite.js';
import { dropPolicy } from './drop.js';
import { latencyPolicy } from './latency.js';
import { numericAttributePolicy } from './numeric-attribute.js';
import type { Clock, PolicyEvaluator } from './policy.js';
import { probabilisticPolicy } from './probabilistic.js';
import { rateLimitingPolicy } from './rate-limiting.js';
import { spanCountPolicy } from './span-count.js';
import { statusCodePolicy } from './status-code.js';
import { stringAttributePolicy } from './string-attribute.js';
import { traceStatePolicy } from './trace-state.js';

export function buildPolicy(config: PolicyConfig | CompositeSubPolicyConfig, clock: Clock): PolicyEvaluator {
  switch (config.type) {
    case 'always_sample':
      return alwaysSample;
    case 'latency':
      return latencyPolicy(config.latency);
    case 'status_code':
      return statusCodePolicy(config.status_code);
    case 'probabilistic':
      return probabilisticPolicy(config.probabilistic);
    case 'string_attribute':
      return stringAttributePolicy(config.string_attribute);
    case 'numeric_attribute':
      return numericAttributePolicy(config.numeric_attribute);
    case 'boolean_attribute':
      return booleanAttributePolicy(config.boolean_attribute);
    case 'span_count':
      return spanCountPolicy(config.span_count);
    case 'trace_state':
      return traceStatePolicy(config.trace_state);
    case 'rate_limiting':
      return rateLimitingPolicy(config.rate_limiting, clock);
    case 'and':
      return andPolicy(config.and.and_sub_policy.map((sub) => buildPolicy(sub, clock)));
    case 'drop':
      return dropPolicy(config.drop.drop_sub_policy.map((sub) => buildPolicy(sub, clock)));
    case 'composite':
      return compositePolicy(
        config.composite,
        config.composite.composite_sub_policy.map((sub) => ({ name: sub.name, evaluator: buildPolicy(sub, clock) })),
        clock,
      );
  }
}
