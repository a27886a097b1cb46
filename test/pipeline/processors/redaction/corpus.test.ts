import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyValue, KeyValue, ResourceSpans } from '../../../../src/otlp/model.js';
import { lookalikes, secrets } from './corpus.js';
import { arr, batchOf, kvlist, redaction, serialize, spanWith, str, sv, strAttr, firstSpan } from './helpers.js';

/** Every place an attribute can be: resource, scope, span, event, link, inside arrays and kvlists. */
function everywhere(values: readonly string[]): ResourceSpans[] {
  const flat = (prefix: string): KeyValue[] => values.map((v, i) => str(`${prefix}.${i}`, v));
  const span = spanWith([
    ...flat('note'),
    arr('list', values.map(sv)),
    arr('nested.list', [sv('ok'), { type: 'array', value: values.map(sv) }]),
    kvlist('request', [str('method', 'POST'), kvlist('body', values.map((v, i) => str(`field${i}`, v)))]),
    kvlist('mixed', [{ key: 'items', value: { type: 'array', value: values.map((v): AnyValue => ({ type: 'kvlist', value: [str('v', v)] })) } }]),
  ]);
  span.events = [{ timeUnixNano: 1n, name: 'exception', attributes: flat('exception.message'), droppedAttributesCount: 0 }];
  span.links = [
    {
      traceId: Uint8Array.from(Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex')),
      spanId: Uint8Array.from(Buffer.from('b7ad6b7169203331', 'hex')),
      traceState: '',
      attributes: flat('link.note'),
      droppedAttributesCount: 0,
      flags: 0,
    },
  ];
  return batchOf([span], [str('service.name', 'checkout'), ...flat('resource.note')], flat('scope.note'));
}

const corpus = secrets();

/** A fragment as it appears in serialized output (JSON escapes quotes and newlines). */
function asInJson(fragment: string): string {
  return JSON.stringify(fragment).slice(1, -1);
}

test('the corpus holds at least 50 credentials, from every built-in rule', () => {
  assert.ok(corpus.length >= 50, `${corpus.length} secrets`);
  const rules = new Set(corpus.map((s) => s.rule));
  for (const rule of ['bearer_token', 'jwt', 'pem_private_key', 'aws_access_key_id', 'aws_secret_access_key', 'card_number', 'email']) {
    assert.ok(rules.has(rule), `no ${rule} sample`);
  }
});

test('no credential, nor any distinctive piece of one, survives anywhere in the output', async () => {
  const { processor, next } = redaction({ optional_rules: ['email'] });
  const input = everywhere(corpus.map((s) => s.value));
  // The input must actually carry every fragment, or the search below proves nothing.
  const before = serialize(input);
  for (const secret of corpus) for (const fragment of secret.fragments) assert.ok(before.includes(asInJson(fragment)), fragment);

  await processor.consume('acme', input);
  const out = serialize(next.last);
  const leaks: string[] = [];
  for (const secret of corpus) {
    for (const fragment of [secret.value, ...secret.fragments]) {
      if (out.includes(asInJson(fragment))) leaks.push(`${secret.rule}: ${fragment.slice(0, 40)}`);
    }
  }
  assert.deepEqual(leaks, []);
});

test('each credential is masked in place, keeping the text around it', async () => {
  const { processor, next } = redaction({ optional_rules: ['email'] });
  await processor.consume('acme', batchOf([spanWith(corpus.map((s, i) => str(`v${i}`, s.value)))]));
  const attrs = firstSpan(next.last).attributes;
  corpus.forEach((secret, i) => {
    const out = strAttr(attrs, `v${i}`);
    assert.ok(out.includes('****'), `${secret.rule} sample ${i} not masked: ${out.slice(0, 60)}`);
  });
  assert.equal(strAttr(attrs, 'v1'), 'Authorization: Bearer ****');
});

test('values that only look like credentials pass unchanged, wherever they are', async () => {
  const values = lookalikes();
  const { processor, next } = redaction();
  const input = everywhere(values);
  const expected = structuredClone(input);
  await processor.consume('acme', input);
  assert.deepEqual(next.last, expected);
});

test('emails are kept unless the email rule is turned on', async () => {
  const value = 'contact jane.doe@example.com for access';
  const off = redaction();
  await off.processor.consume('acme', batchOf([spanWith([str('v', value)])]));
  assert.equal(strAttr(firstSpan(off.next.last).attributes, 'v'), value);

  const on = redaction({ optional_rules: ['email'] });
  await on.processor.consume('acme', batchOf([spanWith([str('v', value)])]));
  assert.equal(strAttr(firstSpan(on.next.last).attributes, 'v'), 'contact **** for access');
});

test('a value mixing a credential with look-alikes loses only the credential', async () => {
  const { processor, next } = redaction();
  const value =
    'req 550e8400-e29b-41d4-a716-446655440000 trace 4bf92f3577b34da6a3ce929d0e0e4736 card 4111 1111 1111 1111 ref 4111111111111112 auth Bearer abcDEF123456ghiJKL';
  await processor.consume('acme', batchOf([spanWith([str('v', value)])]));
  assert.equal(
    strAttr(firstSpan(next.last).attributes, 'v'),
    'req 550e8400-e29b-41d4-a716-446655440000 trace 4bf92f3577b34da6a3ce929d0e0e4736 card **** ref 4111111111111112 auth Bearer ****',
  );
});

test('default_rules: false keeps credentials that only the built-ins would catch', async () => {
  const { processor, next } = redaction({ default_rules: false });
  const input = everywhere(corpus.filter((s) => s.rule !== 'email').map((s) => s.value));
  const expected = structuredClone(input);
  await processor.consume('acme', input);
  assert.deepEqual(next.last, expected);
});
