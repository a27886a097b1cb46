import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load.js';
import { REDACTED, renderConfig } from '../../src/config/render.js';
import { formatDuration, parseBytes, parseDuration, parseWatermark } from '../../src/config/units.js';
import { tempDir } from '../helpers/skein-process.js';

test('durations and sizes parse as Tempo and the collector write them', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('14d'), 14 * 86_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('3x'), undefined);
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(parseBytes('4MiB'), 4 * 1024 * 1024);
  assert.equal(parseBytes('5MB'), 5_000_000);
  assert.equal(parseBytes(1024), 1024);
  assert.equal(parseBytes('lots'), undefined);
});

test('the defaults: loopback addresses, ./data, 14 days retention, 4 MiB requests', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.server.http_listen_address, '127.0.0.1:3200');
  assert.equal(c.receivers.otlp.protocols.grpc.endpoint, '127.0.0.1:4317');
  assert.equal(c.receivers.otlp.protocols.http.endpoint, '127.0.0.1:4318');
  assert.equal(c.storage.path, './data');
  assert.equal(c.storage.retention, 14 * 86_400_000);
  assert.equal(c.limits.max_request_bytes, 4 * 1024 * 1024);
});

test('environment overrides each set one key; flags override the environment', () => {
  const c = loadConfig({
    env: { SKEIN_DATA_DIR: '/tmp/x', SKEIN_OTLP_GRPC_ADDR: '127.0.0.1:5317', SKEIN_OTLP_HTTP_ADDR: '127.0.0.1:5318', SKEIN_HTTP_ADDR: '127.0.0.1:4200' },
    overrides: [{ path: ['storage', 'path'], value: '/tmp/flag' }],
  });
  assert.equal(c.storage.path, '/tmp/flag');
  assert.equal(c.receivers.otlp.protocols.grpc.endpoint, '127.0.0.1:5317');
  assert.equal(c.receivers.otlp.protocols.http.endpoint, '127.0.0.1:5318');
  assert.equal(c.server.http_listen_address, '127.0.0.1:4200');
});

test('unknown keys and bad values fail with the key path', () => {
  const file = join(tempDir(), 'bad.yaml');
  writeFileSync(file, 'storage:\n  retention: soon\n  wal:\n    sync_policy: sometimes\n    fsync: true\nserver:\n  http_listen_address: localhost\n');
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /storage\.retention: invalid duration "soon"/);
      assert.match(err.message, /storage\.wal\.sync_policy/);
      assert.match(err.message, /storage\.wal\.fsync: unknown key/);
      assert.match(err.message, /server\.http_listen_address: expected host:port/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ file: '/nonexistent/skein.yaml', env: {} }), /cannot read/);
});

test('rendered defaults read back to the same configuration', () => {
  const defaults = loadConfig({ env: {} });
  const rendered = renderConfig(defaults) as { storage: { retention: string }; limits: { max_request_bytes: string } };
  assert.equal(rendered.storage.retention, '14d');
  assert.equal(rendered.limits.max_request_bytes, '4MiB');
  assert.deepEqual(validateConfig(parseYaml(JSON.stringify(rendered))), defaults);
});

