// What each `--target` runs, as a user sees it: a store behind a collector
// leaves sampling to the collector; a pipeline list naming a component that is
// not configured stops start-up with the key's path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../src/otlp/model.js';
import { CLI_PATH, startSkein, tempDir } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';

/** A sampler that keeps nothing: whatever is stored did not go through it. */
const DROP_ALL = [
  'processors:',
  '  tail_sampling:',
  '    decision_wait: 1s',
  '    policies:',
  '      - {name: none, type: probabilistic, probabilistic: {sampling_percentage: 0}}',
  'pipeline:',
  '  processors: [memory_limiter, redaction, tail_sampling]',
].join('\n');

test('--target store skips tail_sampling (the collector in front samples) and stores every span', async () => {
  const skein = await startSkein({ configYaml: DROP_ALL, args: ['--target', 'store'] });
  try {
    assert.ok(
      skein.logs.some((l) => l['msg'] === 'processor not run by this target' && l['processor'] === 'tail_sampling'),
      'the skipped processor is logged',
    );
    const t = simpleTrace(3);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, t.batch)).status, 200);
    const res = await fetch(`${skein.url}/api/v2/traces/${toHex(t.traceId)}`);
    assert.equal(res.status, 200);
  } finally {
    await skein.stop();
  }
});

test('--target all runs tail_sampling: a drop-everything policy stores nothing', async () => {
  const skein = await startSkein({ configYaml: DROP_ALL });
  try {
    const t = simpleTrace(3);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, t.batch)).status, 200);
    // The decision comes after decision_wait; poll past it and a little more.
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal((await fetch(`${skein.url}/api/v2/traces/${toHex(t.traceId)}`)).status, 404);
  } finally {
    await skein.stop();
  }
});

test('a pipeline naming an unconfigured component fails `config check` and `serve` with its path', () => {
  const file = join(tempDir('skein-config-'), 'skein.yaml');
  writeFileSync(file, 'pipeline:\n  processors: [memory_limiter, redaction, tail_sampling/prod]\n  exporters: [store, otlp]\n');
  for (const args of [['config', 'check', file], ['serve', '--config', file, '--data-dir', tempDir()]]) {
    const run = spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(run.status, 0, `${args[0]} fails`);
    assert.match(run.stderr, /pipeline\.processors\.2: no processor "tail_sampling\/prod" is configured under processors:/);
    assert.match(run.stderr, /pipeline\.exporters\.1: no exporter "otlp" is configured under exporters:/);
  }
});

test('--target collector refuses to start with only the store exporter, saying what to do', () => {
  const run = spawnSync(process.execPath, [CLI_PATH, 'serve', '--target', 'collector', '--data-dir', tempDir()], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, SKEIN_HTTP_ADDR: '127.0.0.1:0', SKEIN_OTLP_GRPC_ADDR: '127.0.0.1:0', SKEIN_OTLP_HTTP_ADDR: '127.0.0.1:0' },
  });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /pipeline\.exporters: "store" keeps spans in this instance, but --target collector runs no store; forward with an otlp or otlphttp exporter instead/);
});
