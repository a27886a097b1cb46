// The instrumentation kit end to end: the reference API and its backend run as
// real processes with @skein/instrument and export to a real Skein. A login,
// an upload, payment webhooks and a search produce the four hot-path spans,
// found by TraceQL with the email masked and only the query's length; none of
// the personal values or credentials sent is anywhere under Skein's data
// directory; the service's JSON logs carry the trace's ID; the trace opens in
// Skein's UI. Then the kit's failure modes: OTEL_SDK_DISABLED, a collector that
// is down, and a shutdown that must flush what the batch processor still holds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Browser } from 'playwright-core';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { toHex, type AnyValue, type KeyValue, type StoredSpan } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { launchReferenceService, type ReferenceService } from '../../examples/reference-service/launch.js';
import { waitFor } from '../helpers/poll.js';
import { dataDirContents } from '../helpers/leaks.js';

const HOT_PATHS = ['auth.login', 'track.upload.initiate', 'payment.webhook', 'search.query'] as const;
/** Skein without its own redaction: what is absent from storage must be the kit's doing. */
const NO_REDACTION = ['pipeline:', '  processors: [memory_limiter]', ''].join('\n');

// ---- helpers ------------------------------------------------------------------------------

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface SearchHit {
  traceID: string;
}

/** Trace IDs (32 hex digits) /api/search returns for a TraceQL query over the last hour. */
async function traceql(skein: SkeinProcess, q: string): Promise<string[]> {
  const end = Math.ceil(Date.now() / 1000) + 60;
  const params = new URLSearchParams({ q, start: String(end - 3600), end: String(end), limit: '50' });
  const res = await fetch(`${skein.url}/api/search?${params}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${q}: ${text}`);
  // Search trims leading zeros from trace IDs, as Tempo does; logs and the SDK print all 32 digits.
  return (JSON.parse(text) as { traces: SearchHit[] }).traces.map((t) => t.traceID.padStart(32, '0'));
}

async function getTrace(skein: SkeinProcess, traceId: string): Promise<StoredSpan[]> {
  const res = await fetch(`${skein.url}/api/v2/traces/${traceId}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${traceId}: ${text.slice(0, 200)}`);
  const json = JSON.parse(text) as { trace: unknown };
  return flattenBatch(decodeOtlpJson(JSON.stringify(json.trace), { ids: 'base64' }));
}

function attr(attrs: readonly KeyValue[], key: string): AnyValue | undefined {
  return attrs.find((kv) => kv.key === key)?.value;
}

function attrText(attrs: readonly KeyValue[], key: string): string | undefined {
  const v = attr(attrs, key);
  return v === undefined ? undefined : v.type === 'int' ? String(v.value) : v.type === 'string' ? v.value : JSON.stringify(v);
}

