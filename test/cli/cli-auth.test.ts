// The `skein` commands that ask the query API, against a Skein that asks for bearer tokens:
// --token or SKEIN_TOKEN reads the token's tenant; a missing, wrong or insufficient token is
// refused with a message naming the server and what to do, never repeating the token; an
// https:// server behind a TLS-terminating proxy is verified with --ca-file / SKEIN_CA_FILE,
// and one asking for a client certificate gets --cert-file / --key-file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, span } from '../helpers/spans.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { makeClientTestCerts, type ClientTestCerts } from '../helpers/client-certs.js';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy.js';
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

describe('skein commands with credentials', () => {
  let skein: SkeinProcess;
  let certs: ClientTestCerts;
  let traceId: string;
  const proxies: TlsProxy[] = [];

  before(async () => {
    [skein, certs] = await Promise.all([startSkein({ configYaml: CONFIG }), makeClientTestCerts()]);
    const id = newTraceId();
    traceId = toHex(id);
    const res = await postProtobuf(skein.otlpHttpUrl, batchOf('cart-a', [span({ traceId: id, name: 'GET /cart' })]), { authorization: `Bearer ${WRITER_A}` });
    assert.equal(res.status, 200, await res.text());
  });

  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await skein?.stop();
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
    const proxy = await startTlsProxy({ target: skein.url.replace('http://', ''), certFile: certs.serverCertFile, keyFile: certs.serverKeyFile });
    proxies.push(proxy);
    const server = `https://${proxy.addr}`;
    const args = ['query', traceId, '--server', server, '--tenant', 'team-a'];
    const byFlag = await runCli([...args, '--ca-file', certs.caFile], { SKEIN_TOKEN: READER_A });
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.match(byFlag.stdout, /GET \/cart/);
    const byEnv = await runCli(args, { SKEIN_TOKEN: READER_A, SKEIN_CA_FILE: certs.caFile });
    assert.equal(byEnv.code, 0, byEnv.stderr);

    const untrusted = await runCli(args, { SKEIN_TOKEN: READER_A, SKEIN_CA_FILE: undefined });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, new RegExp(`^skein: cannot reach ${server}: .*certificate.*; pass --ca-file \\(or set SKEIN_CA_FILE\\) with the CA that signed the server's certificate$`, 'm'));

    const missing = await runCli([...args, '--ca-file', '/nonexistent/ca.pem'], { SKEIN_TOKEN: READER_A });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'skein: --ca-file /nonexistent/ca.pem: cannot read it (ENOENT)');
  });

  test('https with client certificates: --cert-file and --key-file are sent; without them the message says so', async () => {
    const proxy = await startTlsProxy({ target: skein.url.replace('http://', ''), certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, clientCaFile: certs.caFile });
    proxies.push(proxy);
    const args = ['tags', '--server', `https://${proxy.addr}`, '--tenant', 'team-a', '--ca-file', certs.caFile];
    const ok = await runCli([...args, '--cert-file', certs.clientCertFile, '--key-file', certs.clientKeyFile], { SKEIN_TOKEN: READER_A });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /service\.name/);
    const without = await runCli(args, { SKEIN_TOKEN: READER_A });
    assert.equal(without.code, 1);
    assert.match(without.stderr, /^skein: cannot reach https:\/\/\S+: the server refused the TLS handshake \(\w+\): it asks for a client certificate it trusts; pass --cert-file and --key-file$/m);
    const half = await runCli([...args, '--cert-file', certs.clientCertFile], { SKEIN_TOKEN: READER_A });
    assert.equal(half.stderr.trim(), 'skein: --cert-file and --key-file go together: a client certificate and its key');
  });
});