test('retention by size and the disk watermarks: defaults, both watermark forms, and checks naming the key', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.storage.max_bytes, 0, 'no size limit unless set');
  assert.deepEqual(c.storage.disk, { high_watermark: '95%', low_watermark: '90%', min_retention: 3_600_000 });
  assert.deepEqual(parseWatermark('90%'), { usedPercent: 90 });
  assert.deepEqual(parseWatermark('12.5 %'), { usedPercent: 12.5 });
  assert.deepEqual(parseWatermark('10GiB'), { freeBytes: 10 * 1024 ** 3 });
  assert.deepEqual(parseWatermark(0), { freeBytes: 0 });
  assert.equal(parseWatermark('101%'), undefined);
  assert.equal(parseWatermark('most'), undefined);

  const set = validateConfig({ storage: { max_bytes: '20GiB', disk: { high_watermark: '5GiB', low_watermark: '8GiB', min_retention: '6h' } } });
  assert.equal(set.storage.max_bytes, 20 * 1024 ** 3);
  assert.deepEqual(set.storage.disk, { high_watermark: '5GiB', low_watermark: '8GiB', min_retention: 6 * 3_600_000 });
  const rendered = renderConfig(set) as { storage: { max_bytes: string; disk: Record<string, string> } };
  assert.equal(rendered.storage.max_bytes, '20GiB');
  assert.deepEqual(rendered.storage.disk, { high_watermark: '5GiB', low_watermark: '8GiB', min_retention: '6h' });
  assert.deepEqual(validateConfig(parseYaml(JSON.stringify(rendered))), set);

  const problems = (disk: Record<string, unknown>): string => {
    try {
      validateConfig({ storage: { disk } });
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };
  assert.match(problems({ high_watermark: 'full' }), /storage\.disk\.high_watermark: invalid watermark "full" \(a percentage of the disk used, e\.g\. 90%, or a size of free space, e\.g\. 10GiB\)/);
  assert.match(problems({ high_watermark: '80%', low_watermark: '85%' }), /storage\.disk\.low_watermark: must not be above high_watermark \(80%\)/);
  assert.match(problems({ high_watermark: '10GiB', low_watermark: '5GiB' }), /storage\.disk\.low_watermark: must leave at least as much free space as high_watermark \(10GiB\)/);
  assert.match(problems({ min_retention: '0s' }), /storage\.disk\.min_retention: must be above 0/);
  // Different forms are not compared: each is checked against the disk as it is.
  assert.equal(problems({ high_watermark: '90%', low_watermark: '50GiB' }), '');
});

test('the S3 secret key is never rendered, and the credentials go in pairs', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const config = validateConfig({ storage: { backend: 's3', s3: { bucket: 'b', access_key_id: 'AKIDEXAMPLE', secret_access_key: secret } } });
  const rendered = renderConfig(config) as { storage: { s3: { access_key_id: string; secret_access_key: string } } };
  assert.equal(rendered.storage.s3.secret_access_key, REDACTED);
  assert.equal(rendered.storage.s3.access_key_id, 'AKIDEXAMPLE');
  assert.ok(!toYaml(rendered).includes(secret));
  // Unset, it renders as it is: there is nothing to hide.
  assert.equal((renderConfig(validateConfig({})) as typeof rendered).storage.s3.secret_access_key, '');
  assert.throws(() => validateConfig({ storage: { s3: { access_key_id: 'AKIDEXAMPLE' } } }), (err: Error) => {
    assert.match(err.message, /storage\.s3\.secret_access_key: set both access_key_id and secret_access_key, or neither/);
    assert.ok(!err.message.includes('AKIDEXAMPLE'));
    return true;
  });
  assert.throws(() => validateConfig({ storage: { s3: { part_size: '1MiB' } } }), /storage\.s3\.part_size: S3 takes multipart upload parts of at least 5MiB/);
});

test('pipeline sections: defaults, collector syntax with named instances, and checks naming the key', () => {
  const defaults = validateConfig({});
  assert.deepEqual(defaults.pipeline, { processors: ['memory_limiter', 'redaction'], exporters: ['store'], connectors: ['servicegraph', 'spanmetrics'] });
  const custom = validateConfig({
    processors: { 'tail_sampling/prod': { policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] }, batch: {} },
    pipeline: { processors: ['memory_limiter', 'redaction', 'tail_sampling/prod', 'batch'] },
  });
  assert.ok('tail_sampling/prod' in custom.processors && 'redaction' in custom.processors, 'user entries join the defaults');
  const refusals: Array<[unknown, RegExp]> = [
    [{ processors: { sampler: {} } }, /processors\.sampler: unknown processor type "sampler"/],
    [{ processors: { batch: { timeout: 'soon' } } }, /processors\.batch\.timeout: /],
    [{ processors: { batch: { bogus: 1 } } }, /processors\.batch\.bogus: unknown key/],
    [{ pipeline: { processors: ['memory_limiter', 'memory_limiter'] } }, /pipeline\.processors\.1: "memory_limiter" is listed twice/],
    [
      { processors: { tail_sampling: { policies: [{ name: 'a', type: 'always_sample' }] } }, pipeline: { processors: ['tail_sampling', 'redaction'] } },
      /pipeline\.processors\.1: "redaction" must come before "tail_sampling"/,
    ],
  ];
  for (const [doc, message] of refusals) {
    assert.throws(() => validateConfig(doc), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(doc));
  }
});
