// docs/scale-out.md's configuration examples are valid Skein configs, and the
// three-instance example lists the addresses its shell loop starts the instances on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlText, validateConfig } from '../../src/config/load.js';

// dist/test/deploy → repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'scale-out.md'), 'utf8');

test('every YAML example in docs/scale-out.md is a valid configuration', () => {
  const blocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 1, 'the doc has a configuration example');
  for (const [i, text] of blocks.entries()) {
    const config = validateConfig(parseYamlText(text, `docs/scale-out.md example ${i + 1}`), `docs/scale-out.md example ${i + 1}`);
    assert.equal(config.storage.backend, 's3', `example ${i + 1} keeps its blocks in a bucket`);
  }
});

test('the MinIO example: each instance the loop starts is in the peer list, by its OTLP gRPC and API addresses', () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(DOC)![1]!;
  const config = validateConfig(parseYamlText(yaml));
  const peers = config.cluster.peers.map((p) => `${p.otlp_grpc} ${p.http}`);
  // The loop: instance i serves the API on 32<i>0 and OTLP gRPC on 43<i+1>7.
  const started = [0, 1, 2].map((i) => `127.0.0.1:43${i + 1}7 127.0.0.1:32${i}0`);
  assert.deepEqual(peers, started);
  assert.match(DOC, /SKEIN_HTTP_ADDR=127\.0\.0\.1:32\$\{i\}0 SKEIN_OTLP_GRPC_ADDR=127\.0\.0\.1:43\$\{j\}7/);
});
