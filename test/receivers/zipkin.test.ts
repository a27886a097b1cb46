// The Zipkin receiver's HTTP contract, with a real Ingester in front of a
// consumer that records what reached it (or fails as the store can).
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { deflateSync, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { createZipkinReceiver } from '../../src/receivers/zipkin.js';
import { Ingester } from '../../src/receivers/ingest.js';
import type { TracesConsumer } from '../../src/pipeline/consumer.js';
import { countSpans, toHex, type ResourceSpans } from '../../src/otlp/model.js';
import { OverloadError } from '../../src/lib/errors.js';
import { WalWriteError } from '../../src/lib/wal/wal.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { registry } from '../../src/telemetry/metrics.js';
import { OPEN_AUTHENTICATOR } from '../../src/auth/index.js';

const MAX_REQUEST_BYTES = 64 * 1024;
const RETRY_AFTER_SECONDS = 3;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/** What the consumer does with the next batch: keep it, or fail like the store. */
let failWith: Error | undefined;
const received: Array<{ tenant: string; batch: ResourceSpans[] }> = [];
const consumer: TracesConsumer = {
  async consume(tenant, batch) {
    if (failWith) throw failWith;
    received.push({ tenant, batch });
  },
};

const logLines: Array<Record<string, unknown>> = [];
const logger = createLogger(
  'info',
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }),
);

const ingester = new Ingester({
  consumer,
  limits: {
    maxAttributeValueLength: 1024,
    maxAttributesPerSpan: 64,
    maxEventsPerSpan: 64,
    maxSpanEndAheadMs: 0,
    maxRequestBytes: MAX_REQUEST_BYTES,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  },
  logger,
});
const app: FastifyInstance = createZipkinReceiver({ ingester, logger, authenticator: OPEN_AUTHENTICATOR });

after(() => app.close());

beforeEach(() => {
  failWith = undefined;
  received.length = 0;
  logLines.length = 0;
});

function spans(n = 1, extra: Record<string, unknown> = {}): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    traceId: TRACE_ID,
    id: (i + 1).toString(16).padStart(16, '0'),
    name: `op-${i}`,
    timestamp: 1_700_000_000_000_000 + i,
    duration: 10,
    localEndpoint: { serviceName: 'svc' },
    ...extra,
  }));
}

function post(body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, url = '/api/v2/spans') {
  return app.inject({ method: 'POST', url, headers, payload: body });
}

async function refusedRequests(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('skein_receiver_refused_requests_total')!.get();
  return metric.values.find((v) => v.labels['transport'] === 'zipkin' && v.labels['reason'] === reason)?.value ?? 0;
}

