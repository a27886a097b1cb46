// The `skein` commands that ask the query API, against a Skein that asks for bearer tokens:
// --token or SKEIN_TOKEN reads the token's tenant; a missing, wrong or insufficient token is
// refused with a message naming the server and what to do, never repeating the token; an
// API speaking TLS (server.tls) is verified with --ca-file / SKEIN_CA_FILE, and one asking for
// a client certificate (client_ca_file) gets --cert-file / --key-file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, type ResourceSpans } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, span } from '../helpers/spans.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { httpsRequest, type ClientTls } from '../helpers/tls-client.js';
import { waitFor } from '../helpers/poll.js';

const WRITER_A = 'cli-writer-team-a-0123456789';
const READER_A = 'cli-reader-team-a-0123456789';
const WRONG = 'cli-not-a-token-at-all-98765';

const CONFIG = `
auth:
  bearer_tokens:
    - { token: ${WRITER_A}, name: writer-a, tenant: team-a, rights: [write] }
    - { token: ${READER_A}, name: reader-a, tenant: team-a, rights: [read] }
`;

/** Every command that calls the API, with the arguments it needs. */
function commands(traceId: string): string[][] {
  return [['query', traceId], ['search', '{ resource.service.name = "cart-a" }'], ['tags'], ['tags', '--values', 'resource.service.name'], ['quarantine', 'list']];
}

function assertNoToken(r: CliResult, ...tokens: string[]): void {
  for (const t of tokens) assert.ok(!r.stdout.includes(t) && !r.stderr.includes(t), `the output shows a token:\n${r.stdout}\n${r.stderr}`);
}

/** CONFIG with the API speaking TLS, asking for a client certificate from `clientCaFile` if given. */
function httpsConfig(pki: TestPki, clientCaFile?: string): string {
  const tls = { cert_file: pki.server.certFile, key_file: pki.server.keyFile, ...(clientCaFile ? { client_ca_file: clientCaFile } : {}) };
  return `${CONFIG}server: { tls: ${JSON.stringify(tls)} }\n`;
}

