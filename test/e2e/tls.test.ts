// TLS on every listener of a running Skein (API, OTLP/HTTP, OTLP/gRPC, Zipkin), with real
// handshakes and real clients (the OpenTelemetry SDK's exporters, HTTPS requests), against
// certificates the test makes: a client trusting the CA gets through and one that does not is
// refused; an expired certificate is refused; mutual TLS wants a certificate from the right
// CA; a certificate replaced on disk is served to new connections; min_version 1.3 refuses a
// TLS 1.2 client; a bad file stops start-up, naming its key. And Skein's own OTLP exporters
// verify the certificate of what they send to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startSkein, type ReadyTls, type SkeinProcess } from '../helpers/skein-process.js';
import { certDir, createTestPki, type Issued, type TestPki } from '../helpers/certs.js';
import { CERTIFICATE_REFUSED, handshake, httpsRequest, type ClientTls } from '../helpers/tls-client.js';
import { waitFor } from '../helpers/poll.js';
import { simpleTrace } from '../helpers/spans.js';
import { toHex } from '../../src/otlp/model.js';
import { FAST_RETRY, metricValue, startExporter } from '../pipeline/exporters/otlp/helpers.js';

const LISTENERS = ['http', 'otlpGrpc', 'otlpHttp', 'zipkin'] as const;
type Listener = (typeof LISTENERS)[number];

let pki: TestPki;

/** A config with the same TLS settings on all four listeners. */
function tlsEverywhere(tls: Record<string, string>): string {
  const t = JSON.stringify(tls);
  return [
    `server: { tls: ${t} }`,
    'receivers:',
    '  otlp:',
    '    protocols:',
    `      grpc: { tls: ${t} }`,
    `      http: { tls: ${t} }`,
    `  zipkin: { enabled: true, endpoint: 127.0.0.1:0, tls: ${t} }`,
    '',
  ].join('\n');
}

function serverFiles(cert: Issued): Record<string, string> {
  return { cert_file: cert.certFile, key_file: cert.keyFile };
}

function hostPort(skein: SkeinProcess, listener: Listener): string {
  if (listener === 'otlpGrpc') return skein.grpcAddr;
  const url = listener === 'http' ? skein.url : listener === 'otlpHttp' ? skein.otlpHttpUrl : skein.zipkinUrl!;
  return new URL(url).host;
}

/** Spans made by the SDK: one trace of one span. */
function sdkSpans(name: string): { spans: ReadableSpan[]; traceId: string } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer('tls-test').startSpan(name).end();
  const spans = memory.getFinishedSpans();
  return { spans, traceId: spans[0]!.spanContext().traceId };
}

async function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  try {
    return await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  } finally {
    await exporter.shutdown();
  }
}

