// The Tempo-compatible query API routes that need no search, against a running Skein.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/otlp/model.js';
import { decodeTraceByIdResponse } from '../../src/otlp/protobuf.js';
import { encodeOtlpJson } from '../../src/otlp/json.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, simpleTrace, span, str } from '../helpers/spans.js';

let skein: SkeinProcess;

before(async () => {
  skein = await startSkein({ configYaml: 'limits:\n  max_bytes_per_trace: 20KB\n' });
});
after(async () => {
  await skein.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${skein.url}${path}`, { headers });

describe('status routes', () => {
  test('/ready, /api/echo and /api/status/buildinfo answer as Tempo does', async () => {
    const ready = await get('/ready');
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready');
    const echo = await get('/api/echo');
    assert.equal(await echo.text(), 'echo');
    const info = (await (await get('/api/status/buildinfo')).json()) as Record<string, string>;
    // Under 2.2.0 Grafana keeps to HTTP search instead of gRPC streaming, which Skein does not
    // serve (docs/api.md, "Streaming search").
    assert.equal(info['version'], '2.1.0');
    for (const key of ['revision', 'branch', 'buildDate', 'buildUser', 'goVersion']) assert.ok(key in info, key);
  });

  test('/metrics exposes ingest, WAL, block and query metrics', async () => {
    const { batch } = simpleTrace(3);
    await postProtobuf(skein.otlpHttpUrl, batch);
    await get('/api/traces/0123');
    const text = await (await get('/metrics')).text();
    for (const name of [
      'skein_receiver_accepted_spans_total',
      'skein_spans_stored_total',
      'skein_wal_bytes_written_total',
      'skein_wal_fsync_duration_seconds',
      'skein_head_spans',
      'skein_blocks',
      'skein_http_request_duration_seconds',
      'process_resident_memory_bytes',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
  });

  test('a protobuf request is stored from its own bytes, a JSON one is encoded: skein_store_appends_total says which', async () => {
    const appends = async (): Promise<{ request: number; encoded: number }> => {
      const text = await (await get('/metrics')).text();
      const count = (source: string) => Number(text.match(new RegExp(`^skein_store_appends_total\\{source="${source}"\\} (\\d+)`, 'm'))?.[1] ?? 0);
      return { request: count('request'), encoded: count('encoded') };
    };
    const before = await appends();
    const proto = simpleTrace(2);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, proto.batch)).status, 200);
    const json = simpleTrace(2);
    const res = await fetch(`${skein.otlpHttpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(encodeOtlpJson(json.batch, { ids: 'hex' })),
    });
    assert.equal(res.status, 200);
    const afterBoth = await appends();
    assert.deepEqual({ request: afterBoth.request - before.request, encoded: afterBoth.encoded - before.encoded }, { request: 1, encoded: 1 });
    // Both read back whole, whichever way they were stored.
    for (const t of [proto, json]) assert.equal((await get(`/api/v2/traces/${toHex(t.traceId)}`)).status, 200);
  });

  test('POST /flush returns once the head is a durable block', async () => {
    const { traceId, batch } = simpleTrace(4);
    await postProtobuf(skein.otlpHttpUrl, batch);
    const res = await fetch(`${skein.url}/flush`, { method: 'POST' });
    assert.equal(res.status, 204);
    const metrics = await (await get('/metrics')).text();
    assert.match(metrics, /^skein_blocks\{tenant="single-tenant"\} [1-9]/m);
    assert.equal((await get(`/api/traces/${toHex(traceId)}`)).status, 200);
  });
});