describe('skein commands with credentials', () => {
  let pki: TestPki;
  /** Plain HTTP; one whose API speaks TLS; one whose API wants a client certificate too. */
  let skein: SkeinProcess;
  let httpsSkein: SkeinProcess;
  let mtlsSkein: SkeinProcess;
  let traceId: string;
  let batch: ResourceSpans[];

  /** The trace (one span of cart-a) sent to `s`'s plain OTLP/HTTP port, and readable on its API as `client` asks. */
  async function ingest(s: SkeinProcess, client?: ClientTls): Promise<void> {
    const res = await postProtobuf(s.otlpHttpUrl, batch, { authorization: `Bearer ${WRITER_A}` });
    assert.equal(res.status, 200, await res.text());
    if (!client) return;
    const headers = { authorization: `Bearer ${READER_A}`, 'x-scope-orgid': 'team-a' };
    await waitFor(`the trace on ${s.url}`, async () => (await httpsRequest(`${s.url}/api/traces/${traceId}`, { ...client, headers })).status === 200);
  }

  before(async () => {
    pki = await createTestPki();
    const client = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
    [skein, httpsSkein, mtlsSkein] = await Promise.all([
      startSkein({ configYaml: CONFIG }),
      startSkein({ configYaml: httpsConfig(pki), tls: { ca: pki.ca.cert } }),
      startSkein({ configYaml: httpsConfig(pki, pki.ca.certFile), tls: client }),
    ]);
    const id = newTraceId();
    traceId = toHex(id);
    batch = batchOf('cart-a', [span({ traceId: id, name: 'GET /cart' })]);
    await Promise.all([ingest(skein), ingest(httpsSkein, { ca: pki.ca.cert }), ingest(mtlsSkein, client)]);
  });

  after(async () => {
    await Promise.all([skein?.stop(), httpsSkein?.stop(), mtlsSkein?.stop()]);
  });

  test("with --token, or SKEIN_TOKEN, every command reads the token's tenant", async () => {
    const first = await waitFor('the trace found by search', async () => {
      const r = await runCli(['search', '{ resource.service.name = "cart-a" }', '--server', skein.url, '--tenant', 'team-a', '--token', READER_A]);
      return r.code === 0 && r.stdout.includes('cart-a') ? r : undefined;
    });
    assert.match(first.stdout, /GET \/cart/);
    await Promise.all(
      commands(traceId).map(async (args) => {
        const byFlag = await runCli([...args, '--server', skein.url, '--tenant', 'team-a', '--token', READER_A]);
        assert.equal(byFlag.code, 0, `${args.join(' ')}: ${byFlag.stderr}`);
        const byEnv = await runCli([...args, '--server', skein.url, '--tenant', 'team-a'], { SKEIN_TOKEN: READER_A });
        assert.equal(byEnv.code, 0, `${args.join(' ')} with SKEIN_TOKEN: ${byEnv.stderr}`);
        assert.equal(byEnv.stdout, byFlag.stdout);
        assertNoToken(byFlag, READER_A);
      }),
    );
    const tree = await runCli(['query', traceId, '--server', skein.url, '--tenant', 'team-a'], { SKEIN_TOKEN: READER_A });
    assert.match(tree.stdout, /└─ cart-a {2}GET \/cart/);
  });

  test('without a token every command says the server wants one and how to give it', async () => {
    const all = commands(traceId);
    const results = await Promise.all(all.map((args) => runCli([...args, '--server', skein.url, '--tenant', 'team-a'], { SKEIN_TOKEN: undefined })));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, all[i]!.join(' '));
      assert.equal(r.stderr.trim(), `skein: ${skein.url} refused the request: authentication required (401); pass --token or set SKEIN_TOKEN`);
    });
  });

  test('a wrong token, a token without the read right, or another tenant: refused with the reason, the token never printed', async () => {
    const wrong = await runCli(['search', '{ }', '--server', skein.url, '--tenant', 'team-a', '--token', WRONG]);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr.trim(), `skein: ${skein.url} refused the token (401): the bearer token is not valid here`);
    assertNoToken(wrong, WRONG);

    const spaced = await runCli(['tags', '--server', skein.url], { SKEIN_TOKEN: `Bearer ${READER_A}` });
    assert.equal(spaced.stderr.trim(), 'skein: --token (or SKEIN_TOKEN) must be printable ASCII without spaces: the token alone, without "Bearer"');
    assertNoToken(spaced, READER_A);

    const writeOnly = await runCli(['tags', '--server', skein.url, '--tenant', 'team-a'], { SKEIN_TOKEN: WRITER_A });
    assert.equal(writeOnly.code, 1);
    assert.equal(writeOnly.stderr.trim(), `skein: ${skein.url} refused the request (403): this credential lacks the read right`);
    assertNoToken(writeOnly, WRITER_A);

    const otherTenant = await runCli(['query', traceId, '--server', skein.url, '--tenant', 'team-b', '--token', READER_A]);
    assert.equal(otherTenant.code, 1);
    assert.equal(otherTenant.stderr.trim(), `skein: ${skein.url} refused the request (403): X-Scope-OrgID: this credential does not allow tenant "team-b"`);
    assertNoToken(otherTenant, READER_A);
  });

  test('https: --ca-file or SKEIN_CA_FILE verifies the server; without it the certificate is refused with what to pass', async () => {
    const server = httpsSkein.url;
    assert.match(server, /^https:\/\//);
    const args = ['query', traceId, '--server', server, '--tenant', 'team-a'];
    const byFlag = await runCli([...args, '--ca-file', pki.ca.certFile], { SKEIN_TOKEN: READER_A });
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.match(byFlag.stdout, /GET \/cart/);
    const byEnv = await runCli(args, { SKEIN_TOKEN: READER_A, SKEIN_CA_FILE: pki.ca.certFile });
    assert.equal(byEnv.code, 0, byEnv.stderr);

    const untrusted = await runCli(args, { SKEIN_TOKEN: READER_A, SKEIN_CA_FILE: undefined });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, new RegExp(`^skein: cannot reach ${server}: .*certificate.*; pass --ca-file \\(or set SKEIN_CA_FILE\\) with the CA that signed the server's certificate$`, 'm'));

    const missing = await runCli([...args, '--ca-file', '/nonexistent/ca.pem'], { SKEIN_TOKEN: READER_A });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'skein: --ca-file /nonexistent/ca.pem: cannot read it (ENOENT)');
  });

  test('https with client certificates: --cert-file and --key-file are sent; without them the message says so', async () => {
    const args = ['tags', '--server', mtlsSkein.url, '--tenant', 'team-a', '--ca-file', pki.ca.certFile];
    const ok = await runCli([...args, '--cert-file', pki.client.certFile, '--key-file', pki.client.keyFile], { SKEIN_TOKEN: READER_A });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /service\.name/);
    const without = await runCli(args, { SKEIN_TOKEN: READER_A });
    assert.equal(without.code, 1);
    assert.match(without.stderr, /^skein: cannot reach https:\/\/\S+: the server refused the TLS handshake \(\w+\): it asks for a client certificate it trusts; pass --cert-file and --key-file$/m);
    const half = await runCli([...args, '--cert-file', pki.client.certFile], { SKEIN_TOKEN: READER_A });
    assert.equal(half.stderr.trim(), 'skein: --cert-file and --key-file go together: a client certificate and its key');
  });
});
