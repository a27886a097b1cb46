// @skein/instrument exporting to a Skein that asks for bearer tokens: the token (in the
// code's `headers` or in OTEL_EXPORTER_OTLP_HEADERS) gets the spans stored in its tenant,
// a missing, wrong or read-only one is refused, and the kit's warning never shows it. TLS
// on Skein's OTLP receivers (and mTLS with client_ca_file): the CA, and a client
// certificate, from the code's `tls` or from the OTEL_EXPORTER_OTLP_* files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, initTracing, withSpan, type ExportTls, type OtlpProtocol } from '@skein/instrument';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { waitFor } from '../helpers/poll.js';

const WRITER = 'kit-writer-team-a-0123456789';
const READER = 'kit-reader-team-b-0123456789';
const WRONG = 'kit-not-a-token-at-all-987654';

const CONFIG = `
auth:
  bearer_tokens:
    - { token: ${WRITER}, name: writer-a, tenant: team-a, rights: [write, read] }
    - { token: ${READER}, name: reader-b, tenant: team-b, rights: [read] }
`;

const PROTOCOLS: OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** CONFIG with TLS on both OTLP receivers, asking for a client certificate from `clientCaFile` if given. */
function otlpTlsConfig(pki: TestPki, clientCaFile?: string): string {
  const tls = JSON.stringify({ cert_file: pki.server.certFile, key_file: pki.server.keyFile, ...(clientCaFile ? { client_ca_file: clientCaFile } : {}) });
  return `${CONFIG}receivers:\n  otlp:\n    protocols:\n      grpc: { tls: ${tls} }\n      http: { tls: ${tls} }\n`;
}

interface Exported {
  traceId: string;
  /** Everything the kit logged, one JSON line each. */
  log: string;
  failures: Array<Record<string, unknown>>;
}

