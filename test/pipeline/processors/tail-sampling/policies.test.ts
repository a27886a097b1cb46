import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue, Resource, Span } from '../../../../src/otlp/model.js';
import { tailSamplingSchema } from '../../../../src/pipeline/processors/tail-sampling/config.js';
import { Decider } from '../../../../src/pipeline/processors/tail-sampling/decide.js';
import { buildPolicy } from '../../../../src/pipeline/processors/tail-sampling/policies/build.js';
import { rateAllocation } from '../../../../src/pipeline/processors/tail-sampling/policies/composite.js';
import type { Decision, TraceView } from '../../../../src/pipeline/processors/tail-sampling/policies/policy.js';
import { traceStateValue } from '../../../../src/pipeline/processors/tail-sampling/policies/trace-state.js';
import { attr } from './helpers.js';

const MS = 1_000_000n;
const T0 = 1_700_000_000_000n * MS;

function span(overrides: Partial<Span> = {}): Span {
  return {
    traceId: new Uint8Array(16).fill(7),
    spanId: new Uint8Array(8).fill(1),
    traceState: '',
    parentSpanId: new Uint8Array(0),
    flags: 0,
    name: 'op',
    kind: 2,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 10n * MS,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    ...overrides,
  };
}

/** A TraceView over plain spans, with the figures computed the way the buffer computes them. */
function traceOf(spans: Span[], resources: Resource[] = [{ attributes: [], droppedAttributesCount: 0 }], traceId = spans[0]?.traceId ?? new Uint8Array(16)): TraceView {
  let statusCodes = 0;
  for (const s of spans) statusCodes |= 1 << s.status.code;
  return {
    traceId,
    spanCount: spans.length,
    earliestStartNs: spans.reduce((m, s) => (s.startTimeUnixNano < m ? s.startTimeUnixNano : m), spans[0]!.startTimeUnixNano),
    latestEndNs: spans.reduce((m, s) => (s.endTimeUnixNano > m ? s.endTimeUnixNano : m), spans[0]!.endTimeUnixNano),
    statusCodes,
    resources: () => resources,
    spans: () => spans,
  };
}

const resource = (...attributes: KeyValue[]): Resource => ({ attributes, droppedAttributesCount: 0 });
const withAttrs = (...attributes: KeyValue[]) => span({ attributes });
const s = (key: string, value: string) => attr(key, { type: 'string', value });
const i = (key: string, value: number) => attr(key, { type: 'int', value: BigInt(value) });
const b = (key: string, value: boolean) => attr(key, { type: 'bool', value });

/** Builds one policy from its collector YAML (as parsed) with a clock under the test's control. */
function policy(raw: Record<string, unknown>, clock: () => number = () => 0) {
  const config = tailSamplingSchema.parse({ policies: [{ name: 'p', ...raw }] });
  return buildPolicy(config.policies[0]!, clock);
}

function vote(raw: Record<string, unknown>, trace: TraceView): Decision {
  return policy(raw).evaluate(trace);
}

test('always_sample', () => {
  assert.equal(vote({ type: 'always_sample' }, traceOf([span()])), 'sampled');
});

test('latency: earliest start to latest end, the collector bounds', () => {
  const spanning = (ms: bigint) => traceOf([span({ startTimeUnixNano: T0 + 5n * MS, endTimeUnixNano: T0 + 6n * MS }), span({ startTimeUnixNano: T0, endTimeUnixNano: T0 + ms * MS })]);
  const slow = { type: 'latency', latency: { threshold_ms: 500 } };
  assert.equal(vote(slow, spanning(499n)), 'not_sampled');
  assert.equal(vote(slow, spanning(500n)), 'sampled', 'without an upper bound the threshold is inclusive');
  // 500.9 ms is 500 whole milliseconds.
  assert.equal(vote(slow, traceOf([span({ startTimeUnixNano: T0, endTimeUnixNano: T0 + 499n * MS + 999_999n })])), 'not_sampled');
  const band = { type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 200 } };
  assert.equal(vote(band, spanning(100n)), 'not_sampled', 'with an upper bound the lower one is exclusive');
  assert.equal(vote(band, spanning(150n)), 'sampled');
  assert.equal(vote(band, spanning(200n)), 'sampled');
  assert.equal(vote(band, spanning(201n)), 'not_sampled');
  // The duration spans spans: the late-starting one ends last.
  assert.equal(vote(slow, traceOf([span({ startTimeUnixNano: T0, endTimeUnixNano: T0 + MS }), span({ startTimeUnixNano: T0 + 400n * MS, endTimeUnixNano: T0 + 700n * MS })])), 'sampled');
});