/** What each ingest listener is sent with by a client presenting `client`: the SDK's exporters, an HTTPS POST for Zipkin. */
async function send(skein: SkeinProcess, listener: Exclude<Listener, 'http'>, client: ClientTls): Promise<{ ok: boolean; detail: string; traceId: string }> {
  const { spans, traceId } = sdkSpans(`tls-${listener}`);
  // Bounds the SDK's retries of a refused connection (a reset is retryable to it), not the test.
  const timeoutMillis = 3000;
  if (listener === 'otlpGrpc') {
    const creds = credentials.createSsl(client.ca ? Buffer.from(client.ca) : null, client.key ? Buffer.from(client.key) : null, client.cert ? Buffer.from(client.cert) : null);
    const r = await exportWith(new GrpcExporter({ url: `https://${skein.grpcAddr}`, credentials: creds, timeoutMillis }), spans);
    return { ok: r.code === ExportResultCode.SUCCESS, detail: String(r.error?.message), traceId };
  }
  if (listener === 'otlpHttp') {
    const r = await exportWith(new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces`, httpAgentOptions: { ...client }, timeoutMillis }), spans);
    return { ok: r.code === ExportResultCode.SUCCESS, detail: String(r.error?.message), traceId };
  }
  const spanId = spans[0]!.spanContext().spanId;
  const body = JSON.stringify([{ traceId, id: spanId, name: 'tls-zipkin', timestamp: Date.now() * 1000, duration: 1000, localEndpoint: { serviceName: 'tls-zipkin' } }]);
  try {
    const res = await httpsRequest(`${skein.zipkinUrl}/api/v2/spans`, { ...client, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { ok: res.status === 202, detail: `${res.status} ${res.body}`, traceId };
  } catch (err) {
    return { ok: false, detail: `${(err as NodeJS.ErrnoException).code} ${(err as Error).message}`, traceId };
  }
}

/** Whether the API (asked as `client`) has the trace. */
async function hasTrace(skein: SkeinProcess, traceId: string, client: ClientTls): Promise<boolean> {
  const res = await httpsRequest(`${skein.url}/api/traces/${traceId}`, client);
  if (res.status !== 200 && res.status !== 404) throw new Error(`GET trace: ${res.status} ${res.body}`);
  return res.status === 200;
}

async function apiReady(skein: SkeinProcess, client: ClientTls): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await httpsRequest(`${skein.url}/ready`, client);
    return { ok: res.status === 200, detail: `${res.status}` };
  } catch (err) {
    return { ok: false, detail: `${(err as NodeJS.ErrnoException).code} ${(err as Error).message}` };
  }
}

before(async () => {
  pki = await createTestPki();
});

describe('TLS on every listener', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein({ configYaml: tlsEverywhere(serverFiles(pki.server)), tls: { ca: pki.ca.cert } });
  });
  after(async () => {
    await skein.stop();
  });

  test('the ready line names the listeners that speak TLS', () => {
    assert.deepEqual(skein.tls, [...LISTENERS]);
    assert.match(skein.url, /^https:/);
  });

  test('each listener presents the certificate, and a client trusting the CA verifies it', async () => {
    for (const listener of LISTENERS) {
      const got = await handshake(hostPort(skein, listener), { ca: pki.ca.cert });
      assert.deepEqual(got.ok && got.fingerprint256, pki.server.fingerprint256, `${listener}: ${JSON.stringify(got)}`);
    }
  });

  test('a client that does not trust the CA is refused on each listener', async () => {
    for (const listener of LISTENERS) {
      const got = await handshake(hostPort(skein, listener), { ca: pki.otherCa.cert });
      assert.equal(got.ok, false, listener);
      assert.match(!got.ok ? got.code : '', CERTIFICATE_REFUSED, listener);
    }
  });

  test('API: an HTTPS request trusting the CA is answered; one trusting only the system CAs fails', async () => {
    assert.deepEqual(await apiReady(skein, { ca: pki.ca.cert }), { ok: true, detail: '200' });
    const refused = await apiReady(skein, {});
    assert.equal(refused.ok, false);
    assert.match(refused.detail, CERTIFICATE_REFUSED);
  });

  for (const listener of ['otlpGrpc', 'otlpHttp', 'zipkin'] as const) {
    test(`${listener}: spans sent trusting the CA arrive; a client that does not trust it sends nothing`, async () => {
      const sent = await send(skein, listener, { ca: pki.ca.cert });
      assert.ok(sent.ok, sent.detail);
      await waitFor(`trace ${sent.traceId}`, () => hasTrace(skein, sent.traceId, { ca: pki.ca.cert }));

      const refused = await send(skein, listener, {});
      assert.equal(refused.ok, false, refused.detail);
      // (Why, the handshake test above shows for each listener: grpc-js may report only that it could not connect.)
      assert.match(refused.detail, listener === 'otlpGrpc' ? /UNAVAILABLE: No connection established/ : /unable to verify the first certificate/);
      assert.equal(await hasTrace(skein, refused.traceId, { ca: pki.ca.cert }), false);
    });
  }

  test("Skein's own OTLP exporters verify the receiver's certificate: refused without ca_file, delivered with it", async () => {
    for (const [protocol, endpoint] of [
      ['grpc', skein.grpcAddr],
      ['http/protobuf', skein.otlpHttpUrl],
    ] as const) {
      const caFile = pki.ca.certFile;
      const unverified = await startExporter({ endpoint, protocol, timeout: '500ms', retry_on_failure: FAST_RETRY });
      const lost = simpleTrace(2);
      await unverified.exporter.consume('tls', lost.batch);
      await waitFor(`${protocol}: retries of an unverified certificate`, async () => (await metricValue('retries', { exporter: unverified.name })) >= 2);
      await unverified.exporter.shutdown();
      assert.equal(await metricValue('sentSpans', { exporter: unverified.name }), 0, protocol);
      assert.equal(await hasTrace(skein, toHex(lost.traceId), { ca: pki.ca.cert }), false, protocol);

      const verified = await startExporter({ endpoint, protocol, tls: { ca_file: caFile }, retry_on_failure: FAST_RETRY });
      const delivered = simpleTrace(2);
      await verified.exporter.consume('single-tenant', delivered.batch);
      await waitFor(`${protocol}: delivery`, async () => (await metricValue('sentSpans', { exporter: verified.name })) === 2);
      await verified.exporter.shutdown();
      await waitFor(`${protocol}: the trace`, () => hasTrace(skein, toHex(delivered.traceId), { ca: pki.ca.cert }));
    }
  });
});

describe('mutual TLS (client_ca_file)', () => {
  let skein: SkeinProcess;
  const client = (): ReadyTls => ({ ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key });
  before(async () => {
    skein = await startSkein({ configYaml: tlsEverywhere({ ...serverFiles(pki.server), client_ca_file: pki.ca.certFile }), tls: client() });
  });
  after(async () => {
    await skein.stop();
  });

  test('API: a client certificate from the CA is accepted; none, or one from another CA, is refused', async () => {
    assert.deepEqual(await apiReady(skein, client()), { ok: true, detail: '200' });
    assert.equal((await apiReady(skein, { ca: pki.ca.cert })).ok, false, 'without a client certificate');
    assert.equal((await apiReady(skein, { ca: pki.ca.cert, cert: pki.foreignClient.cert, key: pki.foreignClient.key })).ok, false, 'with one from another CA');
  });

  for (const listener of ['otlpGrpc', 'otlpHttp', 'zipkin'] as const) {
    test(`${listener}: a client certificate from the CA is accepted; none, or one from another CA, is refused`, async () => {
      const sent = await send(skein, listener, client());
      assert.ok(sent.ok, sent.detail);
      await waitFor(`trace ${sent.traceId}`, () => hasTrace(skein, sent.traceId, client()));

      // TLS 1.3: the server refuses the client's certificate after the client's side of the
      // handshake is done, with an alert (none sent) or by closing (one it does not trust).
      for (const [what, tls, why] of [
        ['without a client certificate', { ca: pki.ca.cert }, /certificate required/],
        ['with one from another CA', { ca: pki.ca.cert, cert: pki.foreignClient.cert, key: pki.foreignClient.key }, /ECONNRESET|socket hang up|unknown ca/],
      ] as const) {
        const refused = await send(skein, listener, tls);
        assert.equal(refused.ok, false, `${what}: ${refused.detail}`);
        // grpc-js reports its channel's last error, which may be the failed connection rather than its cause.
        assert.match(refused.detail, listener === 'otlpGrpc' ? /UNAVAILABLE: No connection established/ : why, what);
        assert.equal(await hasTrace(skein, refused.traceId, client()), false, what);
      }
    });
  }
});

describe('an expired certificate', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein({ configYaml: tlsEverywhere(serverFiles(pki.expiredServer)), waitReady: false });
  });
  after(async () => {
    await skein.stop();
  });

  test('is served (start-up warns) and refused by a verifying client on each listener', async () => {
    assert.ok(skein.logs.some((l) => l['level'] === 'warn' && String(l['msg']).includes('has expired')), 'a warning at start-up');
    for (const listener of LISTENERS) {
      const got = await handshake(hostPort(skein, listener), { ca: pki.ca.cert });
      assert.equal(!got.ok && got.code, 'CERT_HAS_EXPIRED', `${listener}: ${JSON.stringify(got)}`);
    }
    const refused = await send(skein, 'otlpGrpc', { ca: pki.ca.cert });
    assert.equal(refused.ok, false, refused.detail);
  });
});

describe('min_version: 1.3', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein({ configYaml: tlsEverywhere({ ...serverFiles(pki.server), min_version: '1.3' }), tls: { ca: pki.ca.cert } });
  });
  after(async () => {
    await skein.stop();
  });

  test('a client that speaks at most TLS 1.2 is refused on each listener; TLS 1.3 gets through', async () => {
    for (const listener of LISTENERS) {
      const old = await handshake(hostPort(skein, listener), { ca: pki.ca.cert, maxVersion: 'TLSv1.2' });
      assert.equal(old.ok, false, `${listener}: ${JSON.stringify(old)}`);
      assert.match(!old.ok ? old.code : '', /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/, listener);
      const current = await handshake(hostPort(skein, listener), { ca: pki.ca.cert });
      assert.equal(current.ok && current.protocol, 'TLSv1.3', listener);
    }
  });
});

describe('certificate reload', () => {
  let skein: SkeinProcess;
  let dir: string;
  let files: { cert_file: string; key_file: string };
  let renewed: Issued;

  /** Replaces a file the way a secret is updated: the new content appears at once, never half-written. */
  const replace = (path: string, content: string) => {
    writeFileSync(`${path}.new`, content);
    renameSync(`${path}.new`, path);
  };

  before(async () => {
    dir = certDir();
    files = { cert_file: join(dir, 'tls.crt'), key_file: join(dir, 'tls.key') };
    copyFileSync(pki.server.certFile, files.cert_file);
    copyFileSync(pki.server.keyFile, files.key_file);
    renewed = await pki.ca.server({ name: 'renewed' });
    skein = await startSkein({ configYaml: tlsEverywhere({ ...files, reload_interval: '100ms' }), tls: { ca: pki.ca.cert } });
  });
  after(async () => {
    await skein.stop();
  });

  test('a certificate replaced on disk is what new connections get, on each listener, without a restart', async () => {
    for (const listener of LISTENERS) {
      const got = await handshake(hostPort(skein, listener), { ca: pki.ca.cert });
      assert.equal(got.ok && got.fingerprint256, pki.server.fingerprint256, listener);
    }
    // Key first: until the certificate follows, the pair does not match and the old one stays.
    replace(files.key_file, renewed.key);
    replace(files.cert_file, renewed.cert);
    for (const listener of LISTENERS) {
      await waitFor(`${listener} to present the renewed certificate`, async () => {
        const got = await handshake(hostPort(skein, listener), { ca: pki.ca.cert });
        return got.ok && got.fingerprint256 === renewed.fingerprint256;
      });
    }
    const sent = await send(skein, 'otlpGrpc', { ca: pki.ca.cert });
    assert.ok(sent.ok, sent.detail);
  });

  test('a file that cannot be used is logged, and the certificate in use stays', async () => {
    const before = (await handshake(hostPort(skein, 'http'), { ca: pki.ca.cert })) as { fingerprint256: string };
    replace(files.cert_file, 'not a certificate\n');
    const keys = ['server.tls', 'receivers.otlp.protocols.grpc.tls', 'receivers.otlp.protocols.http.tls', 'receivers.zipkin.tls'];
    for (const key of keys) {
      await waitFor(`the error logged for ${key}`, () =>
        skein.logs.some((l) => l['tls'] === key && l['level'] === 'error' && String(l['err']).includes(files.cert_file)),
      );
    }
    for (const listener of LISTENERS) {
      const got = await handshake(hostPort(skein, listener), { ca: pki.ca.cert });
      assert.equal(got.ok && got.fingerprint256, before.fingerprint256, listener);
    }
    replace(files.cert_file, renewed.cert);
  });
});

describe('start-up', () => {
  test('without TLS settings the ready line is as it always was: no tls, http:// URLs', async () => {
    const skein = await startSkein();
    try {
      const ready = skein.logs.find((l) => l['msg'] === 'skein ready')!;
      assert.equal('tls' in ready, false);
      assert.match(skein.url, /^http:/);
    } finally {
      await skein.stop();
    }
  });

  test('a certificate file that cannot be read stops start-up, naming the key and the file', async () => {
    const missing = join(pki.dir, 'missing.crt');
    await assert.rejects(
      startSkein({ configYaml: `receivers:\n  otlp:\n    protocols:\n      grpc: { tls: { cert_file: ${missing}, key_file: ${pki.server.keyFile} } }\n` }),
      (err: Error) => err.message.includes(`skein: receivers.otlp.protocols.grpc.tls.cert_file ${missing}: ENOENT`),
    );
  });

  test('a key that is not the certificate’s stops start-up, naming both files', async () => {
    await assert.rejects(
      startSkein({ configYaml: `server: { tls: { cert_file: ${pki.server.certFile}, key_file: ${pki.client.keyFile} } }\n` }),
      (err: Error) => err.message.includes(`skein: server.tls: cert_file ${pki.server.certFile} and key_file ${pki.client.keyFile} do not go together`),
    );
  });

  test('a client CA file without a certificate stops start-up', async () => {
    const empty = join(certDir(), 'empty-ca.crt');
    writeFileSync(empty, '# nothing\n');
    await assert.rejects(
      startSkein({ configYaml: `server: { tls: { cert_file: ${pki.server.certFile}, key_file: ${pki.server.keyFile}, client_ca_file: ${empty} } }\n` }),
      (err: Error) => err.message.includes(`skein: server.tls.client_ca_file ${empty}: no PEM certificate in it`),
    );
  });
});
