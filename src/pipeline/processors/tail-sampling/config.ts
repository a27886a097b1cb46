// Configuration of the `tail_sampling` processor, in the OpenTelemetry
// Collector's own YAML syntax and with its defaults, so a collector config
// ports over unchanged. Stricter than the collector where it silently accepts
// nonsense: every policy must carry the settings block of its own type (and no
// other), and values that can never work (a percentage of 250, a regex that
// does not compile, a rate allocation naming no sub-policy) are errors that
// name the key.
import { z } from 'zod';
import { parseDuration } from '../../../config/units.js';
import { re2Problem } from '../../../regex/re2.js';

/** A Go-style duration (`30s`, `500ms`) or a number of milliseconds, parsed to milliseconds. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === undefined || !(ms >= 0)) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (examples: 500ms, 30s, 1m)` });
    return z.NEVER;
  }
  return ms;
});

const policyName = z.string().min(1, 'a policy needs a non-empty name');
const attributeKey = z.string().min(1, 'the attribute key must not be empty');
const count = z.number().int().min(0);
const positive = z.number().int().positive();

const latencySettings = z
  .strictObject({
    /** Lower bound in milliseconds (inclusive when there is no upper bound, exclusive otherwise, as in the collector). */
    threshold_ms: count,
    /** Upper bound in milliseconds, inclusive; 0 means none. */
    upper_threshold_ms: count.default(0),
  })
  .superRefine((v, ctx) => {
    if (v.upper_threshold_ms !== 0 && v.upper_threshold_ms <= v.threshold_ms) {
      ctx.addIssue({ code: 'custom', path: ['upper_threshold_ms'], message: 'must be greater than threshold_ms (or 0 for no upper bound)' });
    }
  });

const statusCodeSettings = z.strictObject({
  status_codes: z.array(z.enum(['OK', 'ERROR', 'UNSET'])).min(1, 'name at least one of OK, ERROR, UNSET'),
});

const probabilisticSettings = z.strictObject({
  /** Salt mixed into the trace-ID hash; empty means the collector's default salt. */
  hash_salt: z.string().default(''),
  sampling_percentage: z.number().min(0).max(100).default(0),
});

const stringAttributeSettings = z
  .strictObject({
    key: attributeKey,
    values: z.array(z.string()).min(1, 'name at least one value'),
    enabled_regex_matching: z.boolean().default(false),
    /** Size of the LRU cache of regex results; 0 means the collector's default of 128. */
    cache_max_size: count.default(0),
    invert_match: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (!v.enabled_regex_matching) return;
    for (const [i, pattern] of v.values.entries()) {
      const problem = re2Problem(pattern);
      if (problem) ctx.addIssue({ code: 'custom', path: ['values', i], message: `invalid regular expression ${JSON.stringify(pattern)}: ${problem}` });
    }
  });

const numericAttributeSettings = z
  .strictObject({
    key: attributeKey,
    min_value: z.number().int().optional(),
    max_value: z.number().int().optional(),
    invert_match: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.min_value === undefined && v.max_value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'set min_value, max_value or both' });
    } else if (v.min_value !== undefined && v.max_value !== undefined && v.min_value > v.max_value) {
      ctx.addIssue({ code: 'custom', path: ['max_value'], message: 'must not be less than min_value' });
    }
  });

const booleanAttributeSettings = z.strictObject({
  key: attributeKey,
  value: z.boolean(),
  invert_match: z.boolean().default(false),
});

const spanCountSettings = z
  .strictObject({
    min_spans: count.default(0),
    /** 0 means no upper bound. */
    max_spans: count.default(0),
  })
  .superRefine((v, ctx) => {
    if (v.max_spans !== 0 && v.max_spans < v.min_spans) {
      ctx.addIssue({ code: 'custom', path: ['max_spans'], message: 'must not be less than min_spans (or 0 for no upper bound)' });
    }
  });

const traceStateSettings = z.strictObject({
  key: z.string().min(1, 'the trace_state key must not be empty'),
  values: z.array(z.string()).min(1, 'name at least one value'),
});

const rateLimitingSettings = z.strictObject({
  spans_per_second: positive,
});

/** The policy types that carry no sub-policies (the collector's "shared" policy config). */
const leafPolicies = [
  z.strictObject({ name: policyName, type: z.literal('always_sample') }),
  z.strictObject({ name: policyName, type: z.literal('latency'), latency: latencySettings }),
  z.strictObject({ name: policyName, type: z.literal('status_code'), status_code: statusCodeSettings }),
  z.strictObject({ name: policyName, type: z.literal('probabilistic'), probabilistic: probabilisticSettings }),
  z.strictObject({ name: policyName, type: z.literal('string_attribute'), string_attribute: stringAttributeSettings }),
  z.strictObject({ name: policyName, type: z.literal('numeric_attribute'), numeric_attribute: numericAttributeSettings }),
  z.strictObject({ name: policyName, type: z.literal('boolean_attribute'), boolean_attribute: booleanAttributeSettings }),
  z.strictObject({ name: policyName, type: z.literal('span_count'), span_count: spanCountSettings }),
  z.strictObject({ name: policyName, type: z.literal('trace_state'), trace_state: traceStateSettings }),
  z.strictObject({ name: policyName, type: z.literal('rate_limiting'), rate_limiting: rateLimitingSettings }),
] as const;

