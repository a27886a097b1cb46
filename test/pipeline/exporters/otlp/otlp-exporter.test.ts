// The otlp exporter against real peers: a downstream Skein (started as a
// child process, stopped and restarted on the same port and data dir to play
// an outage), and tiny HTTP and gRPC servers that answer as a test needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttp2Server } from 'node:http2';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { status as GrpcCode } from '@grpc/grpc-js';
import { fromHex, type ResourceSpans } from '../../../../src/otlp/model.js';
import { encodeExportTraceServiceResponse, encodeRetryableStatus, encodeRpcStatus } from '../../../../src/otlp/protobuf.js';
import { otlpHttpExporterFactory, persistentQueueDir } from '../../../../src/pipeline/exporters/otlp/index.js';
import { OverloadError } from '../../../../src/lib/errors.js';
import { startSkein, tempDir as skeinDataDir, type SkeinProcess } from '../../../helpers/skein-process.js';
import { simpleTrace } from '../../../helpers/spans.js';
import {
  FAST_RETRY,
  type Answer,
  RecordingGrpcServer,
  RecordingHttpServer,
  fetchTrace,
  metricValue,
  spanIds,
  startExporter,
  tempDir,
  uniqueName,
  waitFor,
} from './helpers.js';

/** A loopback port nothing listens on (bound and released). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function batches(n: number, spansEach: number): Array<{ traceId: Uint8Array; batch: ResourceSpans[] }> {
  return Array.from({ length: n }, () => simpleTrace(spansEach));
}

async function assertDelivered(skein: SkeinProcess, sent: Array<{ traceId: Uint8Array; batch: ResourceSpans[]; tenant?: string }>): Promise<void> {
  for (const { traceId, batch, tenant } of sent) {
    const got = await fetchTrace(skein, traceId, tenant);
    assert.ok(got, 'a trace the exporter accepted is missing downstream');
    assert.deepEqual(spanIds(got), spanIds(batch));
  }
}

const segmentsIn = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.wal'));

describe('to a running Skein', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein();
  });
  after(async () => {
    await skein.stop();
  });

  for (const protocol of ['grpc', 'http/protobuf', 'http/json'] as const) {
    test(`${protocol}, gzip: every span of every batch arrives, under the batch’s tenant`, async () => {
      const endpoint = protocol === 'grpc' ? `http://${skein.grpcAddr}` : skein.otlpHttpUrl;
      const { exporter, name } = await startExporter({ endpoint, protocol, compression: 'gzip', retry_on_failure: FAST_RETRY });
      const sent = batches(30, 5).map((b, i) => ({ ...b, tenant: i % 2 === 0 ? 'team-a' : 'team-b' }));
      await Promise.all(sent.map(({ tenant, batch }) => exporter.consume(tenant, batch)));
      await waitFor('every span sent', async () => (await metricValue('sentSpans', { exporter: name })) === 150);
      await exporter.shutdown();
      await assertDelivered(skein, sent);
      assert.equal(await fetchTrace(skein, sent[0]!.traceId, 'team-b'), undefined, 'a tenant’s spans stay with that tenant');
      assert.equal(await metricValue('failedSpans', { exporter: name }), 0);
    });
  }

  test('otlphttp (the collector’s type name) with JSON bodies and no compression', async () => {
    const { exporter, name } = await startExporter({ endpoint: skein.otlpHttpUrl, encoding: 'json', compression: 'none' }, { type: 'otlphttp' });
    const sent = batches(3, 2);
    for (const { batch } of sent) await exporter.consume('single-tenant', batch);
    await waitFor('sent', async () => (await metricValue('sentSpans', { exporter: name })) === 6);
    await exporter.shutdown();
    await assertDelivered(skein, sent);
  });
});

test('downstream down: the queue fills and refuses further batches as overload; back up: it drains and nothing is lost', async () => {
  const dataDir = skeinDataDir();
  let skein = await startSkein({ dataDir });
  const grpcAddr = skein.grpcAddr;
  await skein.stop();

  const { exporter, name } = await startExporter({
    endpoint: `http://${grpcAddr}`,
    timeout: '1s',
    retry_on_failure: FAST_RETRY,
    sending_queue: { queue_size: 6, num_consumers: 2 },
  });
  const accepted = batches(6, 3);
  for (const { batch } of accepted) await exporter.consume('single-tenant', batch);
  const refused = simpleTrace(3);
  await assert.rejects(exporter.consume('single-tenant', refused.batch), (err: unknown) => {
    assert.ok(err instanceof OverloadError);
    assert.match(err.message, /sending queue is full \(6 batches\)/);
    assert.ok(err.retryAfterSeconds >= 1);
    return true;
  });
  assert.equal(await metricValue('enqueueFailedSpans', { exporter: name }), 3);
  await waitFor('retries while the downstream is down', async () => (await metricValue('retries', { exporter: name })) >= 4);
  assert.equal(await metricValue('sentSpans', { exporter: name }), 0);

  skein = await startSkein({ dataDir, env: { SKEIN_OTLP_GRPC_ADDR: grpcAddr } });
  try {
    await waitFor('the queue to drain', async () => (await metricValue('sentSpans', { exporter: name })) === 18);
    await assertDelivered(skein, accepted);
    // With room again, the refused batch is taken now (the sender retried, as told).
    await exporter.consume('single-tenant', refused.batch);
    await exporter.shutdown();
    await assertDelivered(skein, [refused]);
    assert.equal(await metricValue('failedSpans', { exporter: name }), 0);
  } finally {
    await skein.stop();
  }
});

test('persistent queue: an exporter killed while the downstream is down loses nothing; the next one on the data dir delivers it all', async () => {
  const downstreamDir = skeinDataDir();
  let skein = await startSkein({ dataDir: downstreamDir });
  const grpcAddr = skein.grpcAddr;
  await skein.stop();

  const dataDir = tempDir();
  const name = uniqueName();
  const childPath = join(dirname(fileURLToPath(import.meta.url)), 'crash-child.js');
  const child = spawn(process.execPath, [childPath, `http://${grpcAddr}`, dataDir, name, '25'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const acknowledged: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'done') break;
    acknowledged.push(line);
  }
  child.kill('SIGKILL');
  await exited;
  assert.equal(acknowledged.length, 25);
  assert.ok(segmentsIn(persistentQueueDir(dataDir, name)).length > 0);

  skein = await startSkein({ dataDir: downstreamDir, env: { SKEIN_OTLP_GRPC_ADDR: grpcAddr } });
  try {
    const { exporter } = await startExporter({ endpoint: `http://${grpcAddr}`, retry_on_failure: FAST_RETRY, sending_queue: { persistent: true } }, { name, dataDir });
    await waitFor('the replayed batches to be sent', async () => (await metricValue('sentSpans', { exporter: name })) === 100);
    for (const hex of acknowledged) {
      const got = await fetchTrace(skein, fromHex(hex)!, 'team-a');
      assert.equal(got && spanIds(got).length, 4, `trace ${hex} lost`);
    }
    await exporter.shutdown();
    assert.ok(segmentsIn(persistentQueueDir(dataDir, name)).length <= 1, 'delivered segments are removed');
  } finally {
    await skein.stop();
  }
});

test('shutdown with the downstream down: bounded by timeout; the persistent queue keeps the rest, the memory queue counts it lost', async () => {
  const endpoint = `http://127.0.0.1:${await unusedPort()}`;
  const dataDir = tempDir();
  const name = uniqueName();
  const config = { endpoint, protocol: 'http/protobuf', timeout: '300ms', retry_on_failure: FAST_RETRY };

  const memory = await startExporter(config);
  for (const { batch } of batches(3, 2)) await memory.exporter.consume('t', batch);
  let started = Date.now();
  await memory.exporter.shutdown();
  assert.ok(Date.now() - started < 2000, `shutdown took ${Date.now() - started} ms`);
  assert.equal(await metricValue('failedSpans', { exporter: memory.name, reason: 'shutdown' }), 6);
  await assert.rejects(memory.exporter.consume('t', simpleTrace(1).batch), OverloadError);

  const persistent = await startExporter({ ...config, sending_queue: { persistent: true } }, { name, dataDir });
  const kept = batches(4, 2);
  for (const { batch } of kept) await persistent.exporter.consume('t', batch);
  started = Date.now();
  await persistent.exporter.shutdown();
  assert.ok(Date.now() - started < 2000);
  assert.equal(await metricValue('failedSpans', { exporter: name }), 0);

  // The next start sends them, wherever the downstream is now.
  const server = new RecordingHttpServer();
  const url = await server.start();
  try {
    const next = await startExporter({ ...config, endpoint: url, sending_queue: { persistent: true } }, { name, dataDir });
    await waitFor('the kept batches', () => server.requests.length === 4);
    assert.deepEqual(server.requests.flatMap((r) => spanIds(r.batch)).sort(), kept.flatMap((k) => spanIds(k.batch)).sort());
    await next.exporter.shutdown();
  } finally {
    await server.stop();
  }
});

describe('against a scripted HTTP peer', () => {
  const server = new RecordingHttpServer();
  let url: string;
  before(async () => {
    url = await server.start();
  });
  after(() => server.stop());

  test('configured headers and the tenant go with every request; a configured X-Scope-OrgID wins; header values are never logged', async () => {
    server.requests.length = 0;
    server.answer = (_req, i) => (i === 0 ? { status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(encodeRpcStatus(3, 'no')) } : { status: 200 });
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const name = uniqueName();
    const config = otlpHttpExporterFactory.schema.parse({ endpoint: url, headers: { Authorization: 'Bearer s3cret-token', 'X-Custom': 'v1' }, retry_on_failure: FAST_RETRY });
    const exporter = otlpHttpExporterFactory.create(config, { name, logger, dataDir: tempDir() });
    await exporter.start();
    const { batch } = simpleTrace(3);
    await exporter.consume('team-a', batch);
    await exporter.consume('team-b', batch);
    await waitFor('both requests', () => server.requests.length === 2);
    await exporter.shutdown();
    const first = server.requests[0]!;
    assert.equal(first.url, '/v1/traces');
    assert.equal(first.headers['authorization'], 'Bearer s3cret-token');
    assert.equal(first.headers['x-custom'], 'v1');
    assert.equal(first.headers['content-type'], 'application/x-protobuf');
    assert.equal(first.headers['content-encoding'], 'gzip');
    assert.match(String(first.headers['user-agent']), /^skein\//);
    assert.deepEqual(server.requests.map((r) => r.headers['x-scope-orgid']).sort(), ['team-a', 'team-b']);
    assert.deepEqual(spanIds(first.batch), spanIds(batch));
    assert.ok(lines.some((l) => l.includes('batch dropped')), 'the 400 was logged');
    assert.ok(!lines.some((l) => l.includes('s3cret')), 'a header value reached the log');

    server.requests.length = 0;
    server.answer = () => ({ status: 200 });
    const fixed = await startExporter({ endpoint: url, headers: { 'X-Scope-OrgID': 'fixed-org' } }, { type: 'otlphttp' });
    await fixed.exporter.consume('team-a', batch);
    await waitFor('the request', () => server.requests.length === 1);
    await fixed.exporter.shutdown();
    assert.equal(server.requests[0]!.headers['x-scope-orgid'], 'fixed-org');
  });

  test('a batch refused for good (HTTP 400) is dropped after one attempt and counted; the queue moves on', async () => {
    server.requests.length = 0;
    server.answer = (_req, i) => (i === 0 ? { status: 400, headers: { 'content-type': 'application/json' }, body: '{"code":3,"message":"invalid span"}' } : { status: 200 });
    const { exporter, name } = await startExporter({ endpoint: url, retry_on_failure: FAST_RETRY, sending_queue: { num_consumers: 1 } }, { type: 'otlphttp' });
    await exporter.consume('t', simpleTrace(4).batch);
    await exporter.consume('t', simpleTrace(2).batch);
    await waitFor('both handled', async () => (await metricValue('sentSpans', { exporter: name })) === 2);
    await exporter.shutdown();
    assert.equal(server.requests.length, 2, 'the refused batch was not retried');
    assert.equal(await metricValue('failedSpans', { exporter: name, reason: 'permanent' }), 4);
    assert.equal(await metricValue('retries', { exporter: name }), 0);
  });

  test('429, 502, 503, 504 and a reset connection are retried, honouring Retry-After', async () => {
    server.requests.length = 0;
    const script: Answer[] = [
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 0, reset: true },
      { status: 429 },
      { status: 502 },
      { status: 504 },
      { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(encodeExportTraceServiceResponse()) },
    ];
    server.answer = (_req, i) => script[i] ?? { status: 200 };
    const at: number[] = [];
    const answer = server.answer;
    server.answer = (req, i) => (at.push(Date.now()), answer(req, i));
    const { exporter, name } = await startExporter({ endpoint: url, retry_on_failure: FAST_RETRY }, { type: 'otlphttp' });
    const sent = simpleTrace(3);
    await exporter.consume('t', sent.batch);
    await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: name })) === 3);
    await exporter.shutdown();
    assert.equal(server.requests.length, 6);
    assert.ok(at[1]! - at[0]! >= 950, `Retry-After: 1 was not honoured (${at[1]! - at[0]!} ms)`);
    assert.equal(await metricValue('retries', { exporter: name }), 5);
    assert.deepEqual(server.requests.map((r) => spanIds(r.batch)), Array(6).fill(spanIds(sent.batch)), 'the same batch each time');
  });

  test('an attempt with no answer within timeout is abandoned and retried', async () => {
    server.requests.length = 0;
    server.answer = (_req, i) => (i === 0 ? { status: 200, delayMs: 2000 } : { status: 200 });
    const { exporter, name } = await startExporter({ endpoint: url, timeout: '200ms', retry_on_failure: FAST_RETRY }, { type: 'otlphttp' });
    const started = Date.now();
    await exporter.consume('t', simpleTrace(2).batch);
    await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: name })) === 2);
    assert.ok(Date.now() - started < 1500, 'the first attempt was not cut off at the timeout');
    assert.equal(await metricValue('retries', { exporter: name }), 1);
    assert.equal(server.requests.length, 2);
    await exporter.shutdown();
  });

  test('partial success: the rejected spans are counted and logged, the rest counted as sent', async () => {
    server.requests.length = 0;
    server.answer = () => ({
      status: 200,
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(encodeExportTraceServiceResponse({ rejectedSpans: 2, errorMessage: 'spans too old' })),
    });
    const { exporter, name } = await startExporter({ endpoint: url }, { type: 'otlphttp' });
    await exporter.consume('t', simpleTrace(5).batch);
    await waitFor('the answer', async () => (await metricValue('sentSpans', { exporter: name })) === 3);
    await exporter.shutdown();
    assert.equal(await metricValue('failedSpans', { exporter: name, reason: 'partial_success' }), 2);
  });

  test('without a sending queue consume() waits for delivery, and refuses as overload when retries run out', async () => {
    server.requests.length = 0;
    server.answer = () => ({ status: 200 });
    const direct = await startExporter({ endpoint: url, sending_queue: { enabled: false } }, { type: 'otlphttp' });
    await direct.exporter.consume('t', simpleTrace(2).batch);
    assert.equal(server.requests.length, 1, 'delivered before consume() resolved');

    server.answer = () => ({ status: 503 });
    const retrying = await startExporter(
      { endpoint: url, sending_queue: { enabled: false }, retry_on_failure: { initial_interval: '20ms', max_interval: '50ms', max_elapsed_time: '200ms' } },
      { type: 'otlphttp' },
    );
    await assert.rejects(retrying.exporter.consume('t', simpleTrace(2).batch), (err: unknown) => err instanceof OverloadError && /unavailable: HTTP 503/.test(err.message));
    assert.ok(server.requests.length > 2, 'it retried before giving the batch back');

    // Queued, with retry disabled: a retryable failure drops the batch at once.
    server.requests.length = 0;
    const noRetry = await startExporter({ endpoint: url, retry_on_failure: { enabled: false } }, { type: 'otlphttp' });
    await noRetry.exporter.consume('t', simpleTrace(2).batch);
    await waitFor('the drop', async () => (await metricValue('failedSpans', { exporter: noRetry.name, reason: 'retry_disabled' })) === 2);
    assert.equal(server.requests.length, 1);
    await Promise.all([direct.exporter.shutdown(), retrying.exporter.shutdown(), noRetry.exporter.shutdown()]);
  });
});

describe('against a scripted gRPC peer', () => {
  const server = new RecordingGrpcServer();
  let address: string;
  before(async () => {
    address = await server.start();
  });
  after(() => server.stop());

  test('headers and the tenant travel as metadata', async () => {
    server.requests.length = 0;
    server.answer = () => ({ code: GrpcCode.OK });
    const { exporter } = await startExporter({ endpoint: address, tls: { insecure: true }, headers: { 'X-Custom': 'v1' } });
    await exporter.consume('team-a', simpleTrace(2).batch);
    await waitFor('the request', () => server.requests.length === 1);
    await exporter.shutdown();
    const md = server.requests[0]!.metadata;
    assert.deepEqual(md.get('x-custom'), ['v1']);
    assert.deepEqual(md.get('x-scope-orgid'), ['team-a']);
    assert.match(String(md.get('user-agent')[0]), /^skein\//);
  });

  test('RESOURCE_EXHAUSTED with RetryInfo is retried after the delay it names; without RetryInfo it is permanent', async () => {
    server.requests.length = 0;
    server.answer = (i) => (i === 0 ? { code: GrpcCode.RESOURCE_EXHAUSTED, details: 'busy', statusDetails: encodeRetryableStatus(GrpcCode.RESOURCE_EXHAUSTED, 'busy', 0.4) } : { code: GrpcCode.OK });
    const throttled = await startExporter({ endpoint: `http://${address}`, retry_on_failure: FAST_RETRY });
    await throttled.exporter.consume('t', simpleTrace(2).batch);
    await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: throttled.name })) === 2);
    await throttled.exporter.shutdown();
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    assert.ok(gap >= 380, `RetryInfo of 400 ms not honoured (${gap} ms)`);

    server.requests.length = 0;
    server.answer = () => ({ code: GrpcCode.RESOURCE_EXHAUSTED, details: 'quota exceeded for good' });
    const refused = await startExporter({ endpoint: `http://${address}`, retry_on_failure: FAST_RETRY });
    await refused.exporter.consume('t', simpleTrace(2).batch);
    await waitFor('the drop', async () => (await metricValue('failedSpans', { exporter: refused.name, reason: 'permanent' })) === 2);
    await refused.exporter.shutdown();
    assert.equal(server.requests.length, 1);
  });

  test('UNAVAILABLE is retried until the peer takes the batch; a partial success is counted', async () => {
    server.requests.length = 0;
    server.answer = (i) =>
      i < 3 ? { code: GrpcCode.UNAVAILABLE, details: 'restarting' } : { code: GrpcCode.OK, response: encodeExportTraceServiceResponse({ rejectedSpans: 1, errorMessage: 'one bad span' }) };
    const { exporter, name } = await startExporter({ endpoint: `http://${address}`, retry_on_failure: FAST_RETRY });
    await exporter.consume('t', simpleTrace(4).batch);
    await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: name })) === 3);
    await exporter.shutdown();
    assert.equal(await metricValue('retries', { exporter: name }), 3);
    assert.equal(await metricValue('failedSpans', { exporter: name, reason: 'partial_success' }), 1);
  });
});

test('gRPC gzip compresses each message (compression: none sends it as it is)', async () => {
  // A bare HTTP/2 peer, to see the gRPC framing the exporter puts on the wire.
  const frames: Array<{ encoding: string | undefined; compressedFlag: number; length: number }> = [];
  const server = createHttp2Server();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      frames.push({ encoding: headers['grpc-encoding'] as string | undefined, compressedFlag: body[0]!, length: body.readUInt32BE(1) });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5)); // an empty ExportTraceServiceResponse, uncompressed
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const batch = simpleTrace(50).batch;
    for (const compression of ['gzip', 'none']) {
      const { exporter, name } = await startExporter({ endpoint, compression });
      await exporter.consume('t', batch);
      await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: name })) === 50);
      await exporter.shutdown();
    }
    assert.equal(frames.length, 2);
    assert.deepEqual([frames[0]!.encoding, frames[0]!.compressedFlag], ['gzip', 1]);
    assert.deepEqual([frames[1]!.encoding, frames[1]!.compressedFlag], [undefined, 0]);
    assert.ok(frames[0]!.length < frames[1]!.length / 2, `gzip did not shrink the message (${frames[0]!.length} vs ${frames[1]!.length} bytes)`);
  } finally {
    server.close();
  }
});
