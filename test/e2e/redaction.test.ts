// Redaction end to end: credentials sent by the real OpenTelemetry SDK in
// resource, span, event and link attributes cannot be found afterwards in the
// query API's answers, on /metrics (span metrics labelled by them), in any byte under
// the data directory (WAL, blocks, decoded Parquet) or in Skein's logs; look-alikes come
// back untouched; the summary attributes and per-rule counters say what happened; a dry
// run stores everything as sent and logs where, never what.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SpanKind, TraceFlags, type Attributes, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import type { AnyValue, KeyValue, ResourceSpans } from '../../src/otlp/model.js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { expectedSpan } from '../helpers/sdk.js';
import { plainSpans } from '../helpers/compare.js';
import { lookalikes, secrets, type Secret } from '../pipeline/processors/redaction/corpus.js';
import { dataDirContents, filesUnder, findLeaks, needlesOf as needlesOfCorpus } from '../helpers/leaks.js';

const CORPUS: Secret[] = secrets();
const LOOKALIKES: string[] = lookalikes();
const RULES = ['pem_private_key', 'bearer_token', 'jwt', 'aws_access_key_id', 'aws_secret_access_key', 'card_number', 'email'];
const SECRET_KEY = (i: number) => `secret.${i}`;
const KEEP_KEY = (i: number) => `keep.${i}`;
/** Places each secret is sent in one export: resource, span, span list attribute, event, link. */
const PLACES_PER_EXPORT = 5;

/** The attributes every attribute list carries: each secret and each look-alike under its own key. */
function corpusAttributes(): Attributes {
  const attrs: Attributes = {};
  CORPUS.forEach((s, i) => (attrs[SECRET_KEY(i)] = s.value));
  LOOKALIKES.forEach((v, i) => (attrs[KEEP_KEY(i)] = v));
  return attrs;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Sends one trace of one span carrying the corpus in its resource, its own
 * attributes (also as a string array), an event and a link, through `exporter`.
 * Returns the span as the SDK sent it.
 */
async function sendCorpus(service: string, exporter: SpanExporter): Promise<{ traceId: string; sent: ReturnType<typeof expectedSpan> }> {
  const memory = new InMemorySpanExporter();
  const many = 1024;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, ...corpusAttributes() }),
    // The SDK keeps 128 attributes per list by default; the corpus is larger.
    spanLimits: { attributeCountLimit: many, attributePerEventCountLimit: many, attributePerLinkCountLimit: many },
    // One span, one export: every secret is counted a known number of times.
    spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(exporter)],
  });
  // A link to a span of another service, which need not be stored here.
  const linked: SpanContext = { traceId: hex(16), spanId: hex(8), traceFlags: TraceFlags.SAMPLED };
  const span = provider.getTracer('redaction-e2e', '1.0.0').startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    attributes: { ...corpusAttributes(), 'secrets.list': CORPUS.map((s) => s.value), 'keep.list': LOOKALIKES },
    links: [{ context: linked, attributes: corpusAttributes() }],
  });
  span.addEvent('exception', corpusAttributes());
  span.end();
  await provider.forceFlush();
  const finished = memory.getFinishedSpans();
  assert.equal(finished.length, 1);
  const sent = expectedSpan(finished[0]!);
  await provider.shutdown();
  return { traceId: finished[0]!.spanContext().traceId, sent };
}

// ---- what must not be found -------------------------------------------------------------

/** The corpus's needles, labelled by the attribute key each secret is sent under. */
function needlesOf(corpus: readonly Secret[]) {
  return needlesOfCorpus(corpus, SECRET_KEY);
}

// ---- reading back -----------------------------------------------------------------------

