// The processor as a pipeline stage: what it hands on, what it counts, what it logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Counter } from 'prom-client';
import { redactionMetrics } from '../../../../src/pipeline/processors/redaction/metrics.js';
import { redactionFactory } from '../../../../src/pipeline/processors/redaction/index.js';
import { DEFAULT_RULE_NAMES } from '../../../../src/pipeline/processors/redaction/rules.js';
import { decodeTracesDataKeepingWire, encodeTracesData } from '../../../../src/otlp/protobuf.js';
import { batchOf, firstSpan, int, kvlist, memoryLogger, redaction, spanWith, str, strAttr } from './helpers.js';

const VISA = '4111111111111111';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

async function counterValue(counter: Counter<string>, labels: Record<string, string>): Promise<number> {
  const metric = await counter.get();
  const match = metric.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return match?.value ?? 0;
}

function secretBatch() {
  return batchOf([
    spanWith([
      str('http.request.header.authorization', `Bearer ${JWT}`),
      str('payment.note', `card ${VISA} and ${VISA}`),
      str('id_token', JWT),
      str('internal', 'itk_0123456789abcdef0123456789abcdef'),
      int('http.response.status_code', 200),
    ]),
  ]);
}

test('per-rule counters count every masked match', async () => {
  const { processor, name } = redaction({ rules: [{ name: 'internal_token', pattern: 'itk_[0-9a-f]{32}' }], allow_all_keys: false, allowed_keys: ['service.name', 'http.request.header.authorization', 'payment.note', 'id_token', 'internal'] });
  await processor.consume('acme', secretBatch());
  await processor.consume('acme', secretBatch());
  const masked = (rule: string) => counterValue(redactionMetrics.valuesMasked, { processor: name, rule });
  assert.equal(await masked('bearer_token'), 2);
  assert.equal(await masked('jwt'), 2);
  assert.equal(await masked('card_number'), 4);
  assert.equal(await masked('internal_token'), 2);
  assert.equal(await masked('pem_private_key'), 0);
  assert.equal(await counterValue(redactionMetrics.keysDeleted, { processor: name }), 2);
});

test('every active rule is on /metrics at zero before its first match', async () => {
  const { name } = redaction({ optional_rules: ['email'], blocked_values: ['x{3}'], blocked_key_patterns: ['password'] });
  const metric = await redactionMetrics.valuesMasked.get();
  const rules = metric.values.filter((v) => v.labels.processor === name).map((v) => v.labels.rule);
  assert.deepEqual(rules.sort(), [...DEFAULT_RULE_NAMES, 'blocked_key_patterns[0]', 'blocked_values[0]', 'email'].sort());
});

test('dry_run leaves the data intact, counts matches per rule and logs rule names and keys, never values', async () => {
  const { logger, lines } = memoryLogger();
  const { processor, next, name } = redaction(
    { dry_run: true, allow_all_keys: false, allowed_keys: ['service.name', 'http.request.header.authorization', 'payment.note', 'id_token'], summary: 'debug' },
    { logger },
  );
  const input = secretBatch();
  const expected = structuredClone(input);
  await processor.consume('acme', input);

  assert.deepEqual(next.last, expected);
  const dry = (rule: string) => counterValue(redactionMetrics.dryRunMatches, { processor: name, rule });
  assert.equal(await dry('bearer_token'), 1);
  assert.equal(await dry('jwt'), 1);
  assert.equal(await dry('card_number'), 2);
  assert.equal(await dry('allowed_keys'), 2);
  assert.equal(await counterValue(redactionMetrics.valuesMasked, { processor: name, rule: 'card_number' }), 0);
  assert.equal(await counterValue(redactionMetrics.keysDeleted, { processor: name }), 0);

  const report = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).includes('dry run'));
  assert.ok(report, 'no dry-run log line');
  assert.equal(report.level, 'info');
  assert.deepEqual(report.matches, { jwt: 1, bearer_token: 1, card_number: 2, allowed_keys: 2 });
  assert.deepEqual(report.places, {
    jwt: ['span:id_token'],
    bearer_token: ['span:http.request.header.authorization'],
    card_number: ['span:payment.note'],
    allowed_keys: ['span:internal', 'span:http.response.status_code'],
  });
  const logged = lines.join('\n');
  for (const leak of [VISA, JWT, JWT.split('.')[2]!, 'itk_0123456789abcdef']) assert.ok(!logged.includes(leak), `log holds ${leak}`);
});

