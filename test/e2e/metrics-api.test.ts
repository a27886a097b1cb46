// TraceQL metrics against a running Skein: GET /api/metrics/query_range and
// GET /api/metrics/query in Tempo's shape (labels, promLabels, samples at interval ends
// with int64 timestamps as strings, exemplars), the same numbers before and after the
// head is cut into a block, the time formats Tempo accepts, and every refused parameter
// with its status and message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Span } from '../../src/otlp/model.js';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, postProtobuf, span } from '../helpers/spans.js';

const MS = 1_000_000n;
const S = 1_000_000_000n;
/** A whole minute, two to three minutes ago: the spans sit 1–15 s after it. */
const BASE_SEC = Math.floor(Date.now() / 60_000) * 60 - 180;
const BASE = BigInt(BASE_SEC) * S;

function at(offsetMs: number, durationMs: number, name: string, error = false): Span {
  const s = span({ traceId: randomBytes(16), name, startUnixNano: BASE + BigInt(offsetMs) * MS, durationNano: BigInt(durationMs) * MS });
  if (error) s.status = { code: 2, message: 'failed' };
  return s;
}

const A = [at(1000, 100, 'a1'), at(2000, 200, 'a2'), at(12000, 300, 'a3')];
const B = [at(15000, 1000, 'b1', true)];

let skein: SkeinProcess;

before(async () => {
  skein = await startSkein({ configYaml: 'query:\n  max_metrics_series: 3\n  max_search_duration: 2h\n' });
  for (const batch of [batchOf('metrics-e2e-a', A), batchOf('metrics-e2e-b', B)]) {
    assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
  }
});

after(async () => {
  await skein?.stop();
});