async function fetchTraceText(skein: SkeinProcess, path: string): Promise<string> {
  const res = await fetch(`${skein.url}${path}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/** Both trace-by-ID answers (JSON), raw and decoded. */
async function readTrace(skein: SkeinProcess, traceId: string): Promise<Array<{ path: string; text: string; batch: ResourceSpans[] }>> {
  const out = [];
  for (const path of [`/api/traces/${traceId}`, `/api/v2/traces/${traceId}`]) {
    const text = await fetchTraceText(skein, path);
    const json = JSON.parse(text) as Record<string, unknown>;
    const traceJson = path.startsWith('/api/v2/') ? json['trace'] : json;
    out.push({ path, text, batch: decodeOtlpJson(JSON.stringify(traceJson), { ids: 'base64' }) });
  }
  return out;
}

/** The attribute lists of the one span of a trace: resource, span, event, link. */
function attributeLists(batch: ResourceSpans[]): Array<[string, KeyValue[]]> {
  const spans = flattenBatch(batch);
  assert.equal(spans.length, 1);
  const { resource, span } = spans[0]!;
  assert.equal(span.events.length, 1);
  assert.equal(span.links.length, 1);
  return [
    ['resource', resource.attributes],
    ['span', span.attributes],
    ['event', span.events[0]!.attributes],
    ['link', span.links[0]!.attributes],
  ];
}

function get(attrs: readonly KeyValue[], key: string): AnyValue | undefined {
  return attrs.find((kv) => kv.key === key)?.value;
}

function str(attrs: readonly KeyValue[], key: string): string {
  const v = get(attrs, key);
  assert.equal(v?.type, 'string', `${key} is ${JSON.stringify(v)}`);
  return (v as { value: string }).value;
}

/** Captures everything the process writes from now on, as raw text. */
function captureOutput(skein: SkeinProcess): { text(): string } {
  const chunks: Buffer[] = [];
  skein.child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  skein.child.stderr!.on('data', (c: Buffer) => chunks.push(c));
  return { text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Counter values by rule from /metrics, for one metric and processor. */
async function ruleCounters(skein: SkeinProcess, metric: string, processor = 'redaction'): Promise<Map<string, number>> {
  const res = await fetch(`${skein.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const out = new Map<string, number>();
  const re = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels['processor'] === processor) out.set(labels['rule'] ?? '', Number(m[2]));
  }
  return out;
}

function expectedMatches(exports: number, corpus: readonly Secret[] = CORPUS): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of corpus) counts.set(s.rule, (counts.get(s.rule) ?? 0) + PLACES_PER_EXPORT * exports);
  return counts;
}

function delta(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([rule, n]) => [rule, n - (before.get(rule) ?? 0)]));
}

function logText(skein: SkeinProcess): string {
  return skein.logs.map((l) => JSON.stringify(l)).join('\n');
}

const DEBUG_LOGS = 'server:\n  log_level: debug\n';
/** Rules whose first secret's key becomes a span metrics dimension (one-line values only). */
const DIMENSION_RULES = ['bearer_token', 'aws_access_key_id', 'card_number', 'email'];

test('the corpus is large and covers every rule', () => {
  assert.ok(CORPUS.length >= 50, `${CORPUS.length} secrets`);
  for (const rule of RULES) assert.ok(CORPUS.some((s) => s.rule === rule), `no ${rule} sample`);
  assert.ok(LOOKALIKES.length >= 20);
});

