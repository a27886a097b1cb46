import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  otlpExporterSchema,
  otlpHttpExporterSchema,
  persistentQueueDir,
  requestHeaders,
  resolveTarget,
  type ExportTarget,
  type OtlpExporterConfig,
} from '../../../../src/pipeline/exporters/otlp/config.js';

function target(config: OtlpExporterConfig): ExportTarget {
  const t = resolveTarget(config);
  if ('error' in t) throw new Error(t.error);
  return t;
}

function issues(schema: typeof otlpExporterSchema, raw: unknown): string {
  const result = schema.safeParse(raw);
  assert.equal(result.success, false, 'expected the config to be refused');
  return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
}

test('defaults are the collector’s', () => {
  const c = otlpExporterSchema.parse({ endpoint: 'tempo:4317' });
  assert.equal(c.protocol, 'grpc');
  assert.equal(c.compression, 'gzip');
  assert.equal(c.timeout, 5000);
  assert.deepEqual(c.tls, { insecure: false, insecure_skip_verify: false });
  assert.deepEqual(c.headers, {});
  assert.deepEqual(c.retry_on_failure, {
    enabled: true,
    initial_interval: 5000,
    max_interval: 30_000,
    max_elapsed_time: 300_000,
    multiplier: 1.5,
    randomization_factor: 0.5,
  });
  assert.deepEqual(c.sending_queue, { enabled: true, num_consumers: 10, queue_size: 1000, persistent: false });
  // otlphttp: 30 s timeout and protobuf bodies, as in the collector.
  const h = otlpHttpExporterSchema.parse({ endpoint: 'http://tempo:4318' });
  assert.equal(h.protocol, 'http/protobuf');
  assert.equal(h.timeout, 30_000);
  assert.equal(otlpHttpExporterSchema.parse({ endpoint: 'http://tempo:4318', encoding: 'json' }).protocol, 'http/json');
});

test('gRPC endpoints: host:port is TLS unless insecure; the http:// and https:// schemes decide for themselves', () => {
  assert.deepEqual(target(otlpExporterSchema.parse({ endpoint: 'tempo:4317' })), { protocol: 'grpc', address: 'tempo:4317', display: 'tempo:4317', secure: true });
  assert.equal(target(otlpExporterSchema.parse({ endpoint: 'tempo:4317', tls: { insecure: true } })).secure, false);
  assert.deepEqual(target(otlpExporterSchema.parse({ endpoint: 'http://127.0.0.1:4317' })), {
    protocol: 'grpc',
    address: '127.0.0.1:4317',
    display: 'http://127.0.0.1:4317',
    secure: false,
  });
  assert.equal(target(otlpExporterSchema.parse({ endpoint: 'https://tempo.example:443' })).secure, true);
  assert.equal((target(otlpExporterSchema.parse({ endpoint: 'dns:///tempo:4317' })) as { address: string }).address, 'tempo:4317');
  assert.equal((target(otlpExporterSchema.parse({ endpoint: '[::1]:4317', tls: { insecure: true } })) as { address: string }).address, '[::1]:4317');

  assert.match(issues(otlpExporterSchema, {}), /endpoint: endpoint is required/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo' }), /not host:port/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'https://tempo:4317', tls: { insecure: true } }), /tls.insecure: .*contradicts/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'http://tempo:4317', tls: { ca_file: '/ca.pem' } }), /tls: .*plaintext/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', tls: { cert_file: '/c.pem' } }), /tls.key_file: cert_file and key_file go together/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', traces_endpoint: 'http://x/v1/traces' }), /traces_endpoint is for OTLP\/HTTP/);
});

test('HTTP endpoints: /v1/traces is appended to the base URL; traces_endpoint is used as it is', () => {
  const url = (raw: Record<string, unknown>) => (target(otlpHttpExporterSchema.parse(raw)) as { url: URL }).url.href;
  assert.equal(url({ endpoint: 'http://tempo:4318' }), 'http://tempo:4318/v1/traces');
  assert.equal(url({ endpoint: 'https://gw.example/otlp/' }), 'https://gw.example/otlp/v1/traces');
  assert.equal(url({ endpoint: 'http://tempo:4318', traces_endpoint: 'http://other:9999/custom' }), 'http://other:9999/custom');
  assert.equal(url({ traces_endpoint: 'http://other:9999/custom' }), 'http://other:9999/custom');
  const withKey = target(otlpHttpExporterSchema.parse({ traces_endpoint: 'https://gw.example/v1/traces?api_key=secret' }));
  assert.equal((withKey as { url: URL }).url.search, '?api_key=secret');
  assert.equal(withKey.display, 'https://gw.example/v1/traces', 'what logs show leaves the query out');
  const viaOtlp = otlpExporterSchema.parse({ endpoint: 'http://tempo:4318', protocol: 'http/json' });
  assert.equal((target(viaOtlp) as { url: URL }).url.href, 'http://tempo:4318/v1/traces');

  assert.match(issues(otlpHttpExporterSchema, {}), /endpoint \(base URL\) or traces_endpoint is required/);
  assert.match(issues(otlpHttpExporterSchema, { endpoint: 'tempo:4318' }), /must be http:\/\/ or https:\/\//);
  assert.match(issues(otlpHttpExporterSchema, { endpoint: 'http://user:pw@tempo:4318' }), /credentials in headers/);
  assert.match(issues(otlpHttpExporterSchema, { endpoint: 'https://tempo:4318', tls: { insecure: true } }), /contradicts the https/);
  assert.match(issues(otlpHttpExporterSchema, { endpoint: 'http://tempo:4318', protocol: 'grpc' }), /protocol/);
});

test('queue, retry and header settings are checked, with a pointer for the collector’s storage extensions', () => {
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', sending_queue: { storage: 'file_storage' } }), /persistent: true/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', sending_queue: { queue_size: 0 } }), /sending_queue.queue_size/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', retry_on_failure: { initial_interval: 'soon' } }), /invalid duration/);
  assert.match(
    issues(otlpExporterSchema, { endpoint: 'tempo:4317', retry_on_failure: { max_elapsed_time: '10s', max_interval: '30s' } }),
    /max_elapsed_time: must not be less than max_interval/,
  );
  assert.equal(otlpExporterSchema.parse({ endpoint: 'tempo:4317', retry_on_failure: { max_elapsed_time: 0 } }).retry_on_failure.max_elapsed_time, 0);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', headers: { 'bad name': 'x' } }), /invalid header name/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', headers: { a: 'x\r\nInjected: 1' } }), /CR, LF/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', headers: { 'Content-Type': 'text/plain' } }), /set by the exporter itself/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', headers: { 'grpc-timeout': '1S' } }), /set by the exporter itself/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', compression: 'zstd' }), /compression/);
  assert.match(issues(otlpExporterSchema, { endpoint: 'tempo:4317', unknown_key: 1 }), /unknown_key|Unrecognized/);
});

test('the batch’s tenant goes out as X-Scope-OrgID unless the headers set one', () => {
  assert.deepEqual(requestHeaders({ Authorization: 'Bearer t' }, 'team-a'), { authorization: 'Bearer t', 'x-scope-orgid': 'team-a' });
  assert.deepEqual(requestHeaders({ 'X-Scope-OrgID': 'fixed' }, 'team-a'), { 'x-scope-orgid': 'fixed' });
});

test('each exporter has its own queue directory', () => {
  assert.equal(persistentQueueDir('/data', 'otlp/tempo'), '/data/exporter-queue/otlp_tempo');
});