test('status_code', () => {
  const errors = { type: 'status_code', status_code: { status_codes: ['ERROR'] } };
  assert.equal(vote(errors, traceOf([span(), span({ status: { code: 2, message: 'boom' } })])), 'sampled');
  assert.equal(vote(errors, traceOf([span(), span({ status: { code: 1, message: '' } })])), 'not_sampled');
  assert.equal(vote({ type: 'status_code', status_code: { status_codes: ['OK', 'UNSET'] } }, traceOf([span()])), 'sampled');
});

test('probabilistic: by trace ID only, 0 and 100 %', () => {
  const id = new Uint8Array(16).fill(0x42);
  const never = { type: 'probabilistic', probabilistic: { sampling_percentage: 0 } };
  const always = { type: 'probabilistic', probabilistic: { sampling_percentage: 100 } };
  assert.equal(vote(never, traceOf([span({ traceId: id })])), 'not_sampled');
  assert.equal(vote(always, traceOf([span({ traceId: id })])), 'sampled');
});

test('string_attribute: exact, regex, resource or span, empty values ignored', () => {
  const exact = { type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/cart', ''] } };
  assert.equal(vote(exact, traceOf([withAttrs(s('http.route', '/cart'))])), 'sampled');
  assert.equal(vote(exact, traceOf([withAttrs(s('http.route', '/cart/1'))])), 'not_sampled');
  assert.equal(vote(exact, traceOf([withAttrs(s('http.route', ''))])), 'not_sampled', 'an empty value in the list matches nothing');
  assert.equal(vote(exact, traceOf([withAttrs(i('http.route', 3))])), 'not_sampled', 'non-string values never match');
  assert.equal(vote(exact, traceOf([span()], [resource(s('http.route', '/cart'))])), 'sampled', 'resource attributes count');

  const regex = { type: 'string_attribute', string_attribute: { key: 'url.path', values: ['\\/health', '^/v1/name/.+'], enabled_regex_matching: true } };
  assert.equal(vote(regex, traceOf([withAttrs(s('url.path', '/api/health/deep'))])), 'sampled', 'unanchored, as Go');
  assert.equal(vote(regex, traceOf([withAttrs(s('url.path', '/v1/name/7'))])), 'sampled');
  assert.equal(vote(regex, traceOf([withAttrs(s('url.path', '/v1/name/'))])), 'not_sampled');
  const caseless = { type: 'string_attribute', string_attribute: { key: 'k', values: ['(?i)^error'], enabled_regex_matching: true } };
  assert.equal(vote(caseless, traceOf([withAttrs(s('k', 'ERROR: disk'))])), 'sampled', 'a leading (?i) works as in Go');
  // The regex outcome cache must not change answers.
  const cached = policy(regex);
  for (let n = 0; n < 3; n++) {
    assert.equal(cached.evaluate(traceOf([withAttrs(s('url.path', '/health'))])), 'sampled');
    assert.equal(cached.evaluate(traceOf([withAttrs(s('url.path', '/other'))])), 'not_sampled');
  }
});

test('string_attribute with invert_match', () => {
  const inverted = { type: 'string_attribute', string_attribute: { key: 'service.name', values: ['legacy'], invert_match: true } };
  assert.equal(vote(inverted, traceOf([withAttrs(s('service.name', 'shop'))])), 'inverted_sampled');
  assert.equal(vote(inverted, traceOf([span()])), 'inverted_sampled', 'a missing key samples');
  assert.equal(vote(inverted, traceOf([span(), withAttrs(s('service.name', 'legacy'))])), 'inverted_not_sampled', 'one matching span is enough');
  assert.equal(vote(inverted, traceOf([span()], [resource(s('service.name', 'legacy'))])), 'inverted_not_sampled');
});

test('numeric_attribute: integers in range, open bounds, min 0 is a bound, invert_match', () => {
  const range = { type: 'numeric_attribute', numeric_attribute: { key: 'http.response.status_code', min_value: 500, max_value: 599 } };
  assert.equal(vote(range, traceOf([withAttrs(i('http.response.status_code', 503))])), 'sampled');
  assert.equal(vote(range, traceOf([withAttrs(i('http.response.status_code', 500))])), 'sampled');
  assert.equal(vote(range, traceOf([withAttrs(i('http.response.status_code', 404))])), 'not_sampled');
  assert.equal(vote(range, traceOf([withAttrs(attr('http.response.status_code', { type: 'double', value: 503 }))])), 'not_sampled', 'only integers');
  assert.equal(vote(range, traceOf([span()], [resource(i('http.response.status_code', 599))])), 'sampled');
  const atLeast = { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 50 } };
  assert.equal(vote(atLeast, traceOf([withAttrs(i('n', Number.MAX_SAFE_INTEGER))])), 'sampled');
  const nonNegative = { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 0 } };
  assert.equal(vote(nonNegative, traceOf([withAttrs(i('n', -1))])), 'not_sampled');
  const inverted = { type: 'numeric_attribute', numeric_attribute: { key: 'n', max_value: 10, invert_match: true } };
  assert.equal(vote(inverted, traceOf([withAttrs(i('n', 11))])), 'inverted_sampled');
  assert.equal(vote(inverted, traceOf([withAttrs(i('n', 10))])), 'inverted_not_sampled');
});

