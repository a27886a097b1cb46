// The redaction matrix: twenty credentials of distinct shapes, each sent by the
// real OpenTelemetry SDK in each of nine places a secret can sit in a span
// (span name, status message, event name, event attribute, span attribute value
// and key, link attribute, resource attribute, scope name). Afterwards none of
// them can be found in the trace APIs, search results, tag names or values,
// /metrics, the UI's operations and service graph, nor in any file under the data
// directory (WAL and blocks, the Parquet decoded), while each place visibly
// holds its masked text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Span as ApiSpan } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import type { KeyValue } from '../../src/otlp/model.js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { dataDirContents, findLeaks, needlesOf, type Needle } from '../helpers/leaks.js';
import { matrixSecrets } from '../pipeline/processors/redaction/corpus.js';

const SECRETS = matrixSecrets();

/** How a span carries its secret in one place; `read` finds that place in the span as stored. */
interface Place {
  name: string;
  /** The tracer (scope) name for this place's span. */
  scope?: (secret: string) => string;
  /** Resource attributes of this place's trace (one provider per place). */
  resource?: (secrets: readonly string[]) => Attributes;
  spanName?: (secret: string) => string;
  fill?: (span: ApiSpan, secret: string, i: number) => void;
  attributes?: (secret: string, i: number) => Attributes;
  links?: (secret: string) => Attributes;
  /** What the place holds in the stored span, to show it was masked, not lost. */
  read: (stored: StoredView, i: number) => string;
}

interface StoredView {
  name: string;
  statusMessage: string;
  eventNames: string[];
  event: KeyValue[];
  span: KeyValue[];
  link: KeyValue[];
  resource: KeyValue[];
  scope: string;
}

const text = (attrs: readonly KeyValue[], key: string): string => {
  const v = attrs.find((kv) => kv.key === key)?.value;
  return v?.type === 'string' ? v.value : `<${key} missing>`;
};

const PLACES: Place[] = [
  { name: 'span name', spanName: (s) => `GET /callback ${s}`, read: (v) => v.name },
  { name: 'status message', fill: (span, s) => span.setStatus({ code: SpanStatusCode.ERROR, message: `login failed: ${s}` }), read: (v) => v.statusMessage },
  { name: 'event name', fill: (span, s) => span.addEvent(`retry with ${s}`), read: (v) => v.eventNames.join('|') },
  { name: 'event attribute value', fill: (span, s) => span.addEvent('exception', { 'exception.message': `upstream said ${s}` }), read: (v) => text(v.event, 'exception.message') },
  { name: 'span attribute value', attributes: (s) => ({ 'http.request.header.authorization': s }), read: (v) => text(v.span, 'http.request.header.authorization') },
  { name: 'span attribute key', attributes: (s) => ({ [`cache.${s}`]: 'hit' }), read: (v) => v.span.map((kv) => kv.key).join('|') },
  { name: 'link attribute', links: (s) => ({ 'link.reason': s }), read: (v) => text(v.link, 'link.reason') },
  {
    name: 'resource attribute',
    resource: (secrets) => Object.fromEntries(secrets.map((s, i) => [`deployment.credential.${i}`, s])),
    read: (v, i) => text(v.resource, `deployment.credential.${i}`),
  },
  { name: 'scope name', scope: (s) => `lib ${s}`, read: (v) => v.scope },
];

const SERVICE = (p: number) => `matrix-${p}`;

/** Leaks as one line per place and secret, not per piece of it: a failure lists what leaked where. */
function distinct(leaks: readonly string[]): string[] {
  return [...new Set(leaks.map((l) => l.replace(/\): [\s\S]*$/, ')')))];
}

/**
 * One trace per place, through OTLP/HTTP protobuf: twenty spans, the first the
 * root, span i carrying secret i in that place.
 */
async function sendPlace(skein: SkeinProcess, p: number): Promise<string> {
  const place = PLACES[p]!;
  const values = SECRETS.map((s) => s.value);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE(p), ...place.resource?.(values) }),
    spanProcessors: [new SimpleSpanProcessor(new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }))],
  });
  let root: ApiSpan | undefined;
  const children: ApiSpan[] = [];
  values.forEach((secret, i) => {
    const tracer = provider.getTracer(place.scope?.(secret) ?? 'matrix', '1.0.0');
    const parent = root === undefined ? context.active() : trace.setSpan(context.active(), root);
    const linked = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.SAMPLED };
    const span = tracer.startSpan(
      place.spanName?.(secret) ?? `step ${i}`,
      {
        kind: i === 0 ? SpanKind.SERVER : SpanKind.CLIENT,
        attributes: { 'matrix.index': i, ...place.attributes?.(secret, i) },
        links: place.links ? [{ context: linked, attributes: place.links(secret) }] : [],
      },
      parent,
    );
    place.fill?.(span, secret, i);
    if (root === undefined) root = span;
    else children.push(span);
  });
  for (const span of children) span.end();
  root!.end();
  await provider.forceFlush();
  await provider.shutdown();
  return root!.spanContext().traceId;
}

