// Queries under load against a running Skein: a long search over the head leaves OTLP
// ingest and /ready answered while it runs, query.timeout stops an evaluation in the
// middle of its work, and query.max_concurrent_queries / max_queued_queries refuse a
// burst beyond them with a retryable 429 naming the key while the rest get their answer.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { toHex } from '../../src/otlp/model.js';
import type { ResourceSpans } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { waitFor } from '../helpers/poll.js';
import { batchOf, newTraceId, postProtobuf, span } from '../helpers/spans.js';

const MS = 1_000_000n;
/** A minute ago: every trace is inside the default search range. */
const BASE = (BigInt(Date.now()) - 60_000n) * MS;

/** Keeps everything in the head for the whole test: head spans are evaluated in JS. */
const HEAD_ONLY = 'storage:\n  block:\n    max_head_bytes: 1GiB\n    max_head_duration: 1h\n';

/** `count` traces of one root and `fanout` children each, for `service`; returns their IDs (hex). */
async function ingestTraces(skein: SkeinProcess, service: string, count: number, fanout: number): Promise<string[]> {
  const ids: string[] = [];
  let pending: ResourceSpans[] = [];
  let pendingSpans = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const res = await postProtobuf(skein.otlpHttpUrl, pending);
    assert.equal(res.status, 200, await res.text());
    pending = [];
    pendingSpans = 0;
  };
  for (let t = 0; t < count; t++) {
    const traceId = newTraceId();
    ids.push(toHex(traceId));
    const start = BASE + BigInt(t) * MS;
    const root = span({ traceId, name: 'root', startUnixNano: start, durationNano: 500n * MS });
    const spans = [root];
    for (let c = 0; c < fanout; c++) spans.push(span({ traceId, parentSpanId: root.spanId, name: `child-${c % 7}`, startUnixNano: start + BigInt(c) * 1000n }));
    pending.push(...batchOf(service, spans));
    pendingSpans += spans.length;
    if (pendingSpans >= 4000) await flush();
  }
  await flush();
  return ids;
}

/** GET that resolves once the request is on the wire, with the answer to come. */
function startGet(url: string): Promise<{ answer: Promise<{ status: number; body: string }> }> {
  return new Promise((sent, fail) => {
    const req = http.get(url, { agent: false });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    req.on('finish', () => sent({ answer }));
    req.on('error', fail);
  });
}

function searchUrl(skein: SkeinProcess, q: string, limit = 20): string {
  return `${skein.url}/api/search?${new URLSearchParams({ q, limit: String(limit) })}`;
}

/** Every span but the root (a leaf) asks "is any span my descendant?" of every span: quadratic work per trace, and no trace matches. */
const SLOW_NO_MATCH = '{ } << { } | count() > 1000000';