test('boolean_attribute and invert_match', () => {
  const forced = { type: 'boolean_attribute', boolean_attribute: { key: 'app.force_sample', value: true } };
  assert.equal(vote(forced, traceOf([span(), withAttrs(b('app.force_sample', true))])), 'sampled');
  assert.equal(vote(forced, traceOf([withAttrs(b('app.force_sample', false))])), 'not_sampled');
  const notFalse = { type: 'boolean_attribute', boolean_attribute: { key: 'k', value: false } };
  assert.equal(vote(notFalse, traceOf([withAttrs(s('k', 'no'))])), 'not_sampled', 'a string is not false');
  const inverted = { type: 'boolean_attribute', boolean_attribute: { key: 'app.do_not_sample', value: true, invert_match: true } };
  assert.equal(vote(inverted, traceOf([span()])), 'inverted_sampled');
  assert.equal(vote(inverted, traceOf([span()], [resource(b('app.do_not_sample', true))])), 'inverted_not_sampled');
});

test('span_count', () => {
  const band = { type: 'span_count', span_count: { min_spans: 2, max_spans: 3 } };
  assert.equal(vote(band, traceOf([span()])), 'not_sampled');
  assert.equal(vote(band, traceOf([span(), span()])), 'sampled');
  assert.equal(vote(band, traceOf([span(), span(), span()])), 'sampled');
  assert.equal(vote(band, traceOf([span(), span(), span(), span()])), 'not_sampled');
  assert.equal(vote({ type: 'span_count', span_count: { min_spans: 2 } }, traceOf(Array.from({ length: 500 }, () => span()))), 'sampled');
});

