// The TLS keys: a listener's `tls` and its defaults, and cluster.tls's contradictions named at load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.js';

test('a listener without tls is plain text; with it, min_version 1.2, a reload every minute, no client certificates', () => {
  const c = validateConfig({ server: { tls: { cert_file: '/s.crt', key_file: '/s.key' } } });
  assert.deepEqual(c.server.tls, { cert_file: '/s.crt', key_file: '/s.key', client_ca_file: '', min_version: '1.2', reload_interval: 60_000 });
  assert.equal(c.receivers.otlp.protocols.grpc.tls, undefined);
  assert.throws(() => validateConfig({ server: { tls: { cert_file: '/s.crt', key_file: '/s.key', min_version: '1.1' } } }), /server\.tls\.min_version/);
  assert.throws(() => validateConfig({ receivers: { zipkin: { tls: { cert_file: '/s.crt' } } } }), /receivers\.zipkin\.tls\.key_file/);
});

test('cluster.tls: plaintext by default; contradictions are named with their key', () => {
  assert.deepEqual(validateConfig({}).cluster.tls, { insecure: true, insecure_skip_verify: false });
  assert.deepEqual(validateConfig({ cluster: { tls: { ca_file: '/ca.crt' } } }).cluster.tls, { insecure: false, insecure_skip_verify: false, ca_file: '/ca.crt' });
  assert.throws(() => validateConfig({ cluster: { tls: { insecure: true, ca_file: '/ca.crt' } } }), /cluster\.tls\.insecure: insecure: true is plaintext/);
  assert.throws(() => validateConfig({ cluster: { tls: { cert_file: '/c.crt' } } }), /cluster\.tls\.key_file: cert_file and key_file go together/);
});
