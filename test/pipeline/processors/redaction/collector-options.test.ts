// Each of the collector's options, with the behaviour its README and tests describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { KeyValue } from '../../../../src/otlp/model.js';
import { attr, batchOf, firstSpan, int, kvlist, redaction, spanWith, str, strAttr } from './helpers.js';

const VISA = '4111111111111111';
const VISA_RE = '4[0-9]{12}(?:[0-9]{3})?';

async function run(options: Record<string, unknown>, attributes: KeyValue[]): Promise<KeyValue[]> {
  const { processor, next } = redaction(options);
  await processor.consume('acme', batchOf([spanWith(attributes)]));
  return firstSpan(next.last).attributes;
}

function keys(attrs: readonly KeyValue[]): string[] {
  return attrs.map((kv) => kv.key).sort();
}

test('allow_all_keys false: only allowed_keys survive, the others are deleted', async () => {
  const out = await run({ allow_all_keys: false, allowed_keys: ['group', 'id', 'name'] }, [
    str('group', 'temporary'),
    int('id', 5),
    str('name', 'placeholder'),
    str('credit_card', VISA),
  ]);
  assert.deepEqual(keys(out), ['group', 'id', 'name']);
  assert.equal(strAttr(out, 'name'), 'placeholder');
});

test('allow_all_keys false with no allowed_keys fails closed: every attribute goes', async () => {
  const out = await run({ allow_all_keys: false }, [str('a', '1'), int('b', 2)]);
  assert.deepEqual(out, []);
});

test('allow_all_keys true keeps every key and still masks values', async () => {
  const out = await run({ allow_all_keys: true, allowed_keys: ['group'], blocked_values: [VISA_RE], default_rules: false }, [
    str('group', 'temporary'),
    str('name', 'placeholder'),
    str('credit_card', `placeholder ${VISA}`),
  ]);
  assert.deepEqual(keys(out), ['credit_card', 'group', 'name']);
  assert.equal(strAttr(out, 'credit_card'), 'placeholder ****');
});

test('ignored_keys are neither deleted nor masked, even when not in allowed_keys', async () => {
  const out = await run({ allow_all_keys: false, allowed_keys: ['name'], ignored_keys: ['safe_attribute'], blocked_values: [VISA_RE] }, [
    str('name', `placeholder ${VISA}`),
    str('safe_attribute', `harmless ${VISA}`),
  ]);
  assert.equal(strAttr(out, 'safe_attribute'), `harmless ${VISA}`);
  assert.equal(strAttr(out, 'name'), 'placeholder ****');
});

test('ignored_key_patterns work like ignored_keys for every key they match', async () => {
  const out = await run({ ignored_key_patterns: ['^debug\\.'] }, [str('debug.card', VISA), str('card', VISA)]);
  assert.equal(strAttr(out, 'debug.card'), VISA);
  assert.equal(strAttr(out, 'card'), '****');
});

test('blocked_values: every match inside a value is masked, several patterns together', async () => {
  const out = await run({ default_rules: false, blocked_values: [VISA_RE, '(5[1-5][0-9]{3})'] }, [
    str('name', `placeholder ${VISA} 52000`),
    str('mystery', 'mystery 52000'),
    str('plain', 'nothing here'),
  ]);
  assert.equal(strAttr(out, 'name'), 'placeholder **** ****');
  assert.equal(strAttr(out, 'mystery'), 'mystery ****');
  assert.equal(strAttr(out, 'plain'), 'nothing here');
});

test('blocked_values patterns in RE2 syntax: (?i) and (?P<name>) are understood', async () => {
  const out = await run({ default_rules: false, blocked_values: ['(?i)internal-(?P<id>[0-9]{4})'] }, [str('v', 'see INTERNAL-1234 and internal-5678')]);
  assert.equal(strAttr(out, 'v'), 'see **** and ****');
});

test('blocked_key_patterns mask the whole value of matching keys, whatever its type', async () => {
  const out = await run({ blocked_key_patterns: ['.*token.*', '.*api_key.*'] }, [
    str('auth.token', 'abc'),
    str('my_api_key_header', 'xyz 123'),
    int('refresh_token_ttl', 3600),
    str('name', 'placeholder'),
  ]);
  assert.equal(strAttr(out, 'auth.token'), '****');
  assert.equal(strAttr(out, 'my_api_key_header'), '****');
  assert.equal(strAttr(out, 'refresh_token_ttl'), '****');
  assert.equal(strAttr(out, 'name'), 'placeholder');
});