function jsonLines(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

async function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function acceptedSpans(skein: SkeinProcess): Promise<number> {
  const text = await (await fetch(`${skein.url}/metrics`)).text();
  return [...text.matchAll(/^skein_receiver_accepted_spans_total(?:\{[^}]*\})? (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

// ---- the reference service, exporting to Skein -------------------------------------------

describe('reference service instrumented with @skein/instrument, exporting to Skein', () => {
  const unique = randomBytes(6).toString('hex');
  const email = `jane.doe.${unique}@example.com`;
  const password = `pw-${unique}-correct-horse`;
  const query = `blue ${unique} green`;
  const bearer = `tok${unique}secretbearer`;
  const sessionCookie = `sid=${unique}cookievalue`;
  let skein: SkeinProcess;
  let service: ReferenceService;
  const responses: Record<string, { status: number; json: Record<string, unknown> }> = {};
  let exitCodes: { api: number | null; backend: number | null };
  const traceIds = new Map<string, string>();

  before(async () => {
    skein = await startSkein({ configYaml: NO_REDACTION });
    service = await launchReferenceService({
      apiPort: 0,
      backendPort: 0,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://${skein.grpcAddr}`, LOG_FORMAT: 'json', DEPLOYMENT_ENVIRONMENT: 'e2e' },
    });
    const api = service.apiUrl;
    responses['login'] = await post(`${api}/login`, { email, password }, { authorization: `Bearer ${bearer}`, cookie: sessionCookie });
    responses['upload'] = await post(`${api}/tracks/uploads`, { filename: 'take1.flac', size: 12_000_000, contentType: 'audio/flac' });
    responses['webhook'] = await post(`${api}/webhooks/payment`, { id: `evt_${unique}`, type: 'payment.succeeded', amount: 999 });
    responses['badWebhook'] = await post(`${api}/webhooks/payment`, { id: `evt_bad_${unique}`, type: 'payment.exploded', amount: 1 });
    const res = await fetch(`${api}/search?q=${encodeURIComponent(query)}`);
    responses['search'] = { status: res.status, json: (await res.json()) as Record<string, unknown> };
    // A clean stop flushes what the batch processor holds (its 5 s schedule may not have come yet).
    exitCodes = await service.stop();
  });

  after(async () => {
    await service?.stop();
    await skein?.stop();
  });

  test('the four hot paths answer over HTTP, and both processes stop cleanly', () => {
    assert.equal(responses['login']!.status, 200);
    assert.equal(typeof responses['login']!.json['token'], 'string');
    assert.equal(responses['upload']!.status, 201);
    assert.equal((responses['upload']!.json['chunks'] as unknown[]).length, 3);
    assert.equal(responses['webhook']!.status, 200);
    assert.equal(responses['badWebhook']!.status, 400);
    assert.match(String(responses['badWebhook']!.json['error']), /unknown payment event type "payment\.exploded"/);
    assert.equal(responses['search']!.status, 200);
    assert.deepEqual(exitCodes, { api: 0, backend: 0 });
  });

  test('each hot path is one span found by TraceQL, the trace crossing into the backend', async () => {
    for (const name of HOT_PATHS) {
      const expected = name === 'payment.webhook' ? 2 : 1;
      const ids = await waitFor(`${expected} trace(s) with ${name}`, async () => {
        const found = await traceql(skein, `{ name = "${name}" && resource.service.name = "reference-api" }`);
        return found.length >= expected ? found : undefined;
      });
      assert.equal(ids.length, expected, `${name}: ${ids.join(', ')}`);
      for (const id of ids) {
        const spans = await getTrace(skein, id);
        const span = spans.find((s) => s.span.name === name);
        assert.ok(span, `${name} in trace ${id}`);
        assert.equal(span.span.kind, 2, `${name} is a SERVER span`);
        assert.equal(attrText(span.resource.attributes, 'service.version'), '1.0.0');
        assert.equal(attrText(span.resource.attributes, 'deployment.environment'), 'e2e');
        if (name === 'payment.webhook' && attrText(span.span.attributes, 'payment.event.id') === `evt_bad_${unique}`) traceIds.set('badWebhook', id);
        else traceIds.set(name, id);
      }
    }

    const login = await getTrace(skein, traceIds.get('auth.login')!);
    const span = login.find((s) => s.span.name === 'auth.login')!;
    assert.equal(attrText(span.span.attributes, 'user.email'), 'j***@example.com');
    assert.equal(attrText(span.span.attributes, 'auth.outcome'), 'accepted');
    // The service records every request header; the deny-list removed these two before export, and says so.
    assert.equal(attr(span.span.attributes, 'http.request.header.authorization'), undefined);
    assert.equal(attr(span.span.attributes, 'http.request.header.cookie'), undefined);
    assert.equal(attrText(span.span.attributes, 'http.request.header.content-type'), 'application/json');
    assert.equal(span.span.droppedAttributesCount, 2);
    // W3C trace context crossed the process boundary: the backend's span is a child of the API's client span.
    const client = login.find((s) => s.span.kind === 3)!;
    const server = login.find((s) => attrText(s.resource.attributes, 'service.name') === 'reference-backend');
    assert.ok(server, 'the backend span is in the same trace');
    assert.equal(toHex(server.span.parentSpanId), toHex(client.span.spanId));
    assert.equal(toHex(client.span.parentSpanId), toHex(span.span.spanId));

    const search = (await getTrace(skein, traceIds.get('search.query')!)).find((s) => s.span.name === 'search.query')!;
    assert.equal(attrText(search.span.attributes, 'search.query.length'), String(query.length));

    const upload = await getTrace(skein, traceIds.get('track.upload.initiate')!);
    assert.equal(attrText(upload.find((s) => s.span.name === 'track.upload.initiate')!.span.attributes, 'track.upload.chunks'), '3');
    assert.ok(upload.some((s) => s.span.name === 'upload.reserve' && attrText(s.resource.attributes, 'service.name') === 'reference-backend'));

    const bad = (await getTrace(skein, traceIds.get('badWebhook')!)).find((s) => s.span.name === 'payment.webhook')!;
    assert.equal(bad.span.status.code, 2, 'the failed webhook is an error span');
    assert.match(bad.span.status.message, /unknown payment event type/);
    assert.equal(bad.span.events[0]?.name, 'exception');
    const good = (await getTrace(skein, traceIds.get('payment.webhook')!)).find((s) => s.span.name === 'payment.webhook')!;
    assert.notEqual(good.span.status.code, 2);
  });

  test('no email, password, query text, bearer token or cookie anywhere under the data directory', async () => {
    await waitFor('the login trace is stored', async () => ((await traceql(skein, '{ name = "auth.login" }')).length > 0 ? true : undefined));
    const flushed = await fetch(`${skein.url}/flush`, { method: 'POST' });
    assert.ok(flushed.ok, `POST /flush: ${flushed.status}`);
    const contents = await dataDirContents(skein.dataDir);
    assert.ok(contents.some((c) => c.file.endsWith('(decoded)')), 'a block was written and decoded');
    // The masked email is stored: the search below is not vacuous.
    assert.ok(contents.some((c) => c.content.includes('j***@example.com')));
    const leaks: string[] = [];
    for (const [what, text] of Object.entries({ email, password, query, bearer, cookie: sessionCookie })) {
      for (const c of contents) if (c.content.includes(text)) leaks.push(`${what} in ${c.file}`);
    }
    assert.deepEqual(leaks, []);
  });

  test("the service's JSON logs for the login carry the trace's ID, in both processes", async () => {
    const login = traceIds.get('auth.login') ?? (await waitFor('auth.login stored', async () => (await traceql(skein, '{ name = "auth.login" }'))[0]));
    const api = jsonLines(service.logs.api);
    const succeeded = api.find((r) => r['msg'] === 'login succeeded');
    assert.ok(succeeded, `login succeeded is logged:\n${service.logs.api.join('\n')}`);
    assert.equal(succeeded['trace_id'], login);
    assert.match(String(succeeded['span_id']), /^[0-9a-f]{16}$/);
    assert.equal(succeeded['user'], 'j***@example.com');
    const backend = jsonLines(service.logs.backend).find((r) => r['msg'] === 'session created');
    assert.equal(backend?.['trace_id'], login);
    const failed = api.find((r) => r['msg'] === 'payment.webhook failed');
    assert.equal(failed?.['trace_id'], traceIds.get('badWebhook') ?? failed?.['trace_id']);
    // The service's own output never holds the personal values either.
    const all = [...service.logs.api, ...service.logs.backend].join('\n');
    for (const text of [email, password, query, bearer]) assert.ok(!all.includes(text), `${text} is not logged`);
  });

  test("the trace opens in Skein's UI with the auth.login span visible", async () => {
    const traceId = traceIds.get('auth.login') ?? (await waitFor('auth.login stored', async () => (await traceql(skein, '{ name = "auth.login" }'))[0]));
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const ui = await openPage(browser, skein.url);
      try {
        const { page } = ui;
        await page.goto(`/trace/${traceId}`);
        await page.getByTestId('trace-page').waitFor();
        const row = page.getByTestId('span-row').filter({ hasText: 'auth.login' });
        await row.first().waitFor({ state: 'visible' });
        await row.first().click();
        const detail = page.getByTestId('span-detail');
        await detail.waitFor();
        assert.equal(await detail.getByTestId('span-detail-name').innerText(), 'auth.login');
        assert.match(await detail.innerText(), /j\*\*\*@example\.com/);
        await screenshot(page, 'reference-service-login-trace');
        assert.deepEqual(ui.foreignRequests, []);
        assert.deepEqual(ui.errors, []);
      } finally {
        await ui.close();
      }
    } finally {
      await browser?.close();
    }
  });
});

// ---- failure modes --------------------------------------------------------------------------

describe('@skein/instrument when tracing is off or the collector is away', () => {
  let skein: SkeinProcess;

  before(async () => {
    skein = await startSkein({ configYaml: NO_REDACTION });
  });

  after(async () => {
    await skein?.stop();
  });

  async function exercise(service: ReferenceService, tag: string): Promise<number[]> {
    const api = service.apiUrl;
    const statuses = [
      (await post(`${api}/login`, { email: `a.${tag}@example.com`, password: 'long enough' })).status,
      (await post(`${api}/tracks/uploads`, { filename: 'a.flac', size: 10, contentType: 'audio/flac' })).status,
      (await post(`${api}/webhooks/payment`, { id: `evt_${tag}`, type: 'refund.created', amount: 5 })).status,
      (await fetch(`${api}/search?q=blue`)).status,
    ];
    return statuses;
  }

  test('OTEL_SDK_DISABLED=true: the service works and exports nothing', async () => {
    const service = await launchReferenceService({
      apiPort: 0,
      backendPort: 0,
      env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: `http://${skein.grpcAddr}`, OTEL_BSP_SCHEDULE_DELAY: '50', LOG_FORMAT: 'json' },
    });
    try {
      assert.deepEqual(await exercise(service, 'disabled'), [200, 201, 200, 200]);
      // Logs still work, without trace IDs.
      const login = jsonLines(service.logs.api).find((r) => r['msg'] === 'login succeeded');
      assert.ok(login);
      assert.equal(login['trace_id'], undefined);
    } finally {
      assert.deepEqual(await service.stop(), { api: 0, backend: 0 });
    }
    // A clean stop would have flushed anything recorded; Skein received no span at all.
    assert.equal(await acceptedSpans(skein), 0);
  });

  test('collector down: the service works and logs the failure once', async () => {
    const nowhere = await unusedPort();
    const service = await launchReferenceService({
      apiPort: 0,
      backendPort: 0,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${nowhere}`,
        // Export often and give up quickly, so that many exports fail during the test.
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_EXPORTER_OTLP_TIMEOUT: '500',
        LOG_FORMAT: 'json',
      },
    });
    let codes: { api: number | null; backend: number | null } | undefined;
    try {
      assert.deepEqual(await exercise(service, 'down1'), [200, 201, 200, 200]);
      const failures = () => jsonLines(service.logs.api).filter((r) => r['event'] === 'otel.export.failed');
      await waitFor('the failed export is logged', async () => (failures().length > 0 ? true : undefined));
      // More traffic, more failed exports (every 50 ms, and the one at shutdown).
      for (let i = 0; i < 3; i++) assert.deepEqual(await exercise(service, `down${i + 2}`), [200, 201, 200, 200]);
      codes = await service.stop();
      const logged = failures();
      assert.equal(logged.length, 1, JSON.stringify(logged));
      assert.equal(logged[0]!['endpoint'], `http://127.0.0.1:${nowhere}`);
      assert.equal(logged[0]!['level'], 'warn');
      assert.equal(jsonLines(service.logs.backend).filter((r) => r['event'] === 'otel.export.failed').length, 1);
    } finally {
      codes ??= await service.stop();
    }
    assert.deepEqual(codes, { api: 0, backend: 0 });
  });

  test('shutdown flushes the spans the batch processor still holds (OTLP over HTTP)', async () => {
    const service = await launchReferenceService({
      apiPort: 0,
      backendPort: 0,
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_ENDPOINT: skein.otlpHttpUrl,
        OTEL_SERVICE_NAME: 'flush-check',
        // Far beyond the test: only the shutdown can export these spans.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        LOG_FORMAT: 'json',
      },
    });
    let codes: { api: number | null; backend: number | null } | undefined;
    try {
      const res = await post(`${service.apiUrl}/login`, { email: 'flush@example.com', password: 'long enough' });
      assert.equal(res.status, 200);
      assert.deepEqual(await traceql(skein, '{ resource.service.name = "flush-check" }'), [], 'nothing exported before the stop');
    } finally {
      codes = await service.stop();
    }
    assert.deepEqual(codes, { api: 0, backend: 0 });
    const ids = await waitFor('the login exported at shutdown is stored', async () => {
      const found = await traceql(skein, '{ resource.service.name = "flush-check" && name = "auth.login" }');
      return found.length > 0 ? found : undefined;
    });
    const spans = await getTrace(skein, ids[0]!);
    assert.deepEqual(spans.map((s) => s.span.name).sort(), ['auth.login', 'session.create', 'session.create']);
  });
});
