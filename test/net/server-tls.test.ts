// A listener's TLS settings read from their files: what stops start-up (named by key and file),
// and what a reload hands on — a new context for a renewed certificate, nothing for a bad file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ConfigError } from '../../src/config/load.js';
import { openServerTls, type TlsContext } from '../../src/net/server-tls.js';
import { certDir, createTestPki, type TestPki } from '../helpers/certs.js';
import { waitFor } from '../helpers/poll.js';

let pki: TestPki;
const lines: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  }),
);

before(async () => {
  pki = await createTestPki();
});
after(() => logger.flush());

const settings = (over: Record<string, unknown> = {}) => ({
  cert_file: pki.server.certFile,
  key_file: pki.server.keyFile,
  client_ca_file: '',
  min_version: '1.2' as const,
  reload_interval: 0,
  ...over,
});

test('files that cannot be used stop start-up with a ConfigError naming the key and the file', () => {
  const garbage = join(certDir(), 'garbage.pem');
  writeFileSync(garbage, 'garbage\n');
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ cert_file: garbage }, `server.tls.cert_file ${garbage}: not a PEM certificate`],
    [{ key_file: garbage }, `server.tls: key_file ${garbage}:`],
    [{ key_file: join(pki.dir, 'nope.key') }, `server.tls.key_file ${join(pki.dir, 'nope.key')}: ENOENT`],
    [{ key_file: pki.client.keyFile }, `server.tls: cert_file ${pki.server.certFile} and key_file ${pki.client.keyFile} do not go together`],
    [{ client_ca_file: garbage }, `server.tls.client_ca_file ${garbage}: no PEM certificate in it`],
  ];
  for (const [over, message] of cases) {
    assert.throws(
      () => openServerTls(settings(over), 'server.tls', logger),
      (err: unknown) => err instanceof ConfigError && err.message.startsWith(message),
      message,
    );
  }
});

test('server options: client certificates asked and required only with a client CA; the lowest version as configured', () => {
  const plain = openServerTls(settings(), 'server.tls', logger);
  const mutual = openServerTls(settings({ client_ca_file: pki.ca.certFile, min_version: '1.3' }), 'server.tls', logger);
  try {
    assert.deepEqual([plain.mutual, plain.serverOptions().requestCert, plain.serverOptions().rejectUnauthorized, plain.serverOptions().minVersion], [false, false, false, 'TLSv1.2']);
    assert.deepEqual([mutual.mutual, mutual.serverOptions().requestCert, mutual.serverOptions().rejectUnauthorized, mutual.serverOptions().minVersion], [true, true, true, 'TLSv1.3']);
    assert.equal(String(mutual.context().ca), pki.ca.cert);
  } finally {
    plain.close();
    mutual.close();
  }
});

test('a reload hands on the renewed certificate once; a bad file is logged once and hands on nothing', async () => {
  const dir = certDir();
  const files = { cert_file: join(dir, 'tls.crt'), key_file: join(dir, 'tls.key') };
  copyFileSync(pki.server.certFile, files.cert_file);
  copyFileSync(pki.server.keyFile, files.key_file);
  const replace = (path: string, content: string) => {
    writeFileSync(`${path}.new`, content);
    renameSync(`${path}.new`, path);
  };
  const tls = openServerTls(settings({ ...files, reload_interval: 20 }), 'receivers.zipkin.tls', logger);
  const seen: TlsContext[] = [];
  tls.onReload((c) => seen.push(c));
  try {
    const renewed = await pki.ca.server({ name: 'renewed-unit' });
    replace(files.key_file, renewed.key);
    replace(files.cert_file, renewed.cert);
    await waitFor('the renewed certificate', () => seen.length > 0 && new X509Certificate(seen.at(-1)!.cert as Buffer).fingerprint256 === renewed.fingerprint256);
    assert.equal(new X509Certificate(tls.context().cert as Buffer).fingerprint256, renewed.fingerprint256);
    const handedOn = seen.length;

    replace(files.cert_file, 'broken\n');
    const failures = () => lines.filter((l) => l['tls'] === 'receivers.zipkin.tls' && l['level'] === 50 && String(l['err']).includes('not a PEM certificate'));
    await waitFor('the bad file to be logged', () => failures().length > 0);
    assert.equal(seen.length, handedOn, 'nothing handed on for a bad file');
    assert.equal(new X509Certificate(tls.context().cert as Buffer).fingerprint256, renewed.fingerprint256, 'the previous context stays');

    // Renewed again, the key first: the next context handed on is the new pair, and the bad file was logged once.
    const again = await pki.ca.server({ name: 'renewed-again-unit' });
    replace(files.key_file, again.key);
    replace(files.cert_file, again.cert);
    await waitFor('the next renewal', () => seen.length > handedOn && new X509Certificate(seen.at(-1)!.cert as Buffer).fingerprint256 === again.fingerprint256);
    assert.equal(failures().length, 1, 'a bad file left in place is logged once, not at every interval');
  } finally {
    tls.close();
  }
});
