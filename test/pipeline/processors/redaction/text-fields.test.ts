// Redaction beyond attribute values: span and event names, status messages,
// scope names and attribute keys. Built-in rules run there by default and mask
// only the match; user rules only when they ask; ordinary names are never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceSpans, Span } from '../../../../src/otlp/model.js';
import { attachWireForm, wireFormOf } from '../../../../src/otlp/wire-form.js';
import { defaultTextMasker, masksSpanNames, redactionFactory } from '../../../../src/pipeline/processors/redaction/index.js';
import { batchOf, firstSpan, kvlist, memoryLogger, redaction, serialize, spanWith, str, strAttr } from './helpers.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln';
const GHP = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const AKID = 'AKIAIOSFODNN7EXAMPLE';

function secretSpan(): Span {
  const span = spanWith([str(`cache.${GHP}`, 'hit'), kvlist('request', [str(`x-${AKID}`, 'v')])], {
    name: `GET /callback/${JWT}`,
    status: { code: 2, message: `login failed for Bearer ${GHP}` },
  });
  span.events = [{ timeUnixNano: 1n, name: `retry with ${AKID}`, attributes: [str(`attempt.${JWT}`, '2')], droppedAttributesCount: 0 }];
  return span;
}

function secretBatch(): ResourceSpans[] {
  const batch = batchOf([secretSpan()], [str('service.name', 'users'), str(`tenant.${AKID}`, 'x')]);
  batch[0]!.scopeSpans[0]!.scope.name = `lib-${GHP}`;
  return batch;
}

test('by default the built-ins mask secrets in span, event and scope names, status messages and attribute keys, only the match', async () => {
  const { processor, next } = redaction();
  await processor.consume('acme', secretBatch());
  const out = next.last;
  const span = firstSpan(out);
  assert.equal(span.name, 'GET /callback/****');
  assert.equal(span.status.message, 'login failed for Bearer ****');
  assert.equal(span.status.code, 2);
  assert.equal(span.events[0]!.name, 'retry with ****');
  assert.deepEqual(span.events[0]!.attributes.map((kv) => kv.key), ['attempt.****']);
  assert.equal(strAttr(span.attributes, 'cache.****'), 'hit');
  const nested = span.attributes.find((kv) => kv.key === 'request')!.value;
  assert.deepEqual(nested.type === 'kvlist' && nested.value.map((kv) => kv.key), ['x-****']);
  assert.equal(out[0]!.scopeSpans[0]!.scope.name, 'lib-****');
  assert.deepEqual(out[0]!.resource.attributes.map((kv) => kv.key), ['service.name', 'tenant.****']);
  const text = serialize(out);
  for (const secret of [JWT, GHP, AKID]) assert.ok(!text.includes(secret), secret);
});

test('ordinary names, messages and keys pass untouched', async () => {
  const names = [
    'GET /api/v1/orders/{id}',
    'POST /checkout',
    'SELECT orders',
    'grpc.health.v1.Health/Check',
    'redis GET user:1234',
    'kafka.consume orders-topic',
    'BasicAuthMiddleware',
    'Bearer token validation',
    'https://example.com:8443/path',
    'AKIA rotation job',
    'process card 1234',
    'private key rotation scheduled',
  ];
  const keys = ['http.request.method', 'url.full', 'db.query.text', 'messaging.destination.name', 'http.request.header.authorization', 'aws.secret_key_id', 'github.token.scope'];
  const span = spanWith(keys.map((k) => str(k, 'v')), { name: names[0]!, status: { code: 2, message: 'connection refused: https://db.internal:5432/' } });
  span.events = names.map((name, i) => ({ timeUnixNano: BigInt(i), name, attributes: [], droppedAttributesCount: 0 }));
  const batch = batchOf([span]);
  const before = serialize(batch);
  const bytes = new Uint8Array([1, 2, 3]);
  attachWireForm(batch, bytes);
  const { processor, next } = redaction();
  await processor.consume('acme', batch);
  assert.equal(serialize(next.last), before);
  assert.equal(wireFormOf(next.last), bytes, 'nothing changed, so the received bytes still stand for the batch');
});

test('a batch in which only a name or a key changed forgets its received bytes, so they are never stored', async () => {
  for (const change of [(s: Span) => (s.name = `GET /${JWT}`), (s: Span) => s.attributes.push(str(`k.${JWT}`, 'v'))]) {
    const span = spanWith([]);
    change(span);
    const batch = batchOf([span]);
    attachWireForm(batch, new Uint8Array([1]));
    const { processor, next } = redaction();
    await processor.consume('acme', batch);
    assert.equal(wireFormOf(next.last), undefined);
  }
});