test('blocked_key_patterns also apply to keys inside kvlist values', async () => {
  const out = await run({ blocked_key_patterns: ['password'] }, [kvlist('request.body', [str('user', 'alice'), str('password', 'hunter2')])]);
  const body = attr(out, 'request.body');
  assert.ok(body?.type === 'kvlist');
  assert.equal(strAttr(body.value, 'user'), 'alice');
  assert.equal(strAttr(body.value, 'password'), '****');
});

test('allowed_values exempt a whole value from blocked_values (the README example)', async () => {
  const out = await run({ default_rules: false, blocked_values: ['mycompany.com'], allowed_values: ['support.mycompany.com'] }, [
    str('a', 'support.mycompany.com'),
    str('b', 'sales.mycompany.com'),
    str('c', 'write to support.mycompany.com or sales.mycompany.com'),
  ]);
  assert.equal(strAttr(out, 'a'), 'support.mycompany.com');
  assert.equal(strAttr(out, 'b'), 'sales.****');
  assert.equal(strAttr(out, 'c'), 'write to support.mycompany.com or sales.mycompany.com');
});

test('allowed_values also exempt a value from blocked_key_patterns, which they are checked before', async () => {
  const out = await run({ blocked_key_patterns: ['email'], allowed_values: ['.+@mycompany\\.com$'] }, [
    str('user.email', 'jane@mycompany.com'),
    str('other.email', 'joe@gmail.com'),
  ]);
  assert.equal(strAttr(out, 'user.email'), 'jane@mycompany.com');
  assert.equal(strAttr(out, 'other.email'), '****');
});

for (const [fn, algorithm] of [
  ['md5', 'md5'],
  ['sha1', 'sha1'],
  ['sha3', 'sha3-256'],
] as const) {
  test(`hash_function ${fn}: each match becomes node:crypto's hex ${algorithm} of it`, async () => {
    const out = await run({ hash_function: fn, blocked_key_patterns: ['^secret$'] }, [
      str('note', `paid with ${VISA} today`),
      str('auth', 'Authorization: Bearer abcDEF123456ghiJKL'),
      str('secret', 'the whole value'),
    ]);
    const hash = (text: string) => createHash(algorithm).update(text).digest('hex');
    assert.equal(strAttr(out, 'note'), `paid with ${hash(VISA)} today`);
    assert.equal(strAttr(out, 'auth'), `Authorization: Bearer ${hash('abcDEF123456ghiJKL')}`);
    assert.equal(strAttr(out, 'secret'), hash('the whole value'));
  });
}

test('hash_function hmac-sha256 keys the hash with hmac_key', async () => {
  const key = 'k'.repeat(32);
  const out = await run({ hash_function: 'hmac-sha256', hmac_key: key }, [str('note', `card ${VISA}`)]);
  assert.equal(strAttr(out, 'note'), `card ${createHmac('sha256', key).update(VISA).digest('hex')}`);
});

test('redact_all_types scans integers too; without it they are left alone', async () => {
  const withIt = await run({ redact_all_types: true }, [int('card', 4111111111111111n), int('count', 3)]);
  assert.equal(strAttr(withIt, 'card'), '****');
  assert.deepEqual(attr(withIt, 'count'), { type: 'int', value: 3n });
  const without = await run({}, [int('card', 4111111111111111n)]);
  assert.deepEqual(attr(without, 'card'), { type: 'int', value: 4111111111111111n });
});

const SUMMARY_CASE = {
  options: {
    allow_all_keys: false,
    allowed_keys: ['id', 'group.id', 'name', 'note'],
    blocked_values: [VISA_RE],
    allowed_values: ['^harmless'],
    ignored_keys: ['safe_attribute'],
  },
  attributes: [
    int('id', 5),
    str('group.id', 'some.valid.id'),
    str('name', `placeholder ${VISA}`),
    str('note', `harmless ${VISA}`),
    str('safe_attribute', `harmless ${VISA}`),
    str('credit_card', VISA),
    str('birth_date', '1990-01-01'),
  ],
};

test('summary debug: deleted, masked and allowed keys listed (sorted) and counted, ignored counted', async () => {
  const out = await run({ ...SUMMARY_CASE.options, summary: 'debug' }, structuredClone(SUMMARY_CASE.attributes));
  assert.equal(strAttr(out, 'redaction.redacted.keys'), 'birth_date,credit_card');
  assert.deepEqual(attr(out, 'redaction.redacted.count'), { type: 'int', value: 2n });
  assert.equal(strAttr(out, 'redaction.masked.keys'), 'name');
  assert.deepEqual(attr(out, 'redaction.masked.count'), { type: 'int', value: 1n });
  assert.equal(strAttr(out, 'redaction.allowed.keys'), 'note');
  assert.deepEqual(attr(out, 'redaction.allowed.count'), { type: 'int', value: 1n });
  assert.deepEqual(attr(out, 'redaction.ignored.count'), { type: 'int', value: 1n });
  assert.equal(strAttr(out, 'name'), 'placeholder ****');
  assert.equal(strAttr(out, 'note'), `harmless ${VISA}`);
});

