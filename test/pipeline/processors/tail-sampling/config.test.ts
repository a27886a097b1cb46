import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { tailSamplingFactory } from '../../../../src/pipeline/processors/tail-sampling/index.js';
import { SEED_POLICIES } from './helpers.js';

const schema = tailSamplingFactory.schema;

/** `path: message` of every issue, as the config loader prints them. */
function errorsOf(raw: unknown): string[] {
  const result = schema.safeParse(raw);
  assert.ok(!result.success, 'expected the config to be refused');
  return result.error.issues.map((i) => `${i.path.join('.')}: ${i.code === 'unrecognized_keys' ? `unknown ${i.keys.join(',')}` : i.message}`);
}

test('factory: the collector type name', () => {
  assert.equal(tailSamplingFactory.type, 'tail_sampling');
});

test('defaults are the collector defaults', () => {
  const config = schema.parse({ policies: [{ name: 'all', type: 'always_sample' }] });
  assert.equal(config.decision_wait, 30_000);
  assert.equal(config.num_traces, 50_000);
  assert.equal(config.expected_new_traces_per_sec, 0);
  assert.deepEqual(config.decision_cache, { sampled_cache_size: 0, non_sampled_cache_size: 0 });
});

test('the seed policy parses, with sub-settings defaulted', () => {
  const config = schema.parse({ decision_wait: '10s', policies: SEED_POLICIES });
  assert.equal(config.decision_wait, 10_000);
  assert.deepEqual(
    config.policies.map((p) => p.type),
    ['status_code', 'latency', 'probabilistic'],
  );
  const [, slow, rest] = config.policies;
  assert.deepEqual(slow, { name: 'slow', type: 'latency', latency: { threshold_ms: 500, upper_threshold_ms: 0 } });
  assert.deepEqual(rest, { name: 'rest', type: 'probabilistic', probabilistic: { hash_salt: '', sampling_percentage: 10 } });
});

