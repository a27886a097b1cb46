// @skein/instrument in process: the privacy helpers, the deny-list as the
// exporter sees it, the settings read from the environment (and what a bad
// value gives), the logger's trace fields, sampling, and the export-failure
// warning's trace fields (none: the outage is no request's).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  attributeKeyDenier,
  createLogger,
  initTracing,
  injectTraceHeaders,
  maskEmail,
  queryLengthAttribute,
  settingsFromEnv,
  withSpan,
  extractTraceContext,
} from '@skein/instrument';

function capture(): { stream: Writable & { write(s: string): boolean }; records(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('privacy helpers', () => {
  test('maskEmail keeps the first character and the domain, and masks anything that is not an address whole', () => {
    assert.equal(maskEmail('john@example.com'), 'j***@example.com');
    assert.equal(maskEmail('  Jane.Doe@Example.COM '), 'J***@example.com');
    assert.equal(maskEmail('ålborg@example.dk'), 'å***@example.dk');
    assert.equal(maskEmail('a"b@c@example.com'), 'a***@example.com');
    for (const bad of ['', 'no-at-sign', '@example.com', 'user@']) assert.equal(maskEmail(bad), '***', bad);
  });

  test('query text is recorded as its length in characters only', () => {
    assert.deepEqual(queryLengthAttribute('search.query', 'blue in green'), { 'search.query.length': 13 });
    assert.deepEqual(queryLengthAttribute('db.query', 'caf\u00e9 \u{1F3B7}'), { 'db.query.length': 6 });
  });

  test('the deny-list matches any segment of a key, whatever its case or separator', () => {
    const denied = attributeKeyDenier();
    for (const key of ['authorization', 'http.request.header.authorization', 'http.response.header.set-cookie', 'user.Password', 'x_api_key', 'http.request.header.x-api-key', 'oauth.refresh_token']) {
      assert.equal(denied(key), true, key);
    }
    for (const key of ['http.request.header.content-type', 'auth.outcome', 'token_type', 'user.email', 'passwords_checked']) {
      assert.equal(denied(key), false, key);
    }
    assert.equal(attributeKeyDenier(['tenant-secret'])('app.tenant_secret'), true);
  });
});

describe('settings from the environment', () => {
  test('defaults: gRPC to localhost:4317, ratio 1, batches of 512 every 5 s', () => {
    const s = settingsFromEnv({ serviceName: 'svc' }, {});
    assert.deepEqual(s.export, { protocol: 'grpc', url: 'http://localhost:4317', timeoutMillis: 10_000 });
    assert.equal(s.sampleRatio, 1);
    assert.equal(s.scheduledDelayMillis, 5000);
    assert.equal(s.maxExportBatchSize, 512);
    assert.equal(s.disabled, false);
    assert.deepEqual(s.problems, []);
  });

  test('HTTP protocols append /v1/traces to the base endpoint; the traces endpoint is taken as is', () => {
    assert.equal(settingsFromEnv({ serviceName: 's' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }).export.url, 'http://localhost:4318/v1/traces');
    assert.equal(
      settingsFromEnv({ serviceName: 's' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://skein:4318/' }).export.url,
      'http://skein:4318/v1/traces',
    );
    assert.equal(
      settingsFromEnv({ serviceName: 's' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://in.example/otlp' }).export.url,
      'https://in.example/otlp',
    );
    assert.equal(settingsFromEnv({ serviceName: 's' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://skein:4317' }).export.url, 'http://skein:4317');
    const s = settingsFromEnv({ serviceName: 's' }, { OTEL_SERVICE_NAME: 'from-env', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SDK_DISABLED: 'TRUE' });
    assert.equal(s.serviceName, 'from-env');
    assert.equal(s.sampleRatio, 0.25);
    assert.equal(s.disabled, true);
  });

  test('a bad value falls back to the default and says which variable and why', () => {
    const s = settingsFromEnv(
      { serviceName: 's', sampleRatio: 0.5 },
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc/json',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'skein:4317',
        OTEL_TRACES_SAMPLER_ARG: '1.5',
        OTEL_BSP_SCHEDULE_DELAY: 'soon',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096',
      },
    );
    assert.equal(s.export.protocol, 'grpc');
    assert.equal(s.export.url, 'http://localhost:4317');
    assert.equal(s.sampleRatio, 0.5);
    assert.equal(s.scheduledDelayMillis, 5000);
    assert.equal(s.maxExportBatchSize, 2048);
    assert.deepEqual(s.problems, [
      'OTEL_EXPORTER_OTLP_PROTOCOL="grpc/json" is not one of grpc, http/protobuf, http/json; using grpc',
      'OTEL_EXPORTER_OTLP_ENDPOINT="skein:4317" is not an http:// or https:// URL; ignored',
      'OTEL_TRACES_SAMPLER_ARG="1.5" is not a ratio between 0 and 1; using 0.5',
      'OTEL_BSP_SCHEDULE_DELAY="soon" is not a positive whole number of milliseconds; using 5000',
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE=4096 is larger than the queue (2048); using 2048',
    ]);
  });

  test('certificate variables the exporter would ignore silently are reported: unreadable, for an http:// endpoint, a client certificate without its key', () => {
    const https = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://skein.example:4317' };
    assert.deepEqual(settingsFromEnv({ serviceName: 's' }, { ...https, OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' }).problems, [
      'OTEL_EXPORTER_OTLP_CERTIFICATE="/nonexistent/ca.pem" cannot be read (ENOENT); the exporter sends without it',
    ]);
    assert.deepEqual(
      settingsFromEnv({ serviceName: 's' }, { ...https, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/dev/null', OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: '' }).problems,
      ['OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is set without OTEL_EXPORTER_OTLP_CLIENT_KEY: a client certificate needs both'],
    );
    assert.deepEqual(settingsFromEnv({ serviceName: 's' }, { OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/dev/null' }).problems, [
      'OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE is set but the endpoint http://localhost:4317 is not https://; it has no effect',
    ]);
    assert.deepEqual(settingsFromEnv({ serviceName: 's' }, { ...https, OTEL_EXPORTER_OTLP_CERTIFICATE: '/dev/null' }).problems, []);
  });
});

describe('initTracing with an in-memory exporter', () => {
  test('spans carry the resource; denied keys are dropped before export and counted; logs carry the IDs', async () => {
    const exporter = new InMemorySpanExporter();
    const out = capture();
    const logger = createLogger({ name: 'unit', format: 'json', destination: out.stream });
    const tracing = initTracing({
      serviceName: 'unit',
      serviceVersion: '9.9.9',
      environment: 'test',
      exporter,
      logger,
      deniedAttributeKeys: ['internal-note'],
      env: { OTEL_BSP_SCHEDULE_DELAY: '600000' },
    });
    let ids: { traceId: string; spanId: string } | undefined;
    let headers: Record<string, string> = {};
    await withSpan('unit.work', { attributes: { 'http.request.header.authorization': 'Bearer x', 'app.internal_note': 'n', kept: 1 } }, (span) => {
      ids = span.spanContext();
      span.addEvent('e', { password: 'p', ok: true });
      logger.info('inside');
      headers = injectTraceHeaders({}, context.active());
    });
    logger.info('outside');
    // The in-memory exporter forgets its spans when shut down: read them after a flush.
    await tracing.forceFlush();
    const [span] = exporter.getFinishedSpans();
    await tracing.shutdown();
    assert.ok(span);
    assert.deepEqual(span.attributes, { kept: 1 });
    assert.equal(span.droppedAttributesCount, 2);
    assert.deepEqual(span.events[0]!.attributes, { ok: true });
    assert.equal(span.events[0]!.droppedAttributesCount, 1);
    assert.equal(span.resource.attributes['service.name'], 'unit');
    assert.equal(span.resource.attributes['service.version'], '9.9.9');
    assert.equal(span.resource.attributes['deployment.environment'], 'test');
    const [inside, outside] = out.records();
    assert.equal(inside!['trace_id'], ids!.traceId);
    assert.equal(inside!['span_id'], ids!.spanId);
    assert.equal(outside!['trace_id'], undefined);
    assert.equal(headers['traceparent'], `00-${ids!.traceId}-${ids!.spanId}-01`);
  });

  test('OTEL_TRACES_SAMPLER_ARG=0 drops new traces, but a sampled parent from upstream is followed', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = initTracing({ serviceName: 'unit', serviceVersion: '1', exporter, env: { OTEL_TRACES_SAMPLER_ARG: '0' } });
    await withSpan('unsampled.root', {}, () => undefined);
    const upstream = extractTraceContext({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    await withSpan('sampled.child', { parent: upstream }, () => undefined);
    await tracing.forceFlush();
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ['sampled.child']);
    assert.equal(exporter.getFinishedSpans()[0]!.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    await tracing.shutdown();
  });

  test('headers and TLS files the exporter cannot use are left out with a warning naming them, never a value', async () => {
    const out = capture();
    const tracing = initTracing({
      serviceName: 'unit',
      serviceVersion: '1',
      exporter: new InMemorySpanExporter(),
      logger: createLogger({ name: 'unit', format: 'json', destination: out.stream }),
      headers: { 'bad header': 'secret-one', authorization: 'Bearer secret\ntwo', 'x-scope-orgid': 'team-a' },
      tls: { caFile: '/nonexistent/ca.pem' },
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://skein.example:4317' },
    });
    await tracing.shutdown();
    const warnings = out.records().filter((r) => r['event'] === 'otel.config.invalid').map((r) => r['msg']);
    assert.deepEqual(warnings, [
      'headers: "bad header" is not a header name the exporter can send (letters, digits, - _ .); left out',
      'headers: the value of "authorization" has characters a header cannot carry (printable ASCII only); left out',
      'tls.caFile="/nonexistent/ca.pem" cannot be read (ENOENT); exporting without it',
    ]);
    const http = capture();
    const plain = initTracing({
      serviceName: 'unit',
      serviceVersion: '1',
      exporter: new InMemorySpanExporter(),
      logger: createLogger({ name: 'unit', format: 'json', destination: http.stream }),
      tls: { certFile: '/dev/null' },
      env: {},
    });
    await plain.shutdown();
    assert.deepEqual(
      http.records().map((r) => r['msg']),
      ['tls is set but the endpoint http://localhost:4317 is not https://: spans are sent without TLS'],
    );
  });

  test('OTEL_SDK_DISABLED=true registers nothing: spans are no-ops and nothing is exported', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = initTracing({ serviceName: 'unit', serviceVersion: '1', exporter, env: { OTEL_SDK_DISABLED: 'true' } });
    assert.equal(tracing.enabled, false);
    await withSpan('nothing', {}, (span) => assert.equal(span.isRecording(), false));
    assert.equal(trace.getActiveSpan(), undefined);
    await tracing.shutdown();
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });
});

describe('the export-failure warning', () => {
  test("carries no trace_id, though the export ran inside a request's span, though the export ran inside a request's span", async () => {
    // A collector that refuses every export (401: not retried), for the real OTLP/HTTP exporter.
    const collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401, { 'content-type': 'text/plain' }).end('no'));
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    const out = capture();
    const logger = createLogger({ name: 'unit', format: 'json', destination: out.stream });
    const tracing = initTracing({
      serviceName: 'unit',
      serviceVersion: '1',
      logger,
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '600000' },
    });
    try {
      // A request flushes (as a full batch does when its span ends): the export starts in its context.
      const request = await withSpan('request', {}, async (span) => {
        logger.info('handling the request');
        await withSpan('request.child', {}, () => undefined);
        await tracing.forceFlush(20_000);
        return span.spanContext();
      });
      const records = out.records();
      assert.equal(records.find((r) => r['msg'] === 'handling the request')?.['trace_id'], request.traceId, 'the request\'s own lines carry its trace');
      const failures = records.filter((r) => r['event'] === 'otel.export.failed');
      assert.equal(failures.length, 1, JSON.stringify(records));
      assert.equal(failures[0]!['trace_id'], undefined);
      assert.equal(failures[0]!['span_id'], undefined);
      assert.match(String(failures[0]!['endpoint']), new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      await tracing.shutdown();
      collector.close();
    }
  });
});
