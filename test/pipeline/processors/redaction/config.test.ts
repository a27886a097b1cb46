import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactionFactory } from '../../../../src/pipeline/processors/redaction/index.js';

const schema = redactionFactory.schema;

/** `path: message` of every issue, as the configuration loader reports them. */
function problems(input: unknown): string[] {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('the defaults: always on, a deny-list backstop that keeps every key', () => {
  assert.deepEqual(schema.parse({}), {
    enabled: true,
    allow_all_keys: true,
    allowed_keys: [],
    ignored_keys: [],
    ignored_key_patterns: [],
    blocked_key_patterns: [],
    blocked_values: [],
    allowed_values: [],
    hash_function: 'none',
    redact_all_types: false,
    summary: 'silent',
    default_rules: true,
    optional_rules: [],
    rules: [],
    text_fields: ['span_name', 'status_message', 'event_name', 'scope_name', 'attribute_key'],
    dry_run: false,
  });
});

test('an empty `redaction:` entry (YAML null) means the defaults', () => {
  assert.deepEqual(schema.parse(null), schema.parse({}));
});

test('defaults are fresh arrays, not shared between parses', () => {
  const a = schema.parse({});
  a.allowed_keys.push('x');
  assert.deepEqual(schema.parse({}).allowed_keys, []);
});

test('an invalid regex fails at parse time with its key path and the pattern', () => {
  assert.deepEqual(problems({ blocked_values: ['ok', '(unclosed'] }), ['blocked_values.1: invalid pattern "(unclosed": missing closing ): `(unclosed`']);
  assert.match(problems({ allowed_values: ['[z-a]'] })[0]!, /^allowed_values\.0: invalid pattern "\[z-a\]": invalid character class range/);
  assert.match(problems({ blocked_key_patterns: ['*token'] })[0]!, /^blocked_key_patterns\.0: invalid pattern "\*token": missing argument to repetition operator/);
  assert.match(problems({ ignored_key_patterns: ['a{2,1}'] })[0]!, /^ignored_key_patterns\.0: invalid pattern "a\{2,1\}": invalid repeat count/);
  assert.match(problems({ rules: [{ name: 'mine', pattern: '(?<x' }] })[0]!, /^rules\.0\.pattern: invalid pattern "\(\?<x": /);
});

test('patterns are RE2: backreferences and lookarounds are refused with the reason, RE2-only syntax works', () => {
  assert.match(problems({ blocked_values: ['(a)\\1'] })[0]!, /^blocked_values\.0: invalid pattern .*: invalid escape sequence: `\\1` \(RE2 has no backreferences\)$/);
  assert.match(problems({ rules: [{ name: 'r', pattern: 'token(?=[0-9])' }] })[0]!, /^rules\.0\.pattern: .*\(RE2 has no lookahead or lookbehind\)$/);
  assert.match(problems({ allowed_values: ['(?<!x)y'] })[0]!, /^allowed_values\.0: .*RE2 has no lookahead or lookbehind/);
  assert.deepEqual(problems({ blocked_values: ['[[:digit:]]{4}', '(?U)a+', '\\Qa.b\\E', '(?P<n>x)\\z'] }), []);
});

test('a value pattern matching the empty string is refused (it would mask between every character)', () => {
  assert.match(problems({ blocked_values: ['[0-9]*'] })[0]!, /^blocked_values\.0: .*empty string/);
  assert.match(problems({ rules: [{ name: 'r', pattern: 'x?' }] })[0]!, /^rules\.0\.pattern: .*empty string/);
  // Key patterns and allowed values may match "": they test, they do not replace.
  assert.deepEqual(problems({ blocked_key_patterns: ['.*'], allowed_values: ['^$'] }), []);
});

test('unknown keys are errors, including collector options Skein does not implement', () => {
  assert.deepEqual(problems({ url_sanitizer: { enabled: true } }), [': Unrecognized key: "url_sanitizer"']);
  assert.match(problems({ rules: [{ name: 'r', pattern: 'x', flags: 'i' }] })[0]!, /^rules\.0: Unrecognized key: "flags"/);
});

test('hash_function: the collector names, case-insensitively; "" means none', () => {
  assert.equal(schema.parse({ hash_function: 'SHA1' }).hash_function, 'sha1');
  assert.equal(schema.parse({ hash_function: 'sha3' }).hash_function, 'sha3');
  assert.equal(schema.parse({ hash_function: '' }).hash_function, 'none');
  assert.match(problems({ hash_function: 'sha256' })[0]!, /^hash_function: .*"md5"/);
});

test('hmac functions need a long enough hmac_key, and the key never appears in errors', () => {
  assert.deepEqual(problems({ hash_function: 'hmac-sha256' }), ['hmac_key: hash_function hmac-sha256 needs an hmac_key of at least 32 bytes (got 0)']);
  const short = 'tooshort-secret-value';
  const messages = problems({ hash_function: 'hmac-sha512', hmac_key: short });
  assert.deepEqual(messages, [`hmac_key: hash_function hmac-sha512 needs an hmac_key of at least 64 bytes (got ${short.length})`]);
  assert.ok(!messages.join().includes(short));
  assert.deepEqual(problems({ hash_function: 'hmac-sha256', hmac_key: 'k'.repeat(32) }), []);
  assert.deepEqual(problems({ hmac_key: 'k'.repeat(32) }), ['hmac_key: hmac_key is only used with hash_function hmac-sha256 or hmac-sha512']);
  // The collector's empty default means no key.
  assert.deepEqual(problems({ hmac_key: '' }), []);
});

test('summary is one of debug, info, silent', () => {
  assert.equal(schema.parse({ summary: 'debug' }).summary, 'debug');
  assert.match(problems({ summary: 'verbose' })[0]!, /^summary: /);
});

test('named rules: plain names, unique among themselves and the active built-ins', () => {
  assert.deepEqual(problems({ rules: [{ name: 'internal_token', pattern: 'itk_[0-9a-f]{32}' }] }), []);
  assert.match(problems({ rules: [{ name: 'Bad Name', pattern: 'x' }] })[0]!, /^rules\.0\.name: rule names are lowercase/);
  assert.deepEqual(problems({ rules: [{ name: 'jwt', pattern: 'x' }] }), ['rules.0.name: rule name "jwt" is already used']);
  assert.deepEqual(problems({ optional_rules: ['email'], rules: [{ name: 'email', pattern: 'x' }] }), ['rules.0.name: rule name "email" is already used']);
  assert.deepEqual(problems({ rules: [{ name: 'a', pattern: 'x' }, { name: 'a', pattern: 'y' }] }), ['rules.1.name: rule name "a" is already used']);
  // Without the built-ins, their names are free.
  assert.deepEqual(problems({ default_rules: false, rules: [{ name: 'jwt', pattern: 'x' }] }), []);
});

test('optional_rules names the built-ins that are off by default', () => {
  assert.deepEqual(schema.parse({ optional_rules: ['email'] }).optional_rules, ['email']);
  assert.match(problems({ optional_rules: ['phone'] })[0]!, /^optional_rules\.0: /);
});

test('types are checked with their path', () => {
  assert.match(problems({ allow_all_keys: 'yes' })[0]!, /^allow_all_keys: /);
  assert.match(problems({ allowed_keys: 'a,b' })[0]!, /^allowed_keys: /);
  assert.match(problems({ blocked_values: [1] })[0]!, /^blocked_values\.0: /);
});
