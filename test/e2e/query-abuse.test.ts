// Queries built to hurt, against a running Skein: a catastrophic-backtracking regex over
// spans still in the head answers correctly while OTLP ingest and /ready keep answering
// (the regex engine is RE2, linear time); regexes RE2 refuses are a 400 naming the
// problem in search, metrics and tag values, and a configuration error in redaction;
// TraceQL nested thousands deep is a 400 naming the depth limit on every endpoint that
// takes a query, while a query at the limit still runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Span } from '../../src/otlp/model.js';
import { toHex } from '../../src/otlp/model.js';
import { MAX_TRACEQL_DEPTH } from '../../src/query/traceql/parser.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, postProtobuf, span, str } from '../helpers/spans.js';

/** Long enough that a backtracking engine would run for longer than the universe has existed. */
const EVIL_LENGTH = 5000;
/** Fails the test instead of hanging the suite when the server stalls (the bug being tested). */
const STALL_TIMEOUT = { timeout: 60_000 };

const nowSec = Math.floor(Date.now() / 1000);
const range = `start=${nowSec - 600}&end=${nowSec + 600}`;
const enc = encodeURIComponent;

let skein: SkeinProcess;
let matching: Uint8Array;

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${skein.url}${path}`);
  return { status: res.status, body: await res.text() };
}

function spanWithX(traceId: Uint8Array, x: string): Span {
  return span({ traceId, name: 'evil', attributes: [str('x', x)] });
}

before(async () => {
  skein = await startSkein();
  matching = randomBytes(16);
  const spans = [spanWithX(matching, 'a'.repeat(EVIL_LENGTH))];
  // The values that make a backtracking engine try every way to split the run of a's.
  for (let i = 0; i < 20; i++) spans.push(spanWithX(randomBytes(16), `${'a'.repeat(EVIL_LENGTH)}!`));
  const res = await postProtobuf(skein.otlpHttpUrl, batchOf('regex-e2e', spans));
  assert.equal(res.status, 200);
});

// A stalled process does not answer SIGTERM; this is cleanup, not a shutdown test.
after(() => skein?.kill());

describe('a catastrophic-backtracking regex over head spans', () => {
  test('search answers with the one match while ingest and /ready keep answering', STALL_TIMEOUT, async () => {
    const search = get(`/api/search?q=${enc('{ span.x =~ "(a+)+$" }')}&${range}&limit=50`);
    const ingest = postProtobuf(skein.otlpHttpUrl, batchOf('regex-e2e-during', [spanWithX(randomBytes(16), 'b')]));
    const ready = fetch(`${skein.url}/ready`);
    const [s, i, r] = await Promise.all([search, ingest, ready]);
    assert.equal(i.status, 200, 'the ingest request sent while the search ran is acknowledged');
    assert.equal(r.status, 200, '/ready answers while the search runs');
    assert.equal(s.status, 200, s.body);
    const ids = (JSON.parse(s.body) as { traces: Array<{ traceID: string }> }).traces.map((t) => t.traceID);
    assert.deepEqual(ids, [toHex(matching).replace(/^0+/, '')]);
  });

  test('tag values narrowed by the same regex give only the matching value', STALL_TIMEOUT, async () => {
    const values = get(`/api/v2/search/tag/span.x/values?q=${enc('{ span.x =~ "(a+)+$" }')}&${range}`);
    const ready = fetch(`${skein.url}/ready`);
    const [v, r] = await Promise.all([values, ready]);
    assert.equal(r.status, 200);
    assert.equal(v.status, 200, v.body);
    assert.deepEqual((JSON.parse(v.body) as { tagValues: unknown[] }).tagValues, [{ type: 'string', value: 'a'.repeat(EVIL_LENGTH) }]);
  });

  test('a metrics query with the regex counts the one matching span', STALL_TIMEOUT, async () => {
    const res = await get(`/api/metrics/query?q=${enc('{ span.x =~ "(a+)+$" } | count_over_time()')}&${range}`);
    assert.equal(res.status, 200, res.body);
    const series = (JSON.parse(res.body) as { series: Array<{ value?: number }> }).series;
    assert.deepEqual(series.map((s) => s.value), [1]);
  });
});

describe('a redaction pattern that backtracks catastrophically in JavaScript', () => {
  test('masks in linear time: the span is acknowledged, stored and read back masked', STALL_TIMEOUT, async () => {
    const redacting = await startSkein({ configYaml: 'processors:\n  redaction:\n    blocked_values: ["(a+)+$"]\n' });
    try {
      const traceId = randomBytes(16);
      const kept = `${'a'.repeat(EVIL_LENGTH)}!`;
      const res = await postProtobuf(
        redacting.otlpHttpUrl,
        batchOf('redaction-e2e', [span({ traceId, name: 'evil', attributes: [str('kept', kept), str('masked', `id ${'a'.repeat(EVIL_LENGTH)}`)] })]),
      );
      assert.equal(res.status, 200);
      assert.equal((await fetch(`${redacting.url}/ready`)).status, 200);
      const trace = (await (await fetch(`${redacting.url}/api/traces/${toHex(traceId)}`)).json()) as {
        batches: Array<{ scopeSpans: Array<{ spans: Array<{ attributes: Array<{ key: string; value: { stringValue?: string } }> }> }> }>;
      };
      const attrs = trace.batches[0]!.scopeSpans[0]!.spans[0]!.attributes;
      const value = (key: string) => attrs.find((a) => a.key === key)?.value.stringValue;
      assert.equal(value('kept'), kept, 'no match: the value ends in "!"');
      assert.equal(value('masked'), 'id ****');
    } finally {
      await redacting.kill();
    }
  });
});

describe('regexes RE2 refuses', () => {
  const cases = [
    { pattern: '(a)\\1', problem: /invalid escape sequence: `\\1` \(RE2 has no backreferences\)/ },
    { pattern: 'a(?=b)', problem: /`\(\?=` \(RE2 has no lookahead or lookbehind\)/ },
    { pattern: '(?<!a)b', problem: /RE2 has no lookahead or lookbehind/ },
  ];
  const filter = (pattern: string) => `{ span.x =~ ${JSON.stringify(pattern)} }`;

  test('search answers 400 naming the pattern and the problem', async () => {
    for (const { pattern, problem } of cases) {
      const res = await get(`/api/search?q=${enc(filter(pattern))}&${range}`);
      assert.equal(res.status, 400, `${pattern}: ${res.body}`);
      assert.ok(res.body.includes(`invalid regular expression ${JSON.stringify(pattern)}`), res.body);
      assert.match(res.body, problem);
    }
  });

  test('the metrics endpoint answers 400 too', async () => {
    for (const { pattern, problem } of cases) {
      const res = await get(`/api/metrics/query_range?q=${enc(`${filter(pattern)} | rate()`)}&${range}&step=60s`);
      assert.equal(res.status, 400, `${pattern}: ${res.body}`);
      assert.match(res.body, problem);
    }
  });

  test('tag values and tag names answer 400 for such a q (blocks would fail on it in DuckDB)', async () => {
    for (const { pattern, problem } of cases) {
      for (const path of ['/api/v2/search/tag/span.x/values', '/api/v2/search/tags']) {
        const res = await get(`${path}?q=${enc(filter(pattern))}&${range}`);
        assert.equal(res.status, 400, `${path} ${pattern}: ${res.body}`);
        assert.match(res.body, /^invalid q: /);
        assert.match(res.body, problem);
      }
    }
    // A query still being typed narrows nothing, as before.
    const typing = await get(`/api/v2/search/tag/span.x/values?q=${enc('{ span.x =~ ')}&${range}`);
    assert.equal(typing.status, 200, typing.body);
  });

  test('a redaction pattern RE2 refuses stops Skein at start-up, naming the key and the pattern', async () => {
    const configYaml = 'processors:\n  redaction:\n    blocked_values: ["ok", "(a)\\\\1"]\n';
    await assert.rejects(startSkein({ configYaml }), (err: Error) => {
      // The message quotes the log lines as JSON, so the pattern's backslash is doubled there.
      assert.match(err.message, /processors\.redaction\.blocked_values\.1: invalid pattern .*\(a\).*1.*: invalid escape sequence/);
      assert.match(err.message, /RE2 has no backreferences/);
      return true;
    });
  });
});

describe('TraceQL nested past the depth limit', () => {
  const N = 7000;
  const nested: Record<string, string> = {
    'parenthesised field expression': `{ ${'('.repeat(N)}true${')'.repeat(N)} }`,
    'parenthesised spanset expression': `${'('.repeat(N)}{ }${')'.repeat(N)}`,
    'unary operators': `{ ${'!'.repeat(N)}true }`,
  };
  // Chains are as deep as they are long; fewer links keep the URL under 16 KiB.
  const chain = (n: number, link: string, sep: string) => Array(n).fill(link).join(sep);
  const chains: Record<string, string> = {
    'right-associative power': `{ span.n = ${chain(MAX_TRACEQL_DEPTH + 10, '2', '^')} }`,
    'chained conditions': `{ ${chain(MAX_TRACEQL_DEPTH + 10, '.a', '&&')} }`,
    'chained spansets': chain(MAX_TRACEQL_DEPTH + 10, '{}', '&&'),
    'pipeline of nested stages': `{} | ${chain(3, `${'('.repeat(MAX_TRACEQL_DEPTH)}{}${')'.repeat(MAX_TRACEQL_DEPTH)}`, '|')}`,
  };
  const tooDeep = /nests deeper than \d+ levels/;

  for (const [name, q] of Object.entries({ ...nested, ...chains })) {
    test(`${name}: 400 naming the limit on search, metrics and tag endpoints`, async () => {
      const search = await get(`/api/search?q=${enc(q)}&${range}`);
      assert.equal(search.status, 400, search.body.slice(0, 300));
      assert.match(search.body, tooDeep);
      assert.ok(search.body.includes(String(MAX_TRACEQL_DEPTH)), search.body);
      const metrics = await get(`/api/metrics/query_range?q=${enc(`${q} | rate()`)}&${range}&step=60s`);
      assert.equal(metrics.status, 400, metrics.body.slice(0, 300));
      assert.match(metrics.body, tooDeep);
      const values = await get(`/api/v2/search/tag/span.x/values?q=${enc(q)}&${range}`);
      assert.equal(values.status, 400, values.body.slice(0, 300));
      assert.match(values.body, tooDeep);
    });
  }

  test('queries just inside the limit run everywhere', async () => {
    const d = MAX_TRACEQL_DEPTH - 10;
    const deep = [
      `{ ${'('.repeat(d - 4)}span.x = "b"${')'.repeat(d - 4)} }`,
      `{ ${chain(Math.floor(d / 2), '.x="b"', '||')} }`,
      `{ ${chain(d - 4, '.x', '&&')} }`,
      chain(d - 4, '{}', '||'),
      `{ ${'!'.repeat(d - 4)}true }`,
      `{ span.n = ${chain(d - 4, '1', '+')} }`,
    ];
    for (const q of deep) {
      const search = await get(`/api/search?q=${enc(q)}&${range}`);
      assert.equal(search.status, 200, `${q.slice(0, 60)}…: ${search.body.slice(0, 300)}`);
      const metrics = await get(`/api/metrics/query_range?q=${enc(`${q} | rate()`)}&${range}&step=60s`);
      assert.equal(metrics.status, 200, `${q.slice(0, 60)}…: ${metrics.body.slice(0, 300)}`);
      const values = await get(`/api/v2/search/tag/span.x/values?q=${enc(q)}&${range}`);
      assert.equal(values.status, 200, `${q.slice(0, 60)}…: ${values.body.slice(0, 300)}`);
    }
  });
});
