// GET /api/search against a running Skein: Tempo's response shape, the most recent
// matches first, limit and spss, the same answers before and after the head is cut
// into a block, and every refused parameter with its status and message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { KeyValue, ResourceSpans, Span } from '../../src/otlp/model.js';
import { toHex } from '../../src/otlp/model.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI_PATH, startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, postProtobuf, span, str } from '../helpers/spans.js';

const SERVICE = 'search-e2e';
const MS = 1_000_000n;
/** A minute ago, whole seconds: the traces start 1 s apart from here. */
const BASE = (BigInt(Date.now()) / 1000n - 60n) * 1_000_000_000n;

interface Posted {
  traceId: Uint8Array;
  start: bigint;
  spans: Span[];
}

/** Trace i: a server root of (100 + i) ms with `children` child spans, the last one an error. */
function trace(i: number, children: number, traceId: Uint8Array = randomBytes(16)): Posted {
  const start = BASE + BigInt(i) * 1_000_000_000n;
  const root = span({ traceId, name: `GET /item/${i}`, startUnixNano: start, durationNano: BigInt(100 + i) * MS, attributes: [str('http.route', '/item')] });
  const spans = [root];
  for (let c = 0; c < children; c++) {
    const child = span({ traceId, parentSpanId: root.spanId, name: `child-${c}`, startUnixNano: start + BigInt(c + 1) * MS, durationNano: 10n * MS });
    child.kind = 3;
    if (c === children - 1) child.status = { code: 2, message: 'boom' };
    spans.push(child);
  }
  return { traceId, start, spans };
}

function batch(traces: Posted[], extra: KeyValue[] = []): ResourceSpans[] {
  const b = batchOf(SERVICE, traces.flatMap((t) => t.spans));
  b[0]!.resource.attributes.push(...extra);
  return b;
}

const trimmed = (id: Uint8Array): string => toHex(id).replace(/^0+/, '');

let skein: SkeinProcess;
const traces: Posted[] = [];
const startSec = Number(BASE / 1_000_000_000n) - 5;
const endSec = Number(BASE / 1_000_000_000n) + 60;

before(async () => {
  skein = await startSkein({ configYaml: 'query:\n  max_limit: 50\n  max_spss: 10\n  max_search_duration: 2h\n' });
  // Trace 1's ID starts with zero bytes: search answers trim leading zeros as Tempo does.
  const zeroLed = new Uint8Array(16);
  zeroLed.set(randomBytes(14), 2);
  zeroLed[2] = 0x0a;
  traces.push(trace(0, 3), trace(1, 2, zeroLed), trace(2, 4), trace(3, 1));
  const res = await postProtobuf(skein.otlpHttpUrl, batch(traces));
  assert.equal(res.status, 200);
});

after(async () => {
  await skein?.stop();
});