describe('redaction enforced (email rule on, summary debug, debug logs)', () => {
  let skein: SkeinProcess;
  let output: { text(): string };
  const traces: Array<{ transport: string; traceId: string }> = [];
  let countersBefore: Map<string, number>;
  const needles = needlesOf(CORPUS);

  before(async () => {
    // Span metrics labelled by secret-bearing attributes: connectors see spans after redaction.
    const dimensions = [...DIMENSION_RULES.map((rule) => SECRET_KEY(CORPUS.findIndex((s) => s.rule === rule))), KEEP_KEY(LOOKALIKES.length - 1)];
    skein = await startSkein({
      configYaml:
        `${DEBUG_LOGS}processors:\n  redaction:\n    optional_rules: [email]\n    summary: debug\n` +
        `connectors:\n  spanmetrics:\n    dimensions: [${dimensions.join(', ')}]\n`,
    });
    output = captureOutput(skein);
    countersBefore = await ruleCounters(skein, 'skein_redaction_values_masked_total');
    traces.push({ transport: 'OTLP/HTTP protobuf', ...(await sendCorpus('checkout-http', new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }))) });
    traces.push({ transport: 'OTLP/gRPC', ...(await sendCorpus('checkout-grpc', new GrpcExporter({ url: `http://${skein.grpcAddr}` }))) });
  });

  after(async () => {
    await skein.stop();
  });

  test('the WAL holds the spans, with no secret in it', () => {
    const wal = filesUnder(skein.dataDir).filter((f) => f.endsWith('.wal'));
    assert.ok(wal.length >= 1, 'a WAL segment exists');
    const bytes = Buffer.concat(wal.map((f) => readFileSync(f)));
    // The search proves something only if the WAL is readable text where attributes are.
    assert.ok(bytes.includes(LOOKALIKES.at(-1)!) && bytes.includes('checkout-grpc') && bytes.includes('****'), 'WAL carries attribute values as bytes');
    assert.deepEqual(findLeaks(bytes, needles, 'WAL'), []);
  });

  test('both trace APIs answer with every credential masked and every look-alike unchanged', async () => {
    for (const { transport, traceId } of traces) {
      for (const { path, text, batch } of await readTrace(skein, traceId)) {
        const where = `${transport} ${path}`;
        assert.deepEqual(findLeaks(text, needles, where), []);
        for (const [place, attrs] of attributeLists(batch)) {
          CORPUS.forEach((s, i) => {
            const got = str(attrs, SECRET_KEY(i));
            assert.ok(got.includes('****'), `${where} ${place} ${SECRET_KEY(i)} (${s.rule}) not masked: ${got.slice(0, 60)}`);
          });
          LOOKALIKES.forEach((v, i) => assert.equal(str(attrs, KEEP_KEY(i)), v, `${where} ${place} look-alike changed`));
        }
        const span = attributeLists(batch)[1]![1];
        const list = get(span, 'secrets.list');
        assert.equal(list?.type, 'array');
        for (const item of list.value) assert.ok(item.type === 'string' && item.value.includes('****'), `${where} secrets.list item not masked`);
        assert.deepEqual(
          (get(span, 'keep.list') as { value: AnyValue[] }).value.map((v) => (v as { value: string }).value),
          LOOKALIKES,
          `${where} keep.list changed`,
        );
        // Masking keeps the text around the token.
        assert.equal(str(span, SECRET_KEY(CORPUS.findIndex((s) => s.value.startsWith('Authorization: Bearer ')))), 'Authorization: Bearer ****');
      }
    }
  });

  test('summary debug adds the collector\'s redaction.* attributes to each list it changed', async () => {
    const secretKeys = CORPUS.map((_, i) => SECRET_KEY(i));
    for (const { transport, traceId } of traces) {
      const { batch } = (await readTrace(skein, traceId))[0]!;
      for (const [place, attrs] of attributeLists(batch)) {
        const masked = place === 'span' ? [...secretKeys, 'secrets.list'] : secretKeys;
        assert.equal(str(attrs, 'redaction.masked.keys'), [...masked].sort().join(','), `${transport} ${place}`);
        assert.deepEqual(get(attrs, 'redaction.masked.count'), { type: 'int', value: BigInt(masked.length) }, `${transport} ${place}`);
        // Nothing deleted, exempted or ignored, so no attributes claim it.
        for (const key of ['redaction.redacted.keys', 'redaction.redacted.count', 'redaction.allowed.keys', 'redaction.allowed.count', 'redaction.ignored.count']) {
          assert.equal(get(attrs, key), undefined, `${transport} ${place} has ${key}`);
        }
      }
    }
  });

  test('the per-rule counters on /metrics count every match', async () => {
    const got = delta(await ruleCounters(skein, 'skein_redaction_values_masked_total'), countersBefore);
    assert.deepEqual(Object.fromEntries([...got].filter(([, n]) => n > 0)), Object.fromEntries(expectedMatches(traces.length)));
  });

  test('span metrics labelled by those attributes carry the masked values', async () => {
    const metrics = await (await fetch(`${skein.url}/metrics`)).text();
    const calls = metrics.split('\n').filter((l) => l.startsWith('traces_spanmetrics_calls_total{') && l.includes('checkout-http'));
    assert.equal(calls.length, 1, metrics.slice(0, 2000));
    // The look-alike dimension proves labels hold attribute values.
    assert.ok(calls[0]!.includes(`="${LOOKALIKES.at(-1)!}"`), calls[0]);
    for (const rule of DIMENSION_RULES) {
      const i = CORPUS.findIndex((s) => s.rule === rule);
      const label = new RegExp(`[{,]secret_${i}="([^"]*)"`).exec(calls[0]!);
      assert.ok(label?.[1]!.includes('****'), `${rule}: ${calls[0]}`);
    }
    assert.deepEqual(findLeaks(metrics, needles, '/metrics'), []);
  });

  test('after a flush and a shutdown no file under the data directory holds a secret, decoded or not', async () => {
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    const afterFlush = await dataDirContents(skein.dataDir);
    assert.equal((await skein.stop()), 0);
    const afterStop = await dataDirContents(skein.dataDir);
    const parquet = afterStop.filter((f) => f.file.endsWith('.parquet (decoded)'));
    assert.ok(parquet.length >= 1, 'blocks were written');
    const decoded = Buffer.concat(parquet.map((f) => f.content));
    assert.ok(decoded.includes(LOOKALIKES.at(-1)!) && decoded.includes('****'), 'the decoded blocks carry attribute values');
    const leaks = [...afterFlush, ...afterStop].flatMap(({ file, content }) => findLeaks(content, needles, file));
    assert.deepEqual(leaks, []);
  });

  test('no secret in the logs, parsed or raw', () => {
    assert.ok(skein.logs.some((l) => l['msg'] === 'redaction rules loaded'));
    assert.deepEqual(findLeaks(logText(skein), needles, 'logs'), []);
    assert.ok(output.text().includes('shutting down'), 'the raw output was captured to the end');
    assert.deepEqual(findLeaks(output.text(), needles, 'raw output'), []);
  });
});