test('summary info: counts only, no key lists', async () => {
  const out = await run({ ...SUMMARY_CASE.options, summary: 'info' }, structuredClone(SUMMARY_CASE.attributes));
  for (const key of ['redaction.redacted.keys', 'redaction.masked.keys', 'redaction.allowed.keys']) assert.equal(attr(out, key), undefined);
  assert.deepEqual(attr(out, 'redaction.redacted.count'), { type: 'int', value: 2n });
  assert.deepEqual(attr(out, 'redaction.masked.count'), { type: 'int', value: 1n });
  assert.deepEqual(attr(out, 'redaction.allowed.count'), { type: 'int', value: 1n });
  assert.deepEqual(attr(out, 'redaction.ignored.count'), { type: 'int', value: 1n });
});

test('summary silent, and by default: no redaction.* attributes at all', async () => {
  for (const summary of ['silent', undefined]) {
    const options = summary === undefined ? SUMMARY_CASE.options : { ...SUMMARY_CASE.options, summary };
    const out = await run(options, structuredClone(SUMMARY_CASE.attributes));
    assert.deepEqual(
      out.filter((kv) => kv.key.startsWith('redaction.')),
      [],
    );
    assert.equal(strAttr(out, 'name'), 'placeholder ****');
  }
});

test('a second pass merges into the summary of the first, as the collector does', async () => {
  const out = await run({ allow_all_keys: false, allowed_keys: ['id', 'credit_card', 'mystery'], blocked_values: [VISA_RE], summary: 'debug' }, [
    int('id', 5),
    { key: 'redundant', value: { type: 'double', value: 1.2 } },
    str('mystery', 'mystery ****'),
    str('credit_card', VISA),
    str('redaction.redacted.keys', 'dropped_attr1,dropped_attr2'),
    int('redaction.redacted.count', 2),
    str('redaction.masked.keys', 'mystery'),
    int('redaction.masked.count', 1),
  ]);
  assert.equal(out.length, 7);
  assert.equal(strAttr(out, 'redaction.redacted.keys'), 'dropped_attr1,dropped_attr2,redundant');
  assert.deepEqual(attr(out, 'redaction.redacted.count'), { type: 'int', value: 3n });
  assert.equal(strAttr(out, 'redaction.masked.keys'), 'credit_card,mystery');
  assert.deepEqual(attr(out, 'redaction.masked.count'), { type: 'int', value: 2n });
});

test('resource, scope, event and link attributes are redacted, each with its own summary', async () => {
  const { processor, next } = redaction({ summary: 'info' });
  const span = spanWith([str('v', VISA)]);
  span.events = [{ timeUnixNano: 1n, name: 'e', attributes: [str('v', VISA)], droppedAttributesCount: 0 }];
  span.links = [{ traceId: new Uint8Array(16), spanId: new Uint8Array(8), traceState: '', attributes: [str('v', VISA)], droppedAttributesCount: 0, flags: 0 }];
  await processor.consume('acme', batchOf([span], [str('v', VISA)], [str('v', VISA)]));
  const rs = next.last[0]!;
  const lists = [
    rs.resource.attributes,
    rs.scopeSpans[0]!.scope.attributes,
    firstSpan(next.last).attributes,
    firstSpan(next.last).events[0]!.attributes,
    firstSpan(next.last).links[0]!.attributes,
  ];
  for (const attrs of lists) {
    assert.equal(strAttr(attrs, 'v'), '****');
    assert.deepEqual(attr(attrs, 'redaction.masked.count'), { type: 'int', value: 1n });
  }
});

test('with text_fields: [] span names and status messages are left alone, as in the collector', async () => {
  const { processor, next } = redaction({ text_fields: [] });
  const span = spanWith([], { name: `charge ${VISA}`, status: { code: 2, message: `declined ${VISA}` } });
  await processor.consume('acme', batchOf([span]));
  assert.equal(firstSpan(next.last).name, `charge ${VISA}`);
  assert.equal(firstSpan(next.last).status.message, `declined ${VISA}`);
});