const servers: SkeinProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** The value of an unlabelled metric of the server's /metrics. */
async function metric(skein: SkeinProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${skein.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('a long query never stalls ingestion', () => {
  let skein: SkeinProcess;
  test('while a search evaluates a large head, OTLP ingest and /ready are answered before it', async () => {
    skein = await startSkein({ configYaml: `${HEAD_ONLY}query:\n  max_concurrent_queries: 1\n` });
    servers.push(skein);
    await ingestTraces(skein, 'bulk', 300, 400);

    const order: string[] = [];
    const search = await startGet(searchUrl(skein, SLOW_NO_MATCH));
    const searchDone = search.answer.then((r) => {
      order.push('search');
      return r;
    });
    const traceId = newTraceId();
    const ingest = postProtobuf(skein.otlpHttpUrl, batchOf('late', [span({ traceId, name: 'late' })])).then(async (res) => {
      order.push('ingest');
      return { status: res.status, body: await res.text() };
    });
    const ready = fetch(`${skein.url}/ready`).then((res) => {
      order.push('ready');
      return res.status;
    });
    const [s, i, r] = await Promise.all([searchDone, ingest, ready]);
    assert.equal(s.status, 200, s.body);
    assert.deepEqual((JSON.parse(s.body) as { traces: unknown[] }).traces, []);
    assert.equal(i.status, 200, i.body);
    assert.equal(r, 200);
    assert.equal(order.at(-1), 'search', `ingest and /ready must be answered while the search runs; answers came in the order ${order.join(', ')}`);
  });

  test('a queued search whose client goes away leaves the queue while the running one goes on', async () => {
    let answered = false;
    const running = await startGet(searchUrl(skein, SLOW_NO_MATCH));
    const done = running.answer.then((r) => {
      answered = true;
      return r;
    });
    const gone = new AbortController();
    const queued = fetch(searchUrl(skein, SLOW_NO_MATCH), { signal: gone.signal }).catch((err: unknown) => err);
    await waitFor('the second search to wait in the queue', async () => (await metric(skein, 'skein_queries_queued')) === 1);
    gone.abort();
    await waitFor('the abandoned search to leave the queue', async () => (await metric(skein, 'skein_queries_queued')) === 0);
    assert.equal(answered, false, 'the abandoned search left the queue only once the running one had finished');
    assert.equal((await done).status, 200);
    await queued;
  });
});

describe('query.timeout', () => {
  test('a search whose evaluation outlasts query.timeout ends with the timeout error instead of its answer', async () => {
    const skein = await startSkein({ configYaml: `${HEAD_ONLY}query:\n  timeout: 100ms\n` });
    servers.push(skein);
    // Few traces, each one a lot of work: the whole evaluation is one batch of candidates.
    await ingestTraces(skein, 'wide', 8, 3000);
    const res = await fetch(searchUrl(skein, '{ } << { }', 1));
    const body = await res.text();
    assert.equal(res.status, 429, `expected the timeout refusal, got ${res.status}: ${body.slice(0, 300)}`);
    assert.match(body, /search exceeded query\.timeout=100ms/);
  });
});

describe('query admission', () => {
  test('with max_concurrent_queries=1 and max_queued_queries=1 a burst gets retryable 429s naming the key, and the rest their answer', async () => {
    const skein = await startSkein({ configYaml: `${HEAD_ONLY}query:\n  max_concurrent_queries: 1\n  max_queued_queries: 1\n` });
    servers.push(skein);
    const ids = await ingestTraces(skein, 'burst', 10, 1500);
    const expected = ids.map((id) => id.replace(/^0+/, '')).sort();

    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await fetch(searchUrl(skein, '{ } << { }', 20));
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
      }),
    );
    const refused = answers.filter((a) => a.status === 429);
    const ok = answers.filter((a) => a.status === 200);
    assert.ok(refused.length >= 1, `expected some 429s, got ${answers.map((a) => a.status).join(', ')}`);
    assert.ok(ok.length >= 2, `the running and the queued search must be answered, got ${answers.map((a) => a.status).join(', ')}`);
    assert.equal(refused.length + ok.length, answers.length, answers.map((a) => `${a.status} ${a.body.slice(0, 200)}`).join('\n'));
    for (const r of refused) {
      assert.match(r.retryAfter ?? '', /^\d+$/);
      assert.match(r.body, /query\.max_queued_queries=1/);
      assert.match(r.body, /query\.max_concurrent_queries=1/);
    }
    for (const a of ok) {
      const traces = (JSON.parse(a.body) as { traces: Array<{ traceID: string }> }).traces;
      assert.deepEqual(traces.map((t) => t.traceID).sort(), expected);
    }
    const metrics = await (await fetch(`${skein.url}/metrics`)).text();
    const refusedMetric = /^skein_queries_refused_total(?:\{[^}]*\})? (\d+)/m.exec(metrics);
    assert.ok(refusedMetric, 'skein_queries_refused_total is exported');
    assert.equal(Number(refusedMetric[1]), refused.length);
  });
});