describe('redaction without the email rule, summary info', () => {
  test('emails are kept, the other credentials masked, look-alikes unchanged; the summary has counts only', async () => {
    // The default rules; only the summary level differs from the defaults.
    const skein = await startSkein({ configYaml: 'processors:\n  redaction:\n    summary: info\n' });
    try {
      const { traceId } = await sendCorpus('checkout-defaults', new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }));
      const { text, batch } = (await readTrace(skein, traceId))[0]!;
      assert.deepEqual(findLeaks(text, needlesOf(CORPUS.filter((s) => s.rule !== 'email')), 'API'), []);
      const maskedKeys = CORPUS.filter((s) => s.rule !== 'email').length;
      for (const [place, attrs] of attributeLists(batch)) {
        CORPUS.forEach((s, i) => {
          const got = str(attrs, SECRET_KEY(i));
          if (s.rule === 'email') assert.equal(got, s.value, `${place}: email changed without the email rule`);
          else assert.ok(got.includes('****'), `${place} ${SECRET_KEY(i)} (${s.rule}) not masked`);
        });
        LOOKALIKES.forEach((v, i) => assert.equal(str(attrs, KEEP_KEY(i)), v));
        // info: the count of masked keys, not which keys.
        const summary = attrs.filter((kv) => kv.key.startsWith('redaction.'));
        const expected = place === 'span' ? maskedKeys + 1 : maskedKeys;
        assert.deepEqual(summary, [{ key: 'redaction.masked.count', value: { type: 'int', value: BigInt(expected) } }], place);
      }
    } finally {
      await skein.stop();
    }
  });
});

describe('redaction dry run', () => {
  test('stores every value as sent, counts and logs each rule and place, never the value', async () => {
    const skein = await startSkein({
      configYaml: `${DEBUG_LOGS}processors:\n  redaction:\n    optional_rules: [email]\n    summary: debug\n    dry_run: true\n`,
    });
    const output = captureOutput(skein);
    try {
      const before = await ruleCounters(skein, 'skein_redaction_dry_run_matches_total');
      const { traceId, sent } = await sendCorpus('checkout-dry-run', new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }));
      for (const { path, batch } of await readTrace(skein, traceId)) {
        assert.deepEqual(plainSpans(flattenBatch(batch)), plainSpans([sent]), `${path}: a dry run changes nothing (no summary either)`);
      }

      const dryRunCounts = delta(await ruleCounters(skein, 'skein_redaction_dry_run_matches_total'), before);
      assert.deepEqual(Object.fromEntries([...dryRunCounts].filter(([, n]) => n > 0)), Object.fromEntries(expectedMatches(1)));
      assert.equal((await ruleCounters(skein, 'skein_redaction_values_masked_total')).size, 0, 'a dry run masks nothing');

      const lines = skein.logs.filter((l) => l['msg'] === 'redaction dry run: these would have been redacted');
      assert.equal(lines.length, 1, 'one line for the one batch');
      const line = lines[0]!;
      assert.equal(line['level'], 'info');
      assert.deepEqual(line['matches'], Object.fromEntries(expectedMatches(1)));
      // Places are attribute keys prefixed by where they were; each rule lists up to 20.
      const places = line['places'] as Record<string, string[]>;
      assert.deepEqual(Object.keys(places).sort(), [...RULES].sort());
      const secretKeys = new Set([...CORPUS.map((_, i) => SECRET_KEY(i)), 'secrets.list']);
      const seenWhere = new Set<string>();
      for (const [rule, list] of Object.entries(places)) {
        assert.ok(list.length >= 1 && list.length <= 20, `${rule}: ${list.length} places`);
        const first = SECRET_KEY(CORPUS.findIndex((s) => s.rule === rule));
        assert.ok(list.includes(`resource:${first}`), `${rule} places lack resource:${first}: ${JSON.stringify(list)}`);
        for (const place of list) {
          const [where, key] = place.split(/:(.*)/s) as [string, string];
          assert.ok(['resource', 'span', 'event', 'link'].includes(where) && secretKeys.has(key), `${rule}: unexpected place ${place}`);
          seenWhere.add(where);
        }
      }
      assert.deepEqual([...seenWhere].sort(), ['event', 'link', 'resource', 'span']);
      const needles = needlesOf(CORPUS);
      assert.deepEqual(findLeaks(logText(skein), needles, 'logs'), []);
      assert.deepEqual(findLeaks(output.text(), needles, 'raw output'), []);
    } finally {
      await skein.stop();
    }
  });
});