test('trace_state: W3C parsing', () => {
  assert.equal(traceStateValue('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'congo'), 't61rcWkgMzE');
  assert.equal(traceStateValue(' rojo=1 ,  tenant@vendor=x ', 'tenant@vendor'), 'x');
  assert.equal(traceStateValue('rojo=1', 'congo'), '');
  assert.equal(traceStateValue('Rojo=1', 'rojo'), undefined, 'upper-case keys are invalid');
  assert.equal(traceStateValue('a=1,a=2', 'a'), undefined, 'duplicate keys are invalid');
  assert.equal(traceStateValue(Array.from({ length: 33 }, (_, n) => `k${n}=v`).join(','), 'k0'), undefined, 'at most 32 members');
  const wanted = { type: 'trace_state', trace_state: { key: 'sampling', values: ['keep'] } };
  assert.equal(vote(wanted, traceOf([span(), span({ traceState: 'other=1,sampling=keep' })])), 'sampled');
  assert.equal(vote(wanted, traceOf([span({ traceState: 'sampling=drop' })])), 'not_sampled');
  assert.equal(vote(wanted, traceOf([span({ traceState: 'sampling=keep,BAD' })])), 'not_sampled', 'an invalid trace state is ignored');
});

test('rate_limiting: a token bucket of 2 × spans_per_second, refilled continuously', () => {
  let now = 1_000_000;
  const limiter = policy({ type: 'rate_limiting', rate_limiting: { spans_per_second: 10 } }, () => now);
  const ofSpans = (n: number) => traceOf(Array.from({ length: n }, () => span()));
  assert.equal(limiter.evaluate(ofSpans(21)), 'not_sampled', 'larger than the burst: never');
  assert.equal(limiter.evaluate(ofSpans(15)), 'sampled', 'the bucket starts full (20)');
  assert.equal(limiter.evaluate(ofSpans(6)), 'not_sampled', '5 left');
  assert.equal(limiter.evaluate(ofSpans(5)), 'sampled');
  now += 500; // + 5 tokens
  assert.equal(limiter.evaluate(ofSpans(6)), 'not_sampled');
  assert.equal(limiter.evaluate(ofSpans(5)), 'sampled');
  now += 60_000; // refills to the burst, not beyond
  assert.equal(limiter.evaluate(ofSpans(20)), 'sampled');
  assert.equal(limiter.evaluate(ofSpans(1)), 'not_sampled');
});

test('and: all sub-policies; inverted votes count as their plain meaning', () => {
  const and = (...subs: Array<Record<string, unknown>>) => ({ type: 'and', and: { and_sub_policy: subs.map((sub, n) => ({ name: `s${n}`, ...sub })) } });
  const checkout = { type: 'string_attribute', string_attribute: { key: 'service.name', values: ['checkout'] } };
  const slow = { type: 'latency', latency: { threshold_ms: 200 } };
  const notLegacy = { type: 'string_attribute', string_attribute: { key: 'tier', values: ['legacy'], invert_match: true } };
  const slowCheckout = traceOf([span({ endTimeUnixNano: T0 + 300n * MS })], [resource(s('service.name', 'checkout'))]);
  const fastCheckout = traceOf([span()], [resource(s('service.name', 'checkout'))]);
  assert.equal(vote(and(checkout, slow), slowCheckout), 'sampled');
  assert.equal(vote(and(checkout, slow), fastCheckout), 'not_sampled');
  assert.equal(vote(and(checkout, notLegacy), fastCheckout), 'sampled', 'inverted sampled counts as sampled');
  const legacy = traceOf([withAttrs(s('tier', 'legacy'))], [resource(s('service.name', 'checkout'))]);
  assert.equal(vote(and(checkout, notLegacy), legacy), 'not_sampled', 'inverted not sampled counts as not sampled');
});

test('drop: dropped only when every sub-policy matches', () => {
  const drop = {
    type: 'drop',
    drop: {
      drop_sub_policy: [
        { name: 'health', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'] } },
        { name: 'fast', type: 'latency', latency: { threshold_ms: 0, upper_threshold_ms: 100 } },
      ],
    },
  };
  assert.equal(vote(drop, traceOf([withAttrs(s('http.route', '/health'))])), 'dropped');
  assert.equal(vote(drop, traceOf([withAttrs(s('http.route', '/health'), s('x', 'y'))].map((sp) => ({ ...sp, endTimeUnixNano: T0 + 150n * MS })))), 'not_sampled');
  assert.equal(vote(drop, traceOf([withAttrs(s('http.route', '/cart'))])), 'not_sampled');
});

test('composite: rate allocation per sub-policy and second, in policy_order', () => {
  const settings = {
    max_total_spans_per_second: 100,
    policy_order: ['big', 'all'],
    composite_sub_policy: [
      { name: 'all', type: 'always_sample' },
      { name: 'big', type: 'span_count', span_count: { min_spans: 10 } },
      { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
    ],
    rate_allocation: [
      { policy: 'big', percent: 50 },
      { policy: 'all', percent: 20 },
    ],
  };
  // Sub-policies left out of rate_allocation get an equal share: 100 / 3.
  assert.deepEqual(
    rateAllocation({ ...settings, rate_allocation: settings.rate_allocation }, ['all', 'big', 'errors']),
    new Map([
      ['all', 20],
      ['big', 50],
      ['errors', 33],
    ]),
  );
  let now = 5_000;
  const composite = policy({ type: 'composite', composite: settings }, () => now);
  const big = () => traceOf(Array.from({ length: 20 }, () => span()));
  const small = () => traceOf(Array.from({ length: 5 }, () => span()));
  const smallError = () => traceOf(Array.from({ length: 5 }, (_, n) => span({ status: { code: n === 0 ? 2 : 0, message: '' } })));
  // `big` comes first in policy_order although it is second in the list: big traces use its 50.
  assert.equal(composite.evaluate(big()), 'sampled');
  assert.equal(composite.evaluate(big()), 'sampled');
  assert.equal(composite.evaluate(big()), 'not_sampled', "big's share is used up, and it does not spill into `all`");
  for (let n = 0; n < 4; n++) assert.equal(composite.evaluate(small()), 'sampled', `small trace ${n} within all's 20`);
  assert.equal(composite.evaluate(small()), 'not_sampled', "all's share is used up");
  assert.equal(composite.evaluate(smallError()), 'not_sampled', '`all` matches errors first (policy order), and is full');
  now += 1000; // a new second
  assert.equal(composite.evaluate(big()), 'sampled');
  assert.equal(composite.evaluate(small()), 'sampled');
});

test('composite: the total is held across sub-policies', () => {
  let now = 0;
  const composite = policy(
    {
      type: 'composite',
      composite: {
        max_total_spans_per_second: 30,
        composite_sub_policy: [
          { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
          { name: 'all', type: 'always_sample' },
        ],
        rate_allocation: [
          { policy: 'errors', percent: 100 },
          { policy: 'all', percent: 0 },
        ],
      },
    },
    () => now,
  );
  const error = () => traceOf(Array.from({ length: 10 }, () => span({ status: { code: 2, message: '' } })));
  const plain = () => traceOf(Array.from({ length: 10 }, () => span()));
  assert.equal(composite.evaluate(plain()), 'sampled', "all: 10 of its 15");
  assert.equal(composite.evaluate(error()), 'sampled', 'errors: 10, total 20');
  assert.equal(composite.evaluate(error()), 'sampled', 'errors: 20, total 30');
  assert.equal(composite.evaluate(error()), 'not_sampled', 'errors has room (30) but the total is reached');
  now = 1000;
  assert.equal(composite.evaluate(error()), 'sampled');
});

test('final decision: drop > inverted not sampled > sampled > inverted sampled without not sampled', () => {
  const decide = (policies: Array<Record<string, unknown>>, trace: TraceView) =>
    new Decider(tailSamplingSchema.parse({ policies: policies.map((p, n) => ({ name: `p${n}`, ...p })) }).policies, () => 0).decide(trace);
  const always = { type: 'always_sample' };
  const errors = { type: 'status_code', status_code: { status_codes: ['ERROR'] } };
  const notLegacy = { type: 'string_attribute', string_attribute: { key: 'tier', values: ['legacy'], invert_match: true } };
  const dropHealth = { type: 'drop', drop: { drop_sub_policy: [{ name: 'h', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'] } }] } };

  const plain = traceOf([span()]);
  const legacy = traceOf([withAttrs(s('tier', 'legacy'))]);
  const health = traceOf([withAttrs(s('http.route', '/health'))]);

  assert.deepEqual(decide([errors], plain), { sampled: false, policy: 'none' });
  assert.deepEqual(decide([errors, always], plain), { sampled: true, policy: 'p1' });
  // Drop beats a sample vote, whatever the order of policies.
  assert.deepEqual(decide([always, dropHealth], health), { sampled: false, policy: 'p1' });
  assert.deepEqual(decide([always, dropHealth], plain), { sampled: true, policy: 'p0' });
  // "Inverted not sampled" vetoes "sampled" (the collector's deprecated invert rules).
  assert.deepEqual(decide([always, notLegacy], legacy), { sampled: false, policy: 'p1' });
  // "Inverted sampled" samples alone…
  assert.deepEqual(decide([notLegacy], plain), { sampled: true, policy: 'p0' });
  // …but not when another policy said "not sampled",
  assert.deepEqual(decide([notLegacy, errors], plain), { sampled: false, policy: 'none' });
  // and a plain "sampled" is credited before it.
  assert.deepEqual(decide([notLegacy, always], plain), { sampled: true, policy: 'p1' });
});