describe('Zipkin receiver: POST /api/v2/spans', () => {
  test('JSON spans: 202 Accepted with an empty body, spans handed on under the default tenant', async () => {
    const res = await post(JSON.stringify(spans(3)));
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    assert.equal(received.length, 1);
    assert.equal(received[0]!.tenant, 'single-tenant');
    assert.equal(countSpans(received[0]!.batch), 3);
    assert.equal(toHex(received[0]!.batch[0]!.scopeSpans[0]!.spans[0]!.traceId), TRACE_ID);
  });

  test('X-Scope-OrgID picks the tenant; an invalid one is a 400', async () => {
    assert.equal((await post(JSON.stringify(spans()), { 'content-type': 'application/json', 'x-scope-orgid': 'acme' })).statusCode, 202);
    assert.equal(received[0]!.tenant, 'acme');
    const bad = await post(JSON.stringify(spans()), { 'content-type': 'application/json', 'x-scope-orgid': '../etc' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /X-Scope-OrgID: invalid tenant ID/);
  });

  test('Content-Type with parameters, or none at all, is read as JSON', async () => {
    assert.equal((await post(JSON.stringify(spans()), { 'content-type': 'application/json; charset=utf-8' })).statusCode, 202);
    assert.equal((await post(JSON.stringify(spans()), {})).statusCode, 202);
    assert.equal(received.length, 2);
  });

  test('protobuf bodies (application/x-protobuf) are accepted', async () => {
    // ListOfSpans { spans { trace_id, id } } written by hand: field 1 (LEN) holding fields 1 and 3 (LEN).
    const span = Buffer.concat([Buffer.from([0x0a, 16]), Buffer.from(TRACE_ID, 'hex'), Buffer.from([0x1a, 8]), Buffer.from('00f067aa0ba902b7', 'hex')]);
    const body = Buffer.concat([Buffer.from([0x0a, span.length]), span]);
    const res = await post(body, { 'content-type': 'application/x-protobuf' });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(toHex(received[0]!.batch[0]!.scopeSpans[0]!.spans[0]!.spanId), '00f067aa0ba902b7');
  });

  test('an unsupported Content-Type is a 415 naming what is accepted', async () => {
    const res = await post(JSON.stringify(spans()), { 'content-type': 'application/x-thrift' });
    assert.equal(res.statusCode, 415);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    assert.match(res.body, /unsupported Content-Type "application\/x-thrift": use application\/json/);
    assert.equal(received.length, 0);
  });

  test('gzip and deflate bodies are decompressed; another encoding is a 415', async () => {
    const json = JSON.stringify(spans(2));
    assert.equal((await post(gzipSync(json), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).statusCode, 202);
    assert.equal((await post(deflateSync(json), { 'content-type': 'application/json', 'content-encoding': 'deflate' })).statusCode, 202);
    assert.deepStrictEqual(received.map((r) => countSpans(r.batch)), [2, 2]);
    const br = await post(json, { 'content-type': 'application/json', 'content-encoding': 'br' });
    assert.equal(br.statusCode, 415);
    assert.match(br.body, /unsupported Content-Encoding "br"/);
  });

  test('malformed input is a 400 naming the problem and where; nothing is handed on', async () => {
    const before = await refusedRequests('malformed');
    const res = await post(JSON.stringify([...spans(3), { traceId: 'abc', id: '00f067aa0ba902b7' }]));
    assert.equal(res.statusCode, 400);
    assert.equal(res.body, '[3].traceId: expected 16 or 32 hex characters, got "abc"');
    assert.equal(received.length, 0);
    assert.equal(await refusedRequests('malformed'), before + 1);

    const corrupt = await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(corrupt.statusCode, 400);
    assert.match(corrupt.body, /^invalid gzip body/);
  });

  test('over limits.max_request_bytes, before or after decompression: 413', async () => {
    const big = JSON.stringify(spans(1, { name: 'x'.repeat(MAX_REQUEST_BYTES) }));
    const raw = await post(big);
    assert.equal(raw.statusCode, 413);
    assert.match(raw.body, /exceeds limits\.max_request_bytes \(65536 bytes\) before decompression/);
    const bomb = await post(gzipSync(big), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(bomb.statusCode, 413);
    assert.match(bomb.body, /after decompression/);
    assert.equal(received.length, 0);
  });

  test('some spans invalid: Zipkin has no partial success, so 202, the valid spans kept and the refusal logged', async () => {
    const body = [...spans(2), { traceId: '0'.repeat(32), id: '00000000000000ff', timestamp: 1_700_000_000_000_000 }];
    const res = await post(JSON.stringify(body));
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    assert.equal(countSpans(received[0]!.batch), 2);
    const warning = logLines.find((l) => l['level'] === 'warn');
    assert.ok(warning, 'a warning is logged');
    assert.equal(warning['component'], 'zipkin');
    assert.equal(warning['rejectedSpans'], 1);
    assert.equal(warning['acceptedSpans'], 2);
    assert.match(String(warning['errorMessage']), /1 span rejected: span 00000000000000ff of trace 0{32}: trace_id is all zeros/);
  });

  test('overloaded: 429 with Retry-After', async () => {
    failWith = new OverloadError('ingest is ahead of block writing', 7);
    const res = await post(JSON.stringify(spans()));
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal(res.body, 'ingest is ahead of block writing');
  });

  test('storage cannot write: 503 with Retry-After', async () => {
    failWith = new WalWriteError('no space left on device', 'ENOSPC');
    const res = await post(JSON.stringify(spans()));
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], String(RETRY_AFTER_SECONDS));
    assert.match(res.body, /storage is full/);
  });
});

describe('Zipkin receiver: other routes', () => {
  test('Zipkin v1 is refused with a message pointing to v2', async () => {
    const res = await post('[]', { 'content-type': 'application/json' }, '/api/v1/spans');
    assert.equal(res.statusCode, 404);
    assert.equal(res.body, 'Zipkin v1 is not supported: send Zipkin v2 spans to POST /api/v2/spans');
  });
});
