// Per-tenant limits (src/config/overrides.ts): the order a limit is resolved in, how
// messages name it, the file's format and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { Overrides, parseOverridesFile } from '../../src/config/overrides.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { tempDir } from '../helpers/skein-process.js';

function overridesWith(fileText: string | undefined, config: Record<string, unknown> = {}): Overrides {
  const doc: Record<string, unknown> = { ...config };
  if (fileText !== undefined) {
    const file = join(tempDir('skein-overrides-'), 'overrides.yaml');
    writeFileSync(file, fileText);
    doc['overrides'] = { ...(config['overrides'] as object), per_tenant_override_config: file };
  }
  return Overrides.open(validateConfig(doc), silentLogger);
}

test('without overrides every tenant has the settings the limits default to, named by their keys', () => {
  const o = overridesWith(undefined, { limits: { max_attributes_per_span: 64 }, query: { max_spss: 50 }, storage: { retention: '3d' } });
  const l = o.limitsFor('any');
  assert.equal(l.max_attributes_per_span, 64);
  assert.equal(l.named.max_attributes_per_span, 'limits.max_attributes_per_span=64');
  assert.equal(l.max_spans_per_span_set, 50);
  assert.equal(l.named.max_spans_per_span_set, 'query.max_spss=50');
  assert.equal(l.block_retention, 3 * 86_400_000);
  assert.equal(l.named.block_retention, 'storage.retention=3d');
  assert.equal(l.max_bytes_per_trace, 5_000_000);
  assert.equal(l.max_concurrent_queries, 2);
  assert.equal(l.named.max_search_duration, 'query.max_search_duration=7d');
  // Tempo's limits Skein had no setting for are off.
  assert.equal(l.ingestion_rate_limit_bytes, 0);
  assert.equal(l.ingestion_burst_size_bytes, 0);
  assert.equal(l.max_traces_per_user, 0);
});

test('a limit comes from the tenant\'s entry, else the "*" entry, else overrides.defaults, else its setting', () => {
  const o = overridesWith(
    ['overrides:', '  a: { max_traces_per_user: 5, block_retention: 0 }', '  "*": { max_traces_per_user: 7, max_spans_per_span_set: 4 }', '  b:'].join('\n'),
    { overrides: { defaults: { max_traces_per_user: 9, max_spans_per_span_set: 3, block_retention: '1d' } } },
  );
  const a = o.limitsFor('a');
  assert.equal(a.max_traces_per_user, 5);
  assert.equal(a.named.max_traces_per_user, 'max_traces_per_user=5 (override for tenant "a")');
  // A tenant's own entry replaces "*" as a whole; what it leaves out comes from the defaults.
  assert.equal(a.max_spans_per_span_set, 3);
  assert.equal(a.named.max_spans_per_span_set, 'overrides.defaults.max_spans_per_span_set=3');
  // block_retention 0 is Tempo's "unset", never "delete everything".
  assert.equal(a.block_retention, 86_400_000);
  const c = o.limitsFor('c');
  assert.equal(c.max_traces_per_user, 7);
  assert.equal(c.named.max_traces_per_user, 'max_traces_per_user=7 (override for tenant "*")');
  assert.equal(c.max_spans_per_span_set, 4);
  // An empty entry is the tenant's own: it sets nothing, and "*" does not apply to it.
  assert.equal(o.limitsFor('b').max_traces_per_user, 9);
  assert.equal(o.limitsFor('a'), a, 'resolved once until the file changes');
  o.close();
});

test('block_retention_bytes defaults to storage.max_bytes; a tenant\'s 0 exempts it from a limit the others have', () => {
  const o = overridesWith('overrides:\n  big: { block_retention_bytes: 50GiB }\n  exempt: { block_retention_bytes: 0 }\n', { storage: { max_bytes: '20GiB' } });
  assert.equal(o.limitsFor('any').block_retention_bytes, 20 * 1024 ** 3);
  assert.equal(o.limitsFor('any').named.block_retention_bytes, `storage.max_bytes=${20 * 1024 ** 3}`);
  assert.equal(o.limitsFor('big').block_retention_bytes, 50 * 1024 ** 3);
  assert.equal(o.limitsFor('big').named.block_retention_bytes, `block_retention_bytes=${50 * 1024 ** 3} (override for tenant "big")`);
  assert.equal(o.limitsFor('exempt').block_retention_bytes, 0);
  o.close();
  assert.equal(overridesWith(undefined).limitsFor('any').block_retention_bytes, 0, 'no limit unless one is set');
});

test('a rate without a burst gets one of a second of it, or of the largest request accepted', () => {
  const o = overridesWith('overrides:\n  slow: { ingestion_rate_limit_bytes: 1000 }\n  fast: { ingestion_rate_limit_bytes: 10MB }\n', { limits: { max_request_bytes: '1MiB' } });
  assert.equal(o.limitsFor('slow').ingestion_burst_size_bytes, 1024 * 1024);
  assert.match(o.limitsFor('slow').named.ingestion_burst_size_bytes, /unset: the larger of ingestion_rate_limit_bytes and limits.max_request_bytes/);
  assert.equal(o.limitsFor('fast').ingestion_burst_size_bytes, 10_000_000);
  o.close();
});

test('a query over several tenants has the strictest of their limits, 0 counting as no limit', () => {
  const o = overridesWith('overrides:\n  a: { max_search_duration: 0, max_spans_per_span_set: 10 }\n  b: { max_search_duration: 2h, max_spans_per_span_set: 50 }\n');
  const both = o.strictest(['a', 'b']);
  assert.equal(both.max_search_duration, 2 * 3_600_000);
  assert.equal(both.named.max_search_duration, 'max_search_duration=2h (override for tenant "b")');
  assert.equal(both.max_spans_per_span_set, 10);
  assert.equal(o.strictest(['a']), o.limitsFor('a'));
  o.close();
});

test('the file\'s errors name the tenant and the key', () => {
  assert.deepEqual(parseOverridesFile(''), {});
  assert.deepEqual(parseOverridesFile('overrides:\n'), {});
  assert.deepEqual(parseOverridesFile('overrides:\n  a: { max_bytes_per_trace: 1KB }\n'), { a: { max_bytes_per_trace: 1000 } });
  assert.throws(
    () => parseOverridesFile('overrides:\n  a: { max_traces_per_user: -1, max_spans: 2 }\n  "b/c": {}\n'),
    (err: Error) => {
      assert.match(err.message, /tenant "a": max_traces_per_user: Too small/);
      assert.match(err.message, /tenant "a": unknown key max_spans \(known: ingestion_rate_limit_bytes, /);
      assert.match(err.message, /tenant "b\/c": not a tenant ID/);
      return true;
    },
  );
  assert.throws(() => parseOverridesFile('limits: {}\n'), /\(root\): unknown key limits \(known: overrides\)/);
  assert.throws(() => parseOverridesFile('overrides: [\n'), /invalid YAML/);
});

test('a bad file at start is a ConfigError naming the file', () => {
  assert.throws(
    () => overridesWith('overrides:\n  a: { block_retention: soon }\n'),
    (err: Error) => err instanceof ConfigError && /overrides\.per_tenant_override_config .*overrides\.yaml: invalid overrides:\n {2}tenant "a": block_retention: invalid duration "soon"/.test(err.message),
  );
  assert.throws(() => Overrides.open(validateConfig({ overrides: { per_tenant_override_config: '/nonexistent/overrides.yaml' } }), silentLogger), /ENOENT/);
});
