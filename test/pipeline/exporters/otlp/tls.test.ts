// TLS to the downstream: server verification against ca_file, mutual TLS with
// cert_file and key_file, insecure_skip_verify, over OTLP/HTTP and gRPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import { simpleTrace } from '../../../helpers/spans.js';
import { FAST_RETRY, RecordingGrpcServer, RecordingHttpServer, metricValue, spanIds, startExporter, tempDir, waitFor } from './helpers.js';
import { CA_CERT, CLIENT_CERT, CLIENT_KEY, SERVER_CERT, SERVER_KEY } from './tls-fixtures.js';

const dir = tempDir();
const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
writeFileSync(files.ca, CA_CERT);
writeFileSync(files.cert, CLIENT_CERT);
writeFileSync(files.key, CLIENT_KEY);

const mtlsServer = new RecordingHttpServer();
const tlsServer = new RecordingHttpServer();
let mtlsUrl: string;
let tlsUrl: string;
before(async () => {
  mtlsUrl = await mtlsServer.start({ key: SERVER_KEY, cert: SERVER_CERT, ca: CA_CERT, requestCert: true, rejectUnauthorized: true });
  tlsUrl = await tlsServer.start({ key: SERVER_KEY, cert: SERVER_CERT });
});
after(async () => {
  await mtlsServer.stop();
  await tlsServer.stop();
});

test('HTTPS with mutual TLS: the server is verified against ca_file and sees the client certificate', async () => {
  const { exporter, name } = await startExporter({ endpoint: mtlsUrl, tls: { ca_file: files.ca, cert_file: files.cert, key_file: files.key } }, { type: 'otlphttp' });
  const { batch } = simpleTrace(3);
  await exporter.consume('t', batch);
  await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: name })) === 3);
  await exporter.shutdown();
  assert.equal(mtlsServer.requests[0]!.clientCertCn, 'skein-exporter');
  assert.deepEqual(spanIds(mtlsServer.requests[0]!.batch), spanIds(batch));
});

test('HTTPS to a server the CA did not vouch for is refused (and retried); insecure_skip_verify encrypts without verifying', async () => {
  const unverified = await startExporter({ endpoint: tlsUrl, timeout: '200ms', retry_on_failure: FAST_RETRY }, { type: 'otlphttp' });
  await unverified.exporter.consume('t', simpleTrace(2).batch);
  await waitFor('retries', async () => (await metricValue('retries', { exporter: unverified.name })) >= 2);
  await unverified.exporter.shutdown();
  assert.equal(tlsServer.requests.length, 0, 'no request may pass an unverified certificate');

  const skipping = await startExporter({ endpoint: tlsUrl, tls: { insecure_skip_verify: true } }, { type: 'otlphttp' });
  await skipping.exporter.consume('t', simpleTrace(2).batch);
  await waitFor('delivery', () => tlsServer.requests.length === 1);
  await skipping.exporter.shutdown();
});

test('gRPC with mutual TLS: a host:port endpoint is TLS by default', async () => {
  const server = new RecordingGrpcServer();
  const address = await server.start(
    ServerCredentials.createSsl(Buffer.from(CA_CERT), [{ cert_chain: Buffer.from(SERVER_CERT), private_key: Buffer.from(SERVER_KEY) }], true),
  );
  try {
    const { exporter, name } = await startExporter({ endpoint: address, tls: { ca_file: files.ca, cert_file: files.cert, key_file: files.key } });
    await exporter.consume('t', simpleTrace(2).batch);
    await waitFor('delivery', async () => (await metricValue('sentSpans', { exporter: name })) === 2);
    await exporter.shutdown();

    // Without the client certificate the server refuses the handshake: retried, never delivered.
    const anonymous = await startExporter({ endpoint: address, tls: { ca_file: files.ca }, timeout: '200ms', retry_on_failure: FAST_RETRY });
    await anonymous.exporter.consume('t', simpleTrace(2).batch);
    await waitFor('retries', async () => (await metricValue('retries', { exporter: anonymous.name })) >= 2);
    await anonymous.exporter.shutdown();
    assert.equal(server.requests.length, 1);
  } finally {
    server.stop();
  }
});

test('a missing TLS file fails start() with its path', async () => {
  await assert.rejects(
    startExporter({ endpoint: 'https://127.0.0.1:1', tls: { ca_file: join(dir, 'nope.pem') } }, { type: 'otlphttp' }),
    /cannot read TLS file .*nope\.pem/,
  );
});