async function search(params: Record<string, string>): Promise<{ status: number; body: string; json: () => Record<string, unknown> }> {
  const res = await fetch(`${skein.url}/api/search?${new URLSearchParams(params)}`);
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

type SearchTrace = {
  traceID: string;
  rootServiceName: string;
  rootTraceName: string;
  startTimeUnixNano: string;
  durationMs: number;
  spanSets: Array<{ spans: Array<Record<string, unknown>>; matched: number }>;
  spanSet: unknown;
  serviceStats: Record<string, { spanCount: number; errorCount?: number }>;
};

const range = { start: String(startSec), end: String(endSec) };

describe('GET /api/search', () => {
  test('answers in Tempo\'s shape, the most recent matching traces first', async () => {
    const res = await search({ q: `{ resource.service.name = "${SERVICE}" && status = error }`, ...range });
    assert.equal(res.status, 200, res.body);
    const body = res.json();
    const got = body['traces'] as SearchTrace[];
    assert.deepEqual(
      got.map((t) => t.traceID),
      [...traces].reverse().map((t) => trimmed(t.traceId)),
    );
    assert.match(got[2]!.traceID, /^a/);
    const t2 = got[1]!;
    assert.equal(t2.rootServiceName, SERVICE);
    assert.equal(t2.rootTraceName, 'GET /item/2');
    assert.equal(t2.startTimeUnixNano, traces[2]!.start.toString());
    assert.equal(t2.durationMs, 102);
    assert.deepEqual(t2.serviceStats, { [SERVICE]: { spanCount: 5, errorCount: 1 } });
    assert.equal(t2.spanSets.length, 1);
    assert.deepEqual(t2.spanSet, t2.spanSets[0]);
    const errorSpan = traces[2]!.spans[4]!;
    assert.deepEqual(t2.spanSets[0], {
      matched: 1,
      spans: [
        {
          spanID: toHex(errorSpan.spanId),
          name: 'child-3',
          startTimeUnixNano: errorSpan.startTimeUnixNano.toString(),
          durationNanos: '10000000',
          attributes: [
            { key: 'service.name', value: { stringValue: SERVICE } },
            { key: 'status', value: { stringValue: 'error' } },
          ],
        },
      ],
    });
    const metrics = body['metrics'] as Record<string, unknown>;
    assert.equal(metrics['inspectedTraces'], 4);
    assert.match(String(metrics['inspectedBytes']), /^[1-9]\d*$/);
    assert.equal(metrics['completedJobs'], 1);
  });

  test('limit keeps the newest; spss caps the spans shown while matched counts them all', async () => {
    const res = await search({ q: `{ resource.service.name = "${SERVICE}" }`, limit: '2', spss: '2', ...range });
    assert.equal(res.status, 200, res.body);
    const got = res.json()['traces'] as SearchTrace[];
    assert.deepEqual(
      got.map((t) => t.traceID),
      [traces[3]!, traces[2]!].map((t) => trimmed(t.traceId)),
    );
    assert.equal(got[1]!.spanSets[0]!.matched, 5);
    assert.equal(got[1]!.spanSets[0]!.spans.length, 2);
    assert.equal(got[0]!.spanSets[0]!.spans.length, 2);
  });

  test('legacy tags, minDuration and maxDuration narrow by trace duration', async () => {
    const res = await search({ tags: `service.name=${SERVICE.toUpperCase()} http.route=item`, minDuration: '101ms', maxDuration: '102ms', ...range });
    assert.equal(res.status, 200, res.body);
    const got = res.json()['traces'] as SearchTrace[];
    assert.deepEqual(
      got.map((t) => t.traceID),
      [traces[2]!, traces[1]!].map((t) => trimmed(t.traceId)),
    );
  });

  test('the same answers once the head is cut into a block (POST /flush), also with a time range that excludes everything', async () => {
    const q = { q: `{ resource.service.name = "${SERVICE}" } >> { status = error }`, ...range };
    const before = (await search(q)).json()['traces'] as SearchTrace[];
    assert.equal(before.length, 4);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    const afterFlush = (await search(q)).json()['traces'] as SearchTrace[];
    assert.deepEqual(afterFlush, before);
    const old = await search({ q: q.q, start: String(startSec - 3600), end: String(startSec - 1800) });
    assert.equal(old.status, 200);
    assert.deepEqual(old.json()['traces'], []);
  });

  test('a query nothing matches answers an empty list', async () => {
    const res = await search({ q: '{ span.nothing = "here" }', ...range });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json()['traces'], []);
  });

  const refusals: Array<[string, Record<string, string>, number, string | RegExp]> = [
    ['tags and q together', { q: '{}', tags: 'a=b' }, 400, "invalid request: can't specify tags and q in the same query"],
    ['limit=0', { q: '{}', limit: '0' }, 400, 'invalid limit: must be a positive number, got "0"'],
    ['a negative limit', { q: '{}', limit: '-3' }, 400, 'invalid limit: must be a positive number, got "-3"'],
    ['limit over query.max_limit', { q: '{}', limit: '51' }, 400, 'invalid limit: 51 exceeds query.max_limit=50'],
    ['spss=0', { q: '{}', spss: '0' }, 400, 'invalid spss: must be a positive number, got "0"'],
    ['spss over query.max_spss', { q: '{}', spss: '11' }, 400, 'invalid spss: 11 exceeds query.max_spss=10'],
    ['maxDuration < minDuration', { q: '{}', minDuration: '2s', maxDuration: '1s' }, 400, 'invalid maxDuration: must be greater than minDuration'],
    ['a bad minDuration', { q: '{}', minDuration: 'fast' }, 400, 'invalid minDuration "fast": expected a duration such as 100ms, 1.5s or 1m30s'],
    ['bad TraceQL', { q: '{ .a < 3' }, 400, "parse error at line 1, col 9: expected '}', found end of query"],
    ['invalid TraceQL', { q: '{ 1 = "foo" }' }, 400, /^invalid TraceQL at line 1, col 5: /],
    ['a metrics query', { q: '{} | rate()' }, 400, /^invalid TraceQL query: a metrics query .* is served by \/api\/metrics\/query_range/],
    ['a bad start', { q: '{}', start: 'yesterday', end: '1700000000' }, 400, 'invalid start "yesterday": expected unix epoch seconds'],
    ['end before start', { q: '{}', start: '1700000100', end: '1700000000' }, 400, 'invalid time range: end (1700000000) is before start (1700000100)'],
    ['a range over query.max_search_duration', { q: '{}', start: '1700000000', end: '1700010000' }, 400, 'invalid time range: 2h46m40s between start and end exceeds query.max_search_duration=2h'],
    ['unterminated tags', { tags: 'a="b' }, 400, 'invalid tags "a=\\"b": unterminated quoted value for a'],
  ];
  for (const [what, params, status, message] of refusals) {
    test(`refuses ${what}: ${status}`, async () => {
      const res = await search(params);
      assert.equal(res.status, status, res.body);
      if (typeof message === 'string') assert.equal(res.body, message);
      else assert.match(res.body, message);
    });
  }
});