// Protobuf bytes beside the decoded spans spare Skein encoding them again, but
// only when the decoded spans show everything the bytes hold: a value the
// decoder skipped or replaced is one redaction never saw.
describe('bytes redaction cannot see never reach storage', () => {
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return Buffer.from(out);
  };
  const len = (field: number, ...payload: Buffer[]): Buffer => {
    const body = Buffer.concat(payload);
    return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
  };
  const str = (field: number, s: string): Buffer => len(field, Buffer.from(s));
  const fixed64 = (field: number, v: bigint): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = (field << 3) | 1;
    b.writeBigUInt64LE(v, 1);
    return b;
  };
  /** A KeyValue body with its value field written once per value. */
  const keyValue = (key: string, ...values: string[]): Buffer => Buffer.concat([str(1, key), ...values.map((v) => len(2, str(1, v)))]);

  test('a value set twice or an unknown field is neither in the WAL nor in a block; the spans are stored as decoded', async () => {
    const skein = await startSkein();
    try {
      const hidden = [`hidden-oneof-${hex(8)}`, `hidden-keyvalue-${hex(8)}`, `hidden-unknown-${hex(8)}`];
      const traceId = hex(16);
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const span = len(
        2,
        len(1, Buffer.from(traceId, 'hex')),
        len(2, Buffer.from(hex(8), 'hex')),
        str(5, 'GET /hidden'),
        fixed64(7, nowNs),
        fixed64(8, nowNs + 1_000_000n),
        // AnyValue with string_value twice: the last one wins.
        len(9, str(1, 'oneof'), len(2, str(1, hidden[0]!), str(1, 'visible-oneof'))),
        // KeyValue with value twice: the last one wins.
        len(9, keyValue('keyvalue', hidden[1]!, 'visible-keyvalue')),
        // Field 99 is no Span field.
        str(99, hidden[2]!),
      );
      // TracesData { ResourceSpans { Resource { attributes }, ScopeSpans { span } } }
      const body = len(1, len(1, len(1, keyValue('service.name', 'raw-client'))), len(2, span));
      const res = await fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      assert.equal(res.status, 200, await res.clone().text());

      const trace = (await (await fetch(`${skein.url}/api/traces/${traceId}`)).json()) as { batches: Array<{ resource: { attributes: KeyValueJson[] }; scopeSpans: Array<{ spans: Array<{ attributes: KeyValueJson[] }> }> }> };
      const [rs] = trace.batches;
      assert.deepEqual(rs?.resource.attributes, [{ key: 'service.name', value: { stringValue: 'raw-client' } }]);
      assert.deepEqual(rs?.scopeSpans[0]?.spans[0]?.attributes, [
        { key: 'oneof', value: { stringValue: 'visible-oneof' } },
        { key: 'keyvalue', value: { stringValue: 'visible-keyvalue' } },
      ]);

      const needles = hidden.map((text) => ({ label: text, text }));
      const wal = Buffer.concat(filesUnder(skein.dataDir).filter((f) => f.endsWith('.wal')).map((f) => readFileSync(f)));
      assert.ok(wal.includes('visible-keyvalue'), 'the WAL holds the span');
      assert.deepEqual(findLeaks(wal, needles, 'WAL'), []);
      assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
      const leaks = (await dataDirContents(skein.dataDir)).flatMap(({ file, content }) => findLeaks(content, needles, file));
      assert.deepEqual(leaks, []);
    } finally {
      await skein.stop();
    }
  });
});

interface KeyValueJson {
  key: string;
  value: { stringValue?: string };
}