describe('@skein/instrument with credentials', () => {
  let pki: TestPki;
  /** Plain OTLP receivers; ones speaking TLS; ones wanting a client certificate too. The API is plain on all three. */
  let skein: SkeinProcess;
  let tlsSkein: SkeinProcess;
  let mtlsSkein: SkeinProcess;

  before(async () => {
    pki = await createTestPki();
    [skein, tlsSkein, mtlsSkein] = await Promise.all([
      startSkein({ configYaml: CONFIG }),
      startSkein({ configYaml: otlpTlsConfig(pki) }),
      startSkein({ configYaml: otlpTlsConfig(pki, pki.ca.certFile) }),
    ]);
  });

  after(async () => {
    await Promise.all([skein?.stop(), tlsSkein?.stop(), mtlsSkein?.stop()]);
  });

  function endpoint(protocol: OtlpProtocol, s: SkeinProcess = skein): string {
    if (protocol !== 'grpc') return s.otlpHttpUrl;
    return `${s.tls.includes('otlpGrpc') ? 'https' : 'http'}://${s.grpcAddr}`;
  }

  /** One span exported by the kit, flushed and shut down. */
  async function exportOne(protocol: OtlpProtocol, url: string, options: { headers?: Record<string, string>; tls?: ExportTls } = {}): Promise<Exported> {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    const tracing = initTracing({
      serviceName: 'kit-credentials',
      serviceVersion: '1',
      logger: createLogger({ name: 'kit-credentials', format: 'json', destination }),
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_BSP_SCHEDULE_DELAY: '600000' },
      ...options,
    });
    const traceId = await withSpan('kit.credentials', {}, (span) => span.spanContext().traceId);
    await tracing.forceFlush(20_000);
    await tracing.shutdown();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    return { traceId, log: lines.join('\n'), failures: records.filter((r) => r['event'] === 'otel.export.failed') };
  }

  async function traceStatus(s: SkeinProcess, traceId: string, token: string, tenant: string): Promise<number> {
    const res = await fetch(`${s.url}/api/traces/${traceId}`, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': tenant } });
    await res.arrayBuffer();
    return res.status;
  }

  /** `s`: the Skein the span was exported to. */
  async function assertStoredInTeamA(e: Exported, what: string, s: SkeinProcess = skein): Promise<void> {
    assert.deepEqual(e.failures, [], `${what}: ${e.log}`);
    await waitFor(`${what}: the trace in tenant team-a`, async () => (await traceStatus(s, e.traceId, WRITER, 'team-a')) === 200);
    // Another tenant's reader does not see it.
    assert.equal(await traceStatus(s, e.traceId, READER, 'team-b'), 404);
  }

  async function assertRefused(e: Exported, what: string, error: RegExp, secrets: string[], s: SkeinProcess = skein): Promise<void> {
    assert.equal(e.failures.length, 1, `${what}: one export failure warning: ${e.log}`);
    assert.match(String(e.failures[0]!['error']), error, what);
    for (const secret of secrets) assert.ok(!e.log.includes(secret), `${what}: the kit's log shows a credential: ${e.log}`);
    assert.equal(await traceStatus(s, e.traceId, WRITER, 'team-a'), 404, `${what}: nothing stored`);
  }

  test("with the token in `headers`, spans are stored in the token's tenant, over gRPC and both OTLP/HTTP encodings", async () => {
    for (const protocol of PROTOCOLS) {
      const e = await exportOne(protocol, endpoint(protocol), { headers: { Authorization: `Bearer ${WRITER}`, 'X-Scope-OrgID': 'team-a' } });
      await assertStoredInTeamA(e, protocol);
    }
  });

  test('without a token, with a wrong one or a read-only one, the export is refused and the warning shows no credential', async () => {
    for (const protocol of ['grpc', 'http/protobuf'] as const) {
      const unauthenticated = protocol === 'grpc' ? /UNAUTHENTICATED/ : /Unauthorized/;
      await assertRefused(await exportOne(protocol, endpoint(protocol)), `${protocol}, no token`, unauthenticated, []);
      await assertRefused(await exportOne(protocol, endpoint(protocol), { headers: { authorization: `Bearer ${WRONG}` } }), `${protocol}, wrong token`, unauthenticated, [WRONG]);
      await assertRefused(
        await exportOne(protocol, endpoint(protocol), { headers: { authorization: `Bearer ${READER}` } }),
        `${protocol}, read-only token`,
        protocol === 'grpc' ? /PERMISSION_DENIED/ : /Forbidden/,
        [READER],
      );
    }
  });

  test('OTEL_EXPORTER_OTLP_HEADERS is read by the exporter itself, a header given in code wins over it, and neither is logged', async () => {
    const saved = process.env['OTEL_EXPORTER_OTLP_HEADERS'];
    try {
      for (const protocol of ['grpc', 'http/protobuf'] as const) {
        process.env['OTEL_EXPORTER_OTLP_HEADERS'] = `authorization=Bearer%20${WRITER},x-scope-orgid=team-a`;
        await assertStoredInTeamA(await exportOne(protocol, endpoint(protocol)), `${protocol}, token from the environment`);
        const unauthenticated = protocol === 'grpc' ? /UNAUTHENTICATED/ : /Unauthorized/;
        await assertRefused(
          await exportOne(protocol, endpoint(protocol), { headers: { authorization: `Bearer ${WRONG}` } }),
          `${protocol}, code's wrong token over the environment's`,
          unauthenticated,
          [WRONG, WRITER],
        );
        process.env['OTEL_EXPORTER_OTLP_HEADERS'] = `authorization=Bearer%20${WRONG}`;
        await assertRefused(await exportOne(protocol, endpoint(protocol)), `${protocol}, wrong token from the environment`, unauthenticated, [WRONG]);
      }
    } finally {
      if (saved === undefined) delete process.env['OTEL_EXPORTER_OTLP_HEADERS'];
      else process.env['OTEL_EXPORTER_OTLP_HEADERS'] = saved;
    }
  });

  test("TLS: the code's CA file verifies the collector; without it the export fails; mTLS sends the code's client certificate", async () => {
    const headers = { authorization: `Bearer ${WRITER}` };
    for (const protocol of ['grpc', 'http/protobuf'] as const) {
      const tls = endpoint(protocol, tlsSkein);
      assert.match(tls, /^https:\/\//);
      await assertStoredInTeamA(await exportOne(protocol, tls, { headers, tls: { caFile: pki.ca.certFile } }), `${protocol} over TLS`, tlsSkein);
      await assertRefused(await exportOne(protocol, tls, { headers }), `${protocol} over TLS, CA not trusted`, /certificate|self.signed|UNAVAILABLE/i, [WRITER], tlsSkein);

      const mtls = endpoint(protocol, mtlsSkein);
      await assertStoredInTeamA(
        await exportOne(protocol, mtls, { headers, tls: { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile } }),
        `${protocol} over mTLS`,
        mtlsSkein,
      );
      const noClientCert = await exportOne(protocol, mtls, { headers, tls: { caFile: pki.ca.certFile } });
      assert.equal(noClientCert.failures.length, 1, `${protocol} over mTLS without a client certificate is refused: ${noClientCert.log}`);
      assert.ok(!noClientCert.log.includes(WRITER));
    }
  });

  test('TLS: OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY are read by the exporter itself', async () => {
    const names = ['OTEL_EXPORTER_OTLP_CERTIFICATE', 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', 'OTEL_EXPORTER_OTLP_CLIENT_KEY'] as const;
    const saved = names.map((n) => process.env[n]);
    try {
      process.env['OTEL_EXPORTER_OTLP_CERTIFICATE'] = pki.ca.certFile;
      process.env['OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'] = pki.client.certFile;
      process.env['OTEL_EXPORTER_OTLP_CLIENT_KEY'] = pki.client.keyFile;
      for (const protocol of ['grpc', 'http/protobuf'] as const) {
        const mtls = endpoint(protocol, mtlsSkein);
        await assertStoredInTeamA(await exportOne(protocol, mtls, { headers: { authorization: `Bearer ${WRITER}` } }), `${protocol} over mTLS, files from the environment`, mtlsSkein);
      }
    } finally {
      names.forEach((n, i) => {
        if (saved[i] === undefined) delete process.env[n];
        else process.env[n] = saved[i];
      });
    }
  });
});