describe('skein search (CLI)', () => {
  const run = promisify(execFile);
  test('prints the matching traces as a table, newest first, or the API response with --json', async () => {
    const q = `{ resource.service.name = "${SERVICE}" }`;
    const { stdout } = await run(process.execPath, [CLI_PATH, 'search', q, '--since', '1h', '--limit', '3', '--server', skein.url]);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^START\s+TRACE ID\s+ROOT SERVICE\s+ROOT NAME\s+DURATION\s+MATCHED$/);
    const ids = [traces[3]!, traces[2]!, traces[1]!].map((t) => trimmed(t.traceId));
    ids.forEach((id, i) => assert.ok(lines[i + 1]!.includes(id), `row ${i + 1} is ${id}: ${lines[i + 1]}`));
    assert.match(lines[2]!, new RegExp(`${SERVICE}\\s+GET /item/2\\s+102ms\\s+5$`));
    assert.equal(lines[lines.length - 1], '3 traces');
    const json = await run(process.execPath, [CLI_PATH, 'search', q, '--json', '--limit', '1', '--server', skein.url]);
    const parsed = JSON.parse(json.stdout) as { traces: Array<{ traceID: string }> };
    assert.deepEqual(parsed.traces.map((t) => t.traceID), [ids[0]]);
  });

  test('a bad query exits 1 with the server\'s message', async () => {
    await assert.rejects(run(process.execPath, [CLI_PATH, 'search', '{ .a < 3', '--server', skein.url]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /answered 400: parse error at line 1, col 9: expected '}', found end of query/);
      return true;
    });
  });
});

describe('query.max_bytes_inspected', () => {
  test('a search that would read more blocks than allowed is refused with 413 naming the limit', async () => {
    const small = await startSkein({ configYaml: 'query:\n  max_bytes_inspected: 1KB\n' });
    try {
      await postProtobuf(small.otlpHttpUrl, batch([trace(0, 50)]));
      const inHead = await fetch(`${small.url}/api/search?q=${encodeURIComponent('{ status = error }')}`);
      assert.equal(inHead.status, 413, 'the head alone holds more than 1KB of this trace');
      assert.match(await inHead.text(), /query\.max_bytes_inspected=1000/);
      await fetch(`${small.url}/flush`, { method: 'POST' });
      const res = await fetch(`${small.url}/api/search?q=${encodeURIComponent('{ status = error }')}`);
      assert.equal(res.status, 413);
      assert.match(await res.text(), /^search would inspect \d+ bytes of blocks, over query\.max_bytes_inspected=1000; narrow the time range$/);
    } finally {
      await small.stop();
    }
  });
});