describe('trace by ID', () => {
  test('unknown ID: 404; malformed ID: 400 naming it; bad start/end: 400', async () => {
    assert.equal((await get(`/api/traces/${'ab'.repeat(16)}`)).status, 404);
    assert.equal((await get(`/api/v2/traces/${'ab'.repeat(16)}`)).status, 404);
    const bad = await get('/api/traces/not-hex');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /invalid trace ID "not-hex"/);
    assert.equal((await get(`/api/traces/${'a'.repeat(33)}`)).status, 400);
    const badStart = await get(`/api/traces/${'ab'.repeat(16)}?start=yesterday`);
    assert.equal(badStart.status, 400);
    assert.match(await badStart.text(), /invalid start/);
    const reversed = await get(`/api/traces/${'ab'.repeat(16)}?start=200&end=100`);
    assert.equal(reversed.status, 400);
  });

  test('a 64-bit trace ID is found by its short form (left-padded, as Tempo does)', async () => {
    const traceId = new Uint8Array(16);
    traceId.set(newTraceId().subarray(0, 8), 8);
    await postProtobuf(skein.otlpHttpUrl, batchOf('short-ids', [span({ traceId })]));
    const short = toHex(traceId).replace(/^0+/, '');
    assert.equal((await get(`/api/traces/${short}`)).status, 200);
  });

  test('start and end narrow the search to the trace\'s time range', async () => {
    const startNs = BigInt(Date.now() - 3600_000) * 1_000_000n;
    const { traceId, batch } = simpleTrace(2, { startUnixNano: startNs });
    await postProtobuf(skein.otlpHttpUrl, batch);
    const id = toHex(traceId);
    const startSec = Number(startNs / 1_000_000_000n);
    for (const flushed of [false, true]) {
      if (flushed) await fetch(`${skein.url}/flush`, { method: 'POST' });
      assert.equal((await get(`/api/traces/${id}?start=${startSec - 60}&end=${startSec + 60}`)).status, 200);
      assert.equal((await get(`/api/traces/${id}?start=${startSec + 600}&end=${startSec + 1200}`)).status, 404, `flushed=${flushed}`);
    }
  });

  test('over max_bytes_per_trace: v1 answers 422, v2 a truncated trace marked PARTIAL (JSON and protobuf)', async () => {
    const traceId = newTraceId();
    const spans = Array.from({ length: 200 }, (_, i) => span({ traceId, name: `s${i}`, attributes: [str('blob', 'y'.repeat(200))] }));
    // Ingest refuses spans that take a trace in the head past the limit, so the trace comes in
    // parts, each in a head of its own: a trace can still outgrow the limit across blocks.
    for (let i = 0; i < spans.length; i += 50) {
      assert.equal((await postProtobuf(skein.otlpHttpUrl, batchOf('big', spans.slice(i, i + 50)))).status, 200);
      assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    }
    const id = toHex(traceId);
    const v1 = await get(`/api/traces/${id}`);
    assert.equal(v1.status, 422);
    assert.match(await v1.text(), /max size/);
    const v2 = (await (await get(`/api/v2/traces/${id}`)).json()) as { status: string; message: string; trace: { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> } };
    assert.equal(v2.status, 'PARTIAL');
    assert.match(v2.message, /max size/);
    const returned = v2.trace.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length;
    assert.ok(returned > 0 && returned < 200, `returned ${returned}`);
    const proto = decodeTraceByIdResponse(new Uint8Array(await (await get(`/api/v2/traces/${id}`, { accept: 'application/protobuf' })).arrayBuffer()));
    assert.equal(proto.partial, true);
  });

  test('tenants are isolated by X-Scope-OrgID', async () => {
    const { traceId, batch } = simpleTrace(2);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, batch, { 'X-Scope-OrgID': 'team-a' })).status, 200);
    const id = toHex(traceId);
    assert.equal((await get(`/api/traces/${id}`, { 'X-Scope-OrgID': 'team-a' })).status, 200);
    assert.equal((await get(`/api/traces/${id}`, { 'X-Scope-OrgID': 'team-b' })).status, 404);
    assert.equal((await get(`/api/traces/${id}`)).status, 404);
  });

  test('v1 JSON has Tempo\'s shape: OTLP "resourceSpans" and Tempo\'s "batches", base64 IDs, enum names, string nanos', async () => {
    const { traceId, batch } = simpleTrace(1);
    await postProtobuf(skein.otlpHttpUrl, batch);
    const body = (await (await get(`/api/traces/${toHex(traceId)}`)).json()) as {
      batches: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
      resourceSpans: unknown;
    };
    assert.deepEqual(Object.keys(body), ['resourceSpans', 'batches']);
    assert.deepStrictEqual(body.resourceSpans, body.batches);
    const s = body.batches[0]!.scopeSpans[0]!.spans[0]!;
    assert.equal(s['traceId'], Buffer.from(traceId).toString('base64'));
    assert.equal(s['kind'], 'SPAN_KIND_SERVER');
    assert.equal(typeof s['startTimeUnixNano'], 'string');
  });
});