async function get(path: string, params: Record<string, string>): Promise<{ status: number; body: string; json: () => Record<string, unknown> }> {
  const res = await fetch(`${skein.url}${path}?${new URLSearchParams(params)}`);
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

const range = (params: Record<string, string>) => get('/api/metrics/query_range', params);
const instant = (params: Record<string, string>) => get('/api/metrics/query', params);
const window = { start: String(BASE_SEC), end: String(BASE_SEC + 60) };
const BY_SERVICE = '{ resource.service.name =~ "metrics-e2e-.*" } | rate() by (resource.service.name)';
const ts = (offsetSec: number): string => String((BASE_SEC + offsetSec) * 1000);

function withoutMetrics(body: Record<string, unknown>): unknown {
  return { ...body, metrics: undefined };
}

describe('TraceQL metrics API', () => {
  let fromHead: Record<string, unknown>;

  test('query_range: Tempo’s shape, one series per by() value, samples at the end of each step', async () => {
    const res = await range({ q: BY_SERVICE, ...window, step: '10s', exemplars: '0' });
    assert.equal(res.status, 200, res.body);
    fromHead = res.json();
    const zeros = (skip: string[]) => [0, 10, 20, 30, 40, 50, 60].map((o) => ts(o)).filter((t) => !skip.includes(t)).map((t) => ({ timestampMs: t }));
    assert.deepEqual(fromHead['series'], [
      {
        labels: [{ key: 'resource.service.name', value: { stringValue: 'metrics-e2e-a' } }],
        // (BASE, BASE+10s] holds a1 and a2: 2 spans / 10 s; (BASE+10s, BASE+20s] holds a3. Zero samples carry no value, as jsonpb writes them.
        samples: [{ timestampMs: ts(0) }, { timestampMs: ts(10), value: 0.2 }, { timestampMs: ts(20), value: 0.1 }, ...zeros([ts(0), ts(10), ts(20)])],
        promLabels: '{resource.service.name="metrics-e2e-a"}',
      },
      {
        labels: [{ key: 'resource.service.name', value: { stringValue: 'metrics-e2e-b' } }],
        samples: [{ timestampMs: ts(0) }, { timestampMs: ts(10) }, { timestampMs: ts(20), value: 0.1 }, ...zeros([ts(0), ts(10), ts(20)])],
        promLabels: '{resource.service.name="metrics-e2e-b"}',
      },
    ]);
    const metrics = fromHead['metrics'] as Record<string, unknown>;
    assert.equal(metrics['inspectedSpans'], '4');
    assert.equal(typeof metrics['inspectedBytes'], 'string');
  });

  test('query: one value per series over the whole range', async () => {
    const res = await instant({ q: '{ resource.service.name =~ "metrics-e2e-.*" } | count_over_time() by (resource.service.name)', ...window });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(res.json()['series'], [
      { labels: [{ key: 'resource.service.name', value: { stringValue: 'metrics-e2e-a' } }], promLabels: '{resource.service.name="metrics-e2e-a"}', value: 3 },
      { labels: [{ key: 'resource.service.name', value: { stringValue: 'metrics-e2e-b' } }], promLabels: '{resource.service.name="metrics-e2e-b"}', value: 1 },
    ]);
  });

  test('exemplars link samples to their traces', async () => {
    const res = await range({ q: '{ resource.service.name = "metrics-e2e-b" } | quantile_over_time(duration, .9)', ...window, step: '10s', exemplars: '5' });
    assert.equal(res.status, 200, res.body);
    const [series] = res.json()['series'] as Array<{ labels: unknown; samples: Array<{ value?: number }>; exemplars: Array<{ labels: Array<{ key: string; value: { stringValue: string } }>; value: number; timestampMs: string }> }>;
    assert.deepEqual(series!.labels, [{ key: 'p', value: { doubleValue: 0.9 } }]);
    // 1 s falls in the log2 bucket (2^29, 2^30] ns.
    assert.deepEqual(series!.samples.map((s) => s.value ?? 0), [0, 0, 2 ** 30 / 1e9, 0, 0, 0, 0]);
    assert.equal(series!.exemplars.length, 1);
    const ex = series!.exemplars[0]!;
    assert.deepEqual(ex.labels.map((l) => [l.key, l.value.stringValue]), [['trace:id', toHex(B[0]!.traceId)], ['span:id', toHex(B[0]!.spanId)]]);
    assert.equal(ex.value, 1);
    assert.equal(ex.timestampMs, String(BASE_SEC * 1000 + 15000));
  });

  test('start and end as unix nanoseconds or RFC3339 give the same answer; without step, Tempo’s default', async () => {
    const nanos = await range({ q: BY_SERVICE, start: `${BASE}`, end: `${BASE + 60n * S}`, step: '10', exemplars: '0' });
    assert.deepEqual(withoutMetrics(nanos.json()), withoutMetrics(fromHead));
    const iso = (sec: number) => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
    const rfc = await range({ q: BY_SERVICE, start: iso(BASE_SEC), end: iso(BASE_SEC + 60), step: '10s', exemplars: '0' });
    assert.deepEqual(withoutMetrics(rfc.json()), withoutMetrics(fromHead));
    // 60 s / 240 points rounds down to the 1 s minimum: 60 intervals and the aligned extra one.
    const dflt = await range({ q: BY_SERVICE, ...window });
    const samples = (dflt.json()['series'] as Array<{ samples: unknown[] }>)[0]!.samples;
    assert.equal(samples.length, 60 + 1);
  });

  test('the same series once the head is cut into a block', async () => {
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    const res = await range({ q: BY_SERVICE, ...window, step: '10s', exemplars: '0' });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(withoutMetrics(res.json()), withoutMetrics(fromHead));
    assert.ok(((res.json()['metrics'] as Record<string, number>)['totalBlocks'] ?? 0) >= 1);
  });

  test('bad parameters: each refused with its status and a message naming the problem', async () => {
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      ['/api/metrics/query_range', { ...window }, 400, /^invalid request: q is required/],
      ['/api/metrics/query', { q: '' }, 400, /^invalid request: q is required/],
      ['/api/metrics/query_range', { q: '{ status = error }', ...window }, 400, /^invalid TraceQL query: not a metrics query; end it with a metrics function such as \| rate\(\)/],
      ['/api/metrics/query_range', { q: '{ status = error | rate()', ...window }, 400, /^parse error at line 1, col \d+: /],
      ['/api/metrics/query_range', { q: BY_SERVICE, ...window, step: 'abc' }, 400, /^invalid step "abc": expected a positive duration such as 30s or 1m, or a number of seconds$/],
      ['/api/metrics/query_range', { q: BY_SERVICE, ...window, step: '0' }, 400, /^invalid step "0"/],
      ['/api/metrics/query_range', { q: BY_SERVICE, ...window, step: '1ms' }, 400, /^invalid step 1ms: 60001 points per series exceed the maximum of 11000; use a larger step or a shorter range$/],
      ['/api/metrics/query_range', { q: BY_SERVICE, start: String(BASE_SEC + 60), end: String(BASE_SEC) }, 400, /^invalid time range: end \(\d+ ns\) must be after start \(\d+ ns\)$/],
      ['/api/metrics/query', { q: BY_SERVICE, start: String(BASE_SEC), end: String(BASE_SEC) }, 400, /^invalid time range: end/],
      ['/api/metrics/query_range', { q: BY_SERVICE, start: 'yesterday' }, 400, /^invalid start "yesterday": expected unix epoch seconds/],
      ['/api/metrics/query_range', { q: BY_SERVICE, since: 'forever' }, 400, /^invalid since "forever"/],
      ['/api/metrics/query_range', { q: BY_SERVICE, ...window, exemplars: '-1' }, 400, /^invalid exemplars "-1"/],
      ['/api/metrics/query_range', { q: BY_SERVICE, start: String(BASE_SEC - 3 * 3600), end: String(BASE_SEC) }, 400, /^invalid time range: 3h between start and end exceeds query\.max_search_duration=2h$/],
      ['/api/metrics/query_range', { q: '({ } | rate()) / ({ } | count_over_time())', ...window }, 400, /^unsupported TraceQL: arithmetic between metrics queries/],
      ['/api/metrics/query_range', { q: '{ } | count_over_time() by (name)', ...window }, 422, /^the query produces more than query\.max_metrics_series=3 series/],
    ];
    for (const [path, params, status, message] of cases) {
      const res = await get(path, params);
      assert.equal(res.status, status, `${path} ${JSON.stringify(params)}: ${res.body}`);
      assert.match(res.body, message, `${path} ${JSON.stringify(params)}`);
    }
  });
});
