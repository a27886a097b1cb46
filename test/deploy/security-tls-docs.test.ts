// docs/security.md's TLS examples are valid Skein configs (the TLS section's, and the one for
// TLS between cluster peers, given the bucket a cluster needs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlText, validateConfig } from '../../src/config/load.js';

// dist/test/deploy → repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');

function yamlBlocks(text: string): string[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test('the TLS section’s example configures TLS on all four listeners', () => {
  const section = DOC.slice(DOC.indexOf('\n## TLS\n'), DOC.indexOf('\n## Authentication\n'));
  const [yaml] = yamlBlocks(section);
  assert.ok(yaml, 'the TLS section has an example');
  const c = validateConfig(parseYamlText(yaml, 'docs/security.md TLS example'));
  assert.ok(c.server.tls && c.receivers.otlp.protocols.http.tls && c.receivers.zipkin.tls);
  assert.equal(c.receivers.otlp.protocols.grpc.tls?.min_version, '1.3');
  assert.notEqual(c.receivers.otlp.protocols.grpc.tls?.client_ca_file, '');
});

test('the example of TLS between cluster peers is a valid cluster section', () => {
  const part = DOC.slice(DOC.indexOf('\n### Peers over TLS\n'), DOC.indexOf('\n## What is logged on a refusal\n'));
  const [yaml] = yamlBlocks(part);
  assert.ok(yaml, 'the part has an example');
  const doc = parseYamlText(yaml, 'docs/security.md cluster TLS example') as Record<string, unknown>;
  const c = validateConfig({ ...doc, storage: { backend: 's3', s3: { bucket: 'traces' } } });
  assert.equal(c.cluster.tls.insecure, false);
  assert.ok(c.cluster.tls.ca_file && c.cluster.tls.cert_file && c.cluster.tls.key_file);
});