test('masking never logs the values it masks', async () => {
  const { logger, lines } = memoryLogger();
  const { processor } = redaction({ summary: 'debug' }, { logger });
  await processor.consume('acme', secretBatch());
  const logged = lines.join('\n');
  assert.ok(!logged.includes(VISA) && !logged.includes(JWT.split('.')[2]!));
});

test('a batch with nothing to redact is handed on untouched: same objects, no copies', async () => {
  const { processor, next } = redaction({ optional_rules: ['email'], summary: 'debug' });
  const batch = batchOf([spanWith([str('http.route', '/users/{id}'), int('http.response.status_code', 200), kvlist('k', [str('a', 'b')])])]);
  const span = firstSpan(batch);
  const attributes = span.attributes;
  const values = attributes.map((kv) => kv.value);
  const expected = structuredClone(batch);
  await processor.consume('acme', batch);
  assert.equal(next.last, batch);
  assert.equal(firstSpan(next.last), span);
  assert.equal(firstSpan(next.last).attributes, attributes);
  assert.deepEqual(
    attributes.map((kv) => kv.value),
    values,
  );
  attributes.forEach((kv, i) => assert.equal(kv.value, values[i]));
  assert.deepEqual(batch, expected);
});

test('a resource shared by two entries of a batch is redacted and summarised once', async () => {
  const { processor, next } = redaction({ summary: 'info' });
  const shared = { attributes: [str('deploy.note', `card ${VISA}`)], droppedAttributesCount: 0 };
  const scope = { name: 's', version: '', attributes: [], droppedAttributesCount: 0 };
  const entry = () => ({ resource: shared, schemaUrl: '', scopeSpans: [{ scope, schemaUrl: '', spans: [spanWith([])] }] });
  await processor.consume('acme', [entry(), entry()]);
  const attrs = next.last[0]!.resource.attributes;
  assert.equal(strAttr(attrs, 'deploy.note'), 'card ****');
  assert.deepEqual(attrs.find((kv) => kv.key === 'redaction.masked.count')?.value, { type: 'int', value: 1n });
});

test('enabled: false hands everything on as it came', async () => {
  const { processor, next } = redaction({ enabled: false });
  const input = secretBatch();
  const expected = structuredClone(input);
  await processor.consume('acme', input);
  assert.deepEqual(next.last, expected);
});

test('the tenant is passed on with the batch', async () => {
  const { processor, next } = redaction();
  await processor.consume('tenant-b', secretBatch());
  assert.equal(next.received[0]?.tenant, 'tenant-b');
});

test('the factory carries the collector type name', () => {
  assert.equal(redactionFactory.type, 'redaction');
});

test('values and span names seen clean before are passed as they are, a secret is masked and counted every time it comes', async () => {
  const { processor, next, name } = redaction({});
  const batch = () => batchOf([{ ...spanWith([str('note', 'nothing here'), str('auth', `Bearer ${JWT}`)]), name: 'GET /orders' }]);
  for (let i = 0; i < 3; i++) {
    await processor.consume('acme', batch());
    const span = firstSpan(next.last);
    assert.equal(span.name, 'GET /orders');
    assert.deepEqual(span.attributes.find((kv) => kv.key === 'note')?.value, { type: 'string', value: 'nothing here' });
    assert.deepEqual(span.attributes.find((kv) => kv.key === 'auth')?.value, { type: 'string', value: 'Bearer ****' });
  }
  assert.equal(await counterValue(redactionMetrics.valuesMasked, { processor: name, rule: 'bearer_token' }), 3);
});

test('attributes the decoder shares between spans are replaced span by span, never changed for every span that holds them', async () => {
  const { processor, next } = redaction({});
  // Short enough for the decoder's string cache (longer values are never shared).
  const secret = str('card', VISA);
  const bytes = encodeTracesData(batchOf([spanWith([secret, str('note', 'fine')]), spanWith([secret, str('note', 'fine')])]));
  const batch = decodeTracesDataKeepingWire(bytes);
  const spans = batch[0]!.scopeSpans[0]!.spans;
  assert.equal(spans[0]!.attributes[0], spans[1]!.attributes[0], 'the decoder shares the repeated attribute');
  await processor.consume('acme', batch);
  for (const span of next.last[0]!.scopeSpans[0]!.spans) {
    assert.deepEqual(span.attributes[0], { key: 'card', value: { type: 'string', value: '****' } });
    assert.deepEqual(span.attributes[1], { key: 'note', value: { type: 'string', value: 'fine' } });
  }
  const again = decodeTracesDataKeepingWire(bytes)[0]!.scopeSpans[0]!.spans[0]!;
  assert.deepEqual(again.attributes[0], secret, 'what the decoder hands out next is as sent');
});