test('the documented example in docs/tail-sampling.md is valid', () => {
  // dist/test/pipeline/processors/tail-sampling → repository root
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');
  const doc = readFileSync(join(root, 'docs', 'tail-sampling.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2, 'the doc has YAML examples');
  for (const block of blocks) {
    const yaml = parseYaml(block) as { processors: Record<string, unknown> };
    for (const [name, section] of Object.entries(yaml.processors)) {
      const result = schema.safeParse(section);
      assert.ok(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`);
    }
  }
  const seed = parseYaml(blocks[0]!) as { processors: { tail_sampling: { policies: unknown } } };
  assert.deepEqual(seed.processors.tail_sampling.policies, SEED_POLICIES);
});

test('every policy type of the collector README example parses', () => {
  const config = schema.parse({
    decision_wait: '10s',
    num_traces: 100,
    expected_new_traces_per_sec: 10,
    decision_cache: { sampled_cache_size: 100_000, non_sampled_cache_size: 100_000 },
    policies: [
      { name: 'test-policy-1', type: 'always_sample' },
      { name: 'test-policy-2', type: 'latency', latency: { threshold_ms: 5000, upper_threshold_ms: 10000 } },
      { name: 'test-policy-3', type: 'numeric_attribute', numeric_attribute: { key: 'key1', min_value: 50, max_value: 100 } },
      { name: 'test-policy-4', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
      { name: 'test-policy-5', type: 'status_code', status_code: { status_codes: ['ERROR', 'UNSET'] } },
      { name: 'test-policy-6', type: 'string_attribute', string_attribute: { key: 'key2', values: ['value1', 'value2'] } },
      { name: 'test-policy-7', type: 'string_attribute', string_attribute: { key: 'key2', values: ['value1', 'val*'], enabled_regex_matching: true, cache_max_size: 10 } },
      { name: 'test-policy-8', type: 'rate_limiting', rate_limiting: { spans_per_second: 35 } },
      { name: 'test-policy-10', type: 'span_count', span_count: { min_spans: 2, max_spans: 20 } },
      { name: 'test-policy-11', type: 'trace_state', trace_state: { key: 'key3', values: ['value1', 'value2'] } },
      { name: 'test-policy-12', type: 'boolean_attribute', boolean_attribute: { key: 'key4', value: true } },
      {
        name: 'and-policy-1',
        type: 'and',
        and: {
          and_sub_policy: [
            { name: 'test-and-policy-1', type: 'numeric_attribute', numeric_attribute: { key: 'key1', min_value: 50, max_value: 100 } },
            { name: 'test-and-policy-2', type: 'string_attribute', string_attribute: { key: 'key2', values: ['value1', 'value2'] } },
          ],
        },
      },
      {
        name: 'drop-policy-1',
        type: 'drop',
        drop: {
          drop_sub_policy: [
            { name: 'test-drop-policy-1', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['\\/health', '\\/metrics'], enabled_regex_matching: true } },
          ],
        },
      },
      {
        name: 'composite-policy-1',
        type: 'composite',
        composite: {
          max_total_spans_per_second: 1000,
          policy_order: ['test-composite-policy-1', 'test-composite-policy-2', 'test-composite-policy-3'],
          composite_sub_policy: [
            { name: 'test-composite-policy-1', type: 'numeric_attribute', numeric_attribute: { key: 'key1', min_value: 50 } },
            { name: 'test-composite-policy-2', type: 'string_attribute', string_attribute: { key: 'key2', values: ['value1', 'value2'] } },
            { name: 'test-composite-policy-3', type: 'always_sample' },
          ],
          rate_allocation: [
            { policy: 'test-composite-policy-1', percent: 50 },
            { policy: 'test-composite-policy-2', percent: 25 },
          ],
        },
      },
    ],
  });
  assert.equal(config.policies.length, 14);
});

test('errors name the key path', () => {
  assert.deepEqual(errorsOf({}), ['policies: policies is required (at least one policy)']);
  assert.deepEqual(errorsOf({ policies: [] }), ['policies: at least one policy is required']);
  assert.deepEqual(errorsOf({ policies: [{ name: 'a', type: 'always_sample' }], colour: 'red' }), [': unknown colour']);
  assert.deepEqual(errorsOf({ decision_wait: 'soon', policies: [{ name: 'a', type: 'always_sample' }] }), [
    'decision_wait: invalid duration "soon" (examples: 500ms, 30s, 1m)',
  ]);
  assert.deepEqual(errorsOf({ num_traces: 0, policies: [{ name: 'a', type: 'always_sample' }] }), ['num_traces: Too small: expected number to be >0']);
  assert.deepEqual(errorsOf({ decision_cache: { sampled_cache: 5 }, policies: [{ name: 'a', type: 'always_sample' }] }), ['decision_cache: unknown sampled_cache']);

  const [unknownType] = errorsOf({ policies: [{ name: 'a', type: 'sometimes_sample' }] });
  assert.match(unknownType!, /^policies\.0\.type: Invalid discriminator value/);
  // The settings of another type are an error, not silently ignored as in the collector.
  assert.deepEqual(errorsOf({ policies: [{ name: 'a', type: 'boolean_attribute', string_attribute: { key: 'k', values: ['v'] } }] }), [
    'policies.0.boolean_attribute: Invalid input: expected object, received undefined',
    'policies.0: unknown string_attribute',
  ]);
  assert.deepEqual(errorsOf({ policies: [{ name: 'slow', type: 'latency', latency: { threshold_ms: 500, upper_threshold_ms: 100 } }] }), [
    'policies.0.latency.upper_threshold_ms: must be greater than threshold_ms (or 0 for no upper bound)',
  ]);
  assert.deepEqual(errorsOf({ policies: [{ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 250 } }] }), [
    'policies.0.probabilistic.sampling_percentage: Too big: expected number to be <=100',
  ]);
  assert.deepEqual(errorsOf({ policies: [{ name: 's', type: 'status_code', status_code: { status_codes: ['FAILED'] } }] }), [
    'policies.0.status_code.status_codes.0: Invalid option: expected one of "OK"|"ERROR"|"UNSET"',
  ]);
  assert.deepEqual(
    errorsOf({ policies: [{ name: 'r', type: 'string_attribute', string_attribute: { key: 'k', values: ['ok', '(unclosed'], enabled_regex_matching: true } }] }),
    ['policies.0.string_attribute.values.1: invalid regular expression "(unclosed": missing closing ): `(unclosed`'],
  );
  assert.deepEqual(errorsOf({ policies: [{ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'k' } }] }), [
    'policies.0.numeric_attribute: set min_value, max_value or both',
  ]);
  assert.deepEqual(
    errorsOf({
      policies: [
        { name: 'a', type: 'always_sample' },
        { name: 'a', type: 'always_sample' },
      ],
    }),
    ['policies.1.name: duplicate policy name "a"'],
  );
  assert.deepEqual(errorsOf({ policies: [{ name: '', type: 'always_sample' }] }), ['policies.0.name: a policy needs a non-empty name']);
});

test('sub-policies: allowed types and their errors', () => {
  // An `and` may not nest another `and` (as in the collector); a composite may hold one.
  const [nested] = errorsOf({
    policies: [{ name: 'x', type: 'and', and: { and_sub_policy: [{ name: 'y', type: 'and', and: { and_sub_policy: [] } }] } }],
  });
  assert.match(nested!, /^policies\.0\.and\.and_sub_policy\.0\.type: Invalid discriminator value/);
  assert.deepEqual(errorsOf({ policies: [{ name: 'd', type: 'drop', drop: { drop_sub_policy: [] } }] }), [
    'policies.0.drop.drop_sub_policy: name at least one sub-policy',
  ]);
  assert.deepEqual(
    errorsOf({
      policies: [
        {
          name: 'c',
          type: 'composite',
          composite: {
            max_total_spans_per_second: 100,
            policy_order: ['a', 'zzz'],
            composite_sub_policy: [
              { name: 'a', type: 'always_sample' },
              { name: 'b', type: 'and', and: { and_sub_policy: [{ name: 'b1', type: 'always_sample' }] } },
            ],
            rate_allocation: [
              { policy: 'a', percent: 80 },
              { policy: 'nope', percent: 10 },
              { policy: 'b', percent: 30 },
            ],
          },
        },
      ],
    }),
    [
      'policies.0.composite.policy_order.1: no composite_sub_policy is named "zzz"',
      'policies.0.composite.rate_allocation.1.policy: no composite_sub_policy is named "nope"',
      'policies.0.composite.rate_allocation: the percentages add up to 120, more than 100',
    ],
  );
});