test('blocked_values stay on values; a rule with in_text_fields also masks names and keys', async () => {
  const options = {
    blocked_values: ['order-[0-9]+'],
    rules: [
      { name: 'internal_token', pattern: 'itk_[0-9a-f]{8}', in_text_fields: true },
      { name: 'values_only', pattern: 'vo_[0-9]{4}' },
    ],
  };
  const { processor, next } = redaction(options);
  const span = spanWith([str('itk_0123abcd', 'order-42 itk_0123abcd vo_1234'), str('vo_1234', 'x')], {
    name: 'GET order-42 itk_0123abcd vo_1234',
    status: { code: 2, message: 'order-42 itk_0123abcd vo_1234' },
  });
  await processor.consume('acme', batchOf([span]));
  const got = firstSpan(next.last);
  assert.equal(got.name, 'GET order-42 **** vo_1234');
  assert.equal(got.status.message, 'order-42 **** vo_1234');
  assert.deepEqual(got.attributes.map((kv) => kv.key), ['****', 'vo_1234']);
  assert.equal(strAttr(got.attributes, '****'), '**** **** ****');
});

test('text_fields chooses where the rules look beyond values', async () => {
  const { processor, next } = redaction({ text_fields: ['status_message', 'attribute_key'] });
  await processor.consume('acme', secretBatch());
  const out = next.last;
  const span = firstSpan(out);
  assert.equal(span.name, `GET /callback/${JWT}`);
  assert.equal(span.events[0]!.name, `retry with ${AKID}`);
  assert.equal(out[0]!.scopeSpans[0]!.scope.name, `lib-${GHP}`);
  assert.equal(span.status.message, 'login failed for Bearer ****');
  assert.deepEqual(span.events[0]!.attributes.map((kv) => kv.key), ['attempt.****']);
});

test('hashing applies to names too: the same secret gives the same name', async () => {
  const { processor, next } = redaction({ hash_function: 'sha1' });
  await processor.consume('acme', batchOf([spanWith([], { name: `GET /${JWT}` }), spanWith([], { name: `POST /${JWT}` })]));
  const [a, b] = next.last[0]!.scopeSpans[0]!.spans.map((s) => s.name);
  assert.match(a!, /^GET \/[0-9a-f]{40}$/);
  assert.equal(b!.slice(5), a!.slice(4));
});

test('summaries and dry-run places name a secret-bearing key masked, never as sent', async () => {
  const { processor, next } = redaction({ summary: 'debug' });
  await processor.consume('acme', batchOf([spanWith([str(`cache.${GHP}`, `Bearer ${GHP}`)])]));
  const span = firstSpan(next.last);
  assert.equal(strAttr(span.attributes, 'redaction.masked.keys'), 'cache.****');

  const { logger, lines } = memoryLogger();
  const dry = redaction({ dry_run: true }, { logger });
  const batch = secretBatch();
  firstSpan(batch).attributes.push(str(`token.${AKID}`, `Bearer ${GHP}`));
  const before = serialize(batch);
  await dry.processor.consume('acme', batch);
  assert.equal(serialize(dry.next.last), before, 'a dry run changes nothing');
  const line = JSON.parse(lines.find((l) => l.includes('redaction dry run'))!) as { places: Record<string, string[]> };
  const places = Object.values(line.places).flat();
  for (const place of ['span_name', 'status_message', 'event_name', 'scope_name', 'span:attribute_key', 'event:attribute_key', 'resource:attribute_key', 'span:token.****']) {
    assert.ok(places.includes(place), `${place} not in ${JSON.stringify(places)}`);
  }
  const logged = lines.join('\n');
  for (const secret of [JWT, GHP, AKID]) assert.ok(!logged.includes(secret), secret);
});

test('a redaction processor masks span names unless it is off, a dry run, or span_name is not in text_fields', () => {
  const parse = (options: Record<string, unknown>) => redactionFactory.schema.parse(options);
  assert.equal(masksSpanNames(parse({})), true);
  assert.equal(masksSpanNames(parse({ enabled: false })), false);
  assert.equal(masksSpanNames(parse({ dry_run: true })), false);
  assert.equal(masksSpanNames(parse({ text_fields: ['status_message'] })), false);
});

test('the default masker, for span metrics behind no such processor, masks only the match and keeps ordinary names', () => {
  const mask = defaultTextMasker();
  assert.equal(mask(`GET /callback/${JWT}`), 'GET /callback/****');
  assert.equal(mask(`GET /callback/${JWT}`), 'GET /callback/****', 'the same answer from its cache');
  assert.equal(mask('GET /api/v1/orders/{id}'), 'GET /api/v1/orders/{id}');
});