/** Names must be unique among siblings: metrics, logs and rate allocations refer to policies by name. */
function uniqueNames<T extends { name: string }>(list: T[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [i, policy] of list.entries()) {
    if (seen.has(policy.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate policy name ${JSON.stringify(policy.name)}` });
    seen.add(policy.name);
  }
}

function subPolicyList<T extends z.ZodType<{ name: string }>>(item: T) {
  return z
    .array(item)
    .min(1, 'name at least one sub-policy')
    .superRefine((list, ctx) => uniqueNames(list, ctx));
}

const leafPolicy = z.discriminatedUnion('type', [...leafPolicies]);

const andPolicy = z.strictObject({
  name: policyName,
  type: z.literal('and'),
  and: z.strictObject({ and_sub_policy: subPolicyList(leafPolicy) }),
});

const dropPolicy = z.strictObject({
  name: policyName,
  type: z.literal('drop'),
  drop: z.strictObject({ drop_sub_policy: subPolicyList(leafPolicy) }),
});

const compositeSubPolicy = z.discriminatedUnion('type', [...leafPolicies, andPolicy]);

const compositeSettings = z
  .strictObject({
    max_total_spans_per_second: positive,
    /** Order in which sub-policies are asked; those not listed follow in configuration order. */
    policy_order: z.array(z.string()).default([]),
    composite_sub_policy: subPolicyList(compositeSubPolicy),
    rate_allocation: z
      .array(
        z.strictObject({
          policy: z.string().min(1),
          /** Share of max_total_spans_per_second; 0 means an equal share, as for sub-policies not listed. */
          percent: z.number().int().min(0).max(100),
        }),
      )
      .default([]),
  })
  .superRefine((v, ctx) => {
    const names = new Set(v.composite_sub_policy.map((p) => p.name));
    const ordered = new Set<string>();
    for (const [i, name] of v.policy_order.entries()) {
      if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['policy_order', i], message: `no composite_sub_policy is named ${JSON.stringify(name)}` });
      else if (ordered.has(name)) ctx.addIssue({ code: 'custom', path: ['policy_order', i], message: `${JSON.stringify(name)} is listed twice` });
      ordered.add(name);
    }
    const allocated = new Set<string>();
    let total = 0;
    for (const [i, allocation] of v.rate_allocation.entries()) {
      if (!names.has(allocation.policy)) {
        ctx.addIssue({ code: 'custom', path: ['rate_allocation', i, 'policy'], message: `no composite_sub_policy is named ${JSON.stringify(allocation.policy)}` });
      } else if (allocated.has(allocation.policy)) {
        ctx.addIssue({ code: 'custom', path: ['rate_allocation', i, 'policy'], message: `${JSON.stringify(allocation.policy)} is allocated twice` });
      }
      allocated.add(allocation.policy);
      total += allocation.percent;
    }
    if (total > 100) ctx.addIssue({ code: 'custom', path: ['rate_allocation'], message: `the percentages add up to ${total}, more than 100` });
  });

const compositePolicy = z.strictObject({
  name: policyName,
  type: z.literal('composite'),
  composite: compositeSettings,
});

const policy = z.discriminatedUnion('type', [...leafPolicies, andPolicy, dropPolicy, compositePolicy]);

export const tailSamplingSchema = z.strictObject({
  /** Time from a trace's first span to its decision. */
  decision_wait: duration.prefault('30s'),
  /** Most traces held undecided; beyond it the oldest is decided early. */
  num_traces: positive.default(50000),
  /** Accepted for compatibility; a hint for pre-sizing in the collector, without effect here. */
  expected_new_traces_per_sec: count.default(0),
  decision_cache: z
    .strictObject({
      /** Trace IDs whose "sample" decision is remembered for late spans; 0 turns the cache off. */
      sampled_cache_size: count.default(0),
      /** Trace IDs whose "do not sample" decision is remembered for late spans; 0 turns the cache off. */
      non_sampled_cache_size: count.default(0),
    })
    .prefault({}),
  policies: z
    .array(policy, { error: (issue) => (issue.input === undefined ? 'policies is required (at least one policy)' : undefined) })
    .min(1, 'at least one policy is required')
    .superRefine((list, ctx) => uniqueNames(list, ctx)),
});

export type TailSamplingConfig = z.output<typeof tailSamplingSchema>;
/** A top-level policy of any type. */
export type PolicyConfig = z.output<typeof policy>;
/** A policy without sub-policies (what `and` and `drop` may contain). */
export type LeafPolicyConfig = z.output<typeof leafPolicy>;
/** What a composite may contain: a leaf policy or an `and`. */
export type CompositeSubPolicyConfig = z.output<typeof compositeSubPolicy>;
export type CompositeSettings = z.output<typeof compositeSettings>;