async function getText(skein: SkeinProcess, path: string): Promise<string> {
  const res = await fetch(`${skein.url}${path}`);
  const body = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${body.slice(0, 300)}`);
  return body;
}

/** The stored spans of a trace, by matrix index, in the view the places read. */
async function storedSpans(skein: SkeinProcess, traceId: string): Promise<{ text: string; views: Map<number, StoredView> }> {
  const body = await getText(skein, `/api/traces/${traceId}`);
  const views = new Map<number, StoredView>();
  for (const { resource, scope, span } of flattenBatch(decodeOtlpJson(body, { ids: 'base64' }))) {
    const index = span.attributes.find((kv) => kv.key === 'matrix.index')?.value;
    assert.equal(index?.type, 'int');
    views.set(Number(index.value), {
      name: span.name,
      statusMessage: span.status.message,
      eventNames: span.events.map((e) => e.name),
      event: span.events.flatMap((e) => e.attributes),
      span: span.attributes,
      link: span.links.flatMap((l) => l.attributes),
      resource: resource.attributes,
      scope: scope.name,
    });
  }
  return { text: body, views };
}

/** Every answer of the tag endpoints: names in every scope (v1 and v2) and the values of each name. */
async function tagAnswers(skein: SkeinProcess): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  const fetchInto = async (path: string): Promise<string> => {
    const body = await getText(skein, path);
    out.push({ path, text: body });
    return body;
  };
  await fetchInto('/api/search/tags');
  const v2 = JSON.parse(await fetchInto('/api/v2/search/tags?scope=all')) as { scopes: Array<{ name: string; tags: string[] }> };
  const names = new Set<string>(['name', 'statusMessage', 'event:name', 'instrumentation:name', 'rootName']);
  for (const scope of v2.scopes) {
    for (const tag of scope.tags) names.add(scope.name === 'intrinsic' ? tag : `${scope.name}.${tag}`);
  }
  assert.ok(names.size > 10, `tag names: ${[...names].join(', ')}`);
  for (const name of names) {
    const res = await fetch(`${skein.url}/api/v2/search/tag/${encodeURIComponent(name)}/values`);
    out.push({ path: `/api/v2/search/tag/${name}/values`, text: `${res.status} ${await res.text()}` });
  }
  for (const name of ['name', 'service.name', 'http.request.header.authorization', 'link.reason']) {
    await fetchInto(`/api/search/tag/${encodeURIComponent(name)}/values`);
  }
  return out;
}

describe('redaction matrix: 20 credentials × 9 places, with the default configuration', () => {
  let skein: SkeinProcess;
  const traceIds: string[] = [];
  const needles: Needle[] = needlesOf(SECRETS);

  before(async () => {
    skein = await startSkein();
    for (let p = 0; p < PLACES.length; p++) traceIds.push(await sendPlace(skein, p));
  });

  after(async () => {
    await skein.stop();
  });

  test('twenty distinct credentials of distinct shapes, from every default rule', () => {
    assert.equal(SECRETS.length, 20);
    assert.equal(new Set(SECRETS.map((s) => s.value)).size, 20);
    assert.equal(PLACES.length, 9);
  });

  test('each place of each span holds its masked text, and no secret is in either trace API', async () => {
    const leaks: string[] = [];
    const unmasked: string[] = [];
    for (let p = 0; p < PLACES.length; p++) {
      const { text: v1, views } = await storedSpans(skein, traceIds[p]!);
      assert.equal(views.size, SECRETS.length, `${PLACES[p]!.name}: every span stored`);
      leaks.push(...findLeaks(v1, needles, `${PLACES[p]!.name} /api/traces`));
      const v2 = await getText(skein, `/api/v2/traces/${traceIds[p]}`);
      leaks.push(...findLeaks(v2, needles, `${PLACES[p]!.name} /api/v2/traces`));
      for (const [i, view] of views) {
        const got = PLACES[p]!.read(view, i);
        if (!got.includes('****')) unmasked.push(`${PLACES[p]!.name}, secret ${i} (${SECRETS[i]!.rule}): ${got.slice(0, 60)}`);
      }
    }
    assert.deepEqual(distinct(leaks), []);
    assert.deepEqual(unmasked, []);
  });

  test('search results hold no secret (root span names included)', async () => {
    const leaks: string[] = [];
    for (let p = 0; p < PLACES.length; p++) {
      const q = encodeURIComponent(`{ resource.service.name = "${SERVICE(p)}" }`);
      const body = await getText(skein, `/api/search?q=${q}&limit=50&spss=50`);
      const found = JSON.parse(body) as { traces: Array<{ rootTraceName?: string }> };
      assert.equal(found.traces.length, 1, `${PLACES[p]!.name}: ${body.slice(0, 300)}`);
      leaks.push(...findLeaks(body, needles, `${PLACES[p]!.name} search`));
    }
    const all = await getText(skein, `/api/search?tags=&limit=50`);
    leaks.push(...findLeaks(all, needles, 'search by tags'));
    assert.deepEqual(distinct(leaks), []);
  });

  test('no secret in tag names or tag values (autocomplete)', async () => {
    const answers = await tagAnswers(skein);
    // The values of span names are listed: the search proves something.
    assert.ok(answers.some((a) => a.path.includes('/name/values') && a.text.includes('step 1')), 'span names are listed as tag values');
    assert.deepEqual(distinct(answers.flatMap((a) => findLeaks(a.text, needles, a.path))), []);
  });

  test('no secret on /metrics (span metrics by span name) nor in the UI\'s operations and service graph', async () => {
    const metrics = await getText(skein, '/metrics');
    assert.ok(metrics.includes(`span_name="step 1"`), 'span metrics are labelled by span name');
    assert.ok(metrics.includes('span_name="GET /callback ****"'), 'masked span names are what the labels hold');
    const operations = await getText(skein, '/api/skein/operations');
    assert.ok(operations.includes('step 1'), operations.slice(0, 300));
    const graph = await getText(skein, '/api/skein/service-graph');
    assert.deepEqual(
      distinct([...findLeaks(metrics, needles, '/metrics'), ...findLeaks(operations, needles, 'operations'), ...findLeaks(graph, needles, 'service graph')]),
      [],
    );
  });

  test('after /flush no file under the data directory holds a secret, raw or decoded', async () => {
    const beforeFlush = await dataDirContents(skein.dataDir);
    assert.ok(beforeFlush.some((f) => f.file.endsWith('.wal') && f.content.includes('step 1')), 'the WAL holds the spans as readable bytes');
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    const afterFlush = await dataDirContents(skein.dataDir);
    const decoded = Buffer.concat(afterFlush.filter((f) => f.file.endsWith('(decoded)')).map((f) => f.content));
    assert.ok(decoded.includes('GET /callback ****') && decoded.includes('cache.'), 'the decoded blocks hold the spans');
    // Read back from the blocks: every trace still whole.
    for (const traceId of traceIds) assert.equal((await storedSpans(skein, traceId)).views.size, SECRETS.length);
    const leaks = [...beforeFlush, ...afterFlush].flatMap(({ file, content }) => findLeaks(content, needles, file.slice(skein.dataDir.length)));
    assert.deepEqual(distinct(leaks), []);
  });
});

describe('span names reach metric labels only checked, even when no redaction processor masks them', () => {
  test('with redaction turned off, the traces keep the names as sent but /metrics and the operations hold them masked', async () => {
    const skein = await startSkein({ configYaml: 'processors:\n  redaction:\n    enabled: false\n' });
    try {
      const traceId = await sendPlace(skein, PLACES.findIndex((p) => p.name === 'span name'));
      // Stored as sent: turning redaction off is the operator's choice for the traces.
      const { views } = await storedSpans(skein, traceId);
      assert.equal(views.get(1)?.name, `GET /callback ${SECRETS[1]!.value}`);
      const metrics = await getText(skein, '/metrics');
      assert.ok(metrics.includes('span_name="GET /callback ****"'), 'the masked names label the series');
      const operations = await getText(skein, '/api/skein/operations');
      assert.ok(operations.includes('GET /callback ****'), operations.slice(0, 300));
      const needles = needlesOf(SECRETS);
      assert.deepEqual(distinct([...findLeaks(metrics, needles, '/metrics'), ...findLeaks(operations, needles, 'operations')]), []);
    } finally {
      await skein.stop();
    }
  });
});
