// Per-tenant limits (overrides), end to end on a real Skein: each limit a tenant's override
// sets refuses with the limit named, while a tenant without overrides sending the same is
// unaffected; refusals are counted per tenant on /metrics; the overrides file is read again
// while Skein runs, a bad edit keeps the previous limits, and a bad file stops start-up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { rawTraceService } from '../../src/otlp/grpc-service.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { toHex, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { decodeExportResponse, decodeRpcStatus, type PartialSuccess } from '../../src/pipeline/exporters/otlp/responses.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, simpleTrace, span, str } from '../helpers/spans.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';
import { waitFor } from '../helpers/poll.js';

const OTHER = 'other';
const HOUR_NS = 3_600_000_000_000n;

function overridesFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'skein-overrides-')), 'overrides.yaml');
  writeFileSync(file, text);
  return file;
}

function configFor(file: string, extra = ''): string {
  return `overrides:\n  per_tenant_override_config: ${file}\n  per_tenant_override_period: 100ms\n${extra}`;
}

type Answer = { status: number; retryAfter: string | null; partial: PartialSuccess | undefined; message: string };

async function send(skein: SkeinProcess, tenant: string, batch: ResourceSpans[]): Promise<Answer> {
  const res = await postProtobuf(skein.otlpHttpUrl, batch, { 'X-Scope-OrgID': tenant });
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status === 200) {
    const partial = decodeExportResponse(body);
    return { status: 200, retryAfter: null, partial: partial && partial.rejectedSpans > 0 ? partial : undefined, message: partial?.message ?? '' };
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), partial: undefined, message: decodeRpcStatus(body)?.message ?? '' };
}

function withAttributes(n: number, valueLength = 4): ResourceSpans[] {
  const attributes = Array.from({ length: n }, (_, i) => str(`k${i}`, 'v'.repeat(valueLength)));
  return batchOf('attrs', [span({ traceId: newTraceId(), attributes })]);
}

function exportGrpc(addr: string, tenant: string, batch: ResourceSpans[]): Promise<grpc.ServiceError | undefined> {
  const Client = grpc.makeGenericClientConstructor(rawTraceService, 'TraceService');
  const client = new Client(addr, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('x-scope-orgid', tenant);
  return new Promise<grpc.ServiceError | undefined>((resolve) =>
    (client['Export'] as (req: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void).call(
      client,
      Buffer.from(encodeTracesData(batch)),
      metadata,
      (e) => resolve(e ?? undefined),
    ),
  ).finally(() => client.close());
}

describe('per-tenant limits from the overrides file', () => {
  let skein: SkeinProcess;

  before(async () => {
    const file = overridesFile(
      [
        'overrides:',
        '  rated: { ingestion_rate_limit_bytes: 1, ingestion_burst_size_bytes: 2000 }',
        '  few-traces: { max_traces_per_user: 2 }',
        '  small-traces: { max_bytes_per_trace: 2000 }',
        '  attrs: { max_attributes_per_span: 2, max_attribute_value_length: 16 }',
        '  short-search: { max_search_duration: 1h, max_spans_per_span_set: 2 }',
      ].join('\n'),
    );
    skein = await startSkein({ configYaml: configFor(file) });
  });

  after(async () => {
    await skein.stop();
  });

  test('ingestion_rate_limit_bytes: past its burst a tenant gets 429 / RESOURCE_EXHAUSTED naming the limit; another tenant is unaffected', async () => {
    let refused: Answer | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const answer = await send(skein, 'rated', simpleTrace(3).batch);
      if (answer.status !== 200) refused = answer;
    }
    assert.ok(refused, 'the burst ran out');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.retryAfter) >= 1, `Retry-After ${refused.retryAfter}`);
    assert.match(refused.message, /tenant "rated" is over its ingestion rate \(rate_limited\): ingestion_rate_limit_bytes=1 \(override for tenant "rated"\) bytes per second, ingestion_burst_size_bytes=2000 \(override for tenant "rated"\) bytes of burst; this request of \d+ bytes fits in about \d+s: retry later/);

    const err = await exportGrpc(skein.grpcAddr, 'rated', simpleTrace(3).batch);
    assert.ok(err, 'the gRPC export is refused');
    assert.equal(grpc.status[err.code], 'RESOURCE_EXHAUSTED', err.details);
    assert.match(err.details, /ingestion_rate_limit_bytes=1/);
    const details = err.metadata.get('grpc-status-details-bin')[0];
    assert.ok(Buffer.isBuffer(details) && (decodeRpcStatus(details)?.retryDelayMs ?? 0) >= 1000, 'RetryInfo says when to retry');

    for (let i = 0; i < 50; i++) assert.deepEqual(await send(skein, OTHER, simpleTrace(3).batch), { status: 200, retryAfter: null, partial: undefined, message: '' });
    assert.equal(await exportGrpc(skein.grpcAddr, OTHER, simpleTrace(3).batch), undefined);
  });

  test('max_traces_per_user: spans of new traces beyond it are refused, by partial success or, when nothing else came, 429; another tenant is unaffected', async () => {
    const [t1, t2, t3, t4] = [simpleTrace(2), simpleTrace(2), simpleTrace(2), simpleTrace(2)];
    assert.equal((await send(skein, 'few-traces', t1.batch)).partial, undefined);
    assert.equal((await send(skein, 'few-traces', t2.batch)).partial, undefined);

    // A known trace still grows; the new one in the same request is refused.
    const more: Span = span({ traceId: t1.traceId, name: 'late' });
    const mixed = await send(skein, 'few-traces', [...batchOf('svc', [more]), ...t3.batch]);
    assert.equal(mixed.status, 200);
    assert.equal(mixed.partial?.rejectedSpans, 2, mixed.message);
    assert.match(mixed.message, /2 spans of 1 new trace refused for tenant "few-traces".*max_traces_per_user=2 \(override for tenant "few-traces"\) allows \(live_traces_exceeded\)/);

    const refused = await send(skein, 'few-traces', t4.batch);
    assert.equal(refused.status, 429, refused.message);
    assert.equal(refused.retryAfter, '1');
    assert.match(refused.message, /max_traces_per_user=2/);

    assert.equal((await fetch(`${skein.url}/api/traces/${toHex(t1.traceId)}`, { headers: { 'X-Scope-OrgID': 'few-traces' } })).status, 200);
    assert.equal((await fetch(`${skein.url}/api/traces/${toHex(t3.traceId)}`, { headers: { 'X-Scope-OrgID': 'few-traces' } })).status, 404);

    for (let i = 0; i < 5; i++) assert.deepEqual(await send(skein, OTHER, simpleTrace(2).batch), { status: 200, retryAfter: null, partial: undefined, message: '' });

    // Cut into a block, the traces leave the head: new ones are taken again.
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    assert.deepEqual(await send(skein, 'few-traces', t4.batch), { status: 200, retryAfter: null, partial: undefined, message: '' });
  });

  test('max_bytes_per_trace: spans that would take a trace in the head past it are refused (trace_too_large); another tenant is unaffected', async () => {
    for (const tenant of ['small-traces', OTHER]) {
      const traceId = newTraceId();
      const spans = Array.from({ length: 12 }, (_, i) => span({ traceId, name: `s${i}`, attributes: [str('blob', 'y'.repeat(250))] }));
      const first = await send(skein, tenant, batchOf('big', spans.slice(0, 3)));
      assert.equal(first.partial, undefined, `${tenant}: ${first.message}`);
      const rest = await send(skein, tenant, batchOf('big', spans.slice(3)));
      assert.equal(rest.status, 200);
      if (tenant === OTHER) {
        assert.equal(rest.partial, undefined, rest.message);
        continue;
      }
      assert.ok(rest.partial && rest.partial.rejectedSpans > 0 && rest.partial.rejectedSpans < 9, rest.message);
      assert.match(rest.message, new RegExp(`of trace ${toHex(traceId)} refused for tenant "small-traces": they would take the trace past max_bytes_per_trace=2000 \\(override for tenant "small-traces"\\) \\(trace_too_large\\)`));
    }
  });

  test('max_attributes_per_span and max_attribute_value_length: per tenant in validation', async () => {
    const many = await send(skein, 'attrs', withAttributes(3));
    assert.equal(many.partial?.rejectedSpans, 1);
    assert.match(many.message, /span has 3 attributes, over the limit max_attributes_per_span=2 \(override for tenant "attrs"\)/);
    const long = await send(skein, 'attrs', withAttributes(1, 20));
    assert.equal(long.partial?.rejectedSpans, 1);
    assert.match(long.message, /value is 20 bytes, over the limit max_attribute_value_length=16 \(override for tenant "attrs"\)/);
    assert.equal((await send(skein, 'attrs', withAttributes(2, 16))).partial, undefined);
    assert.equal((await send(skein, OTHER, withAttributes(3))).partial, undefined);
    assert.equal((await send(skein, OTHER, withAttributes(1, 20))).partial, undefined);
  });

  test('max_search_duration and max_spans_per_span_set: per tenant in search', async () => {
    const now = Math.floor(Date.now() / 1000);
    const search = (tenant: string, params: string) => fetch(`${skein.url}/api/search?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
    const twoHours = `start=${now - 7200}&end=${now}`;
    const long = await search('short-search', twoHours);
    assert.equal(long.status, 400);
    assert.match(await long.text(), /exceeds max_search_duration=1h \(override for tenant "short-search"\)/);
    assert.equal((await search('short-search', `start=${now - 1800}&end=${now}`)).status, 200);
    assert.equal((await search(OTHER, twoHours)).status, 200);

    const wide = await search('short-search', 'spss=3');
    assert.equal(wide.status, 400);
    assert.match(await wide.text(), /invalid spss: 3 exceeds max_spans_per_span_set=2 \(override for tenant "short-search"\)/);
    assert.equal((await search('short-search', 'spss=2')).status, 200);
    assert.equal((await search(OTHER, 'spss=3')).status, 200);
  });

  test('refusals are counted per tenant and reason in skein_discarded_spans_total', async () => {
    const text = await metricsText(skein);
    const discarded = (tenant: string, reason?: string) => metricValue(text, 'skein_discarded_spans_total', { tenant, ...(reason && { reason }) });
    assert.ok(discarded('rated', 'rate_limited') >= 3);
    assert.equal(discarded('few-traces', 'live_traces_exceeded'), 4);
    assert.ok(discarded('small-traces', 'trace_too_large') > 0);
    assert.equal(discarded('attrs', 'too_many_attributes'), 1);
    assert.equal(discarded('attrs', 'attribute_value_too_long'), 1);
    assert.equal(discarded(OTHER), 0);
    // The receivers' own count, per transport, has them too.
    assert.equal(metricValue(text, 'skein_receiver_refused_spans_total', { reason: 'live_traces_exceeded' }), 4);
  });
});

describe('the overrides file is read again while Skein runs', () => {
  let skein: SkeinProcess;
  let file: string;

  before(async () => {
    file = overridesFile('overrides:\n  reload: { max_attributes_per_span: 2 }\n');
    skein = await startSkein({ configYaml: configFor(file) });
  });

  after(async () => {
    await skein.stop();
  });

  test('a changed limit applies without a restart; a bad edit is logged and the previous limits stay', async () => {
    assert.equal((await send(skein, 'reload', withAttributes(3))).partial?.rejectedSpans, 1);
    writeFileSync(file, 'overrides:\n  reload: { max_attributes_per_span: 5 }\n');
    await waitFor('the new max_attributes_per_span to apply', async () => (await send(skein, 'reload', withAttributes(3))).partial === undefined);
    const six = await send(skein, 'reload', withAttributes(6));
    assert.match(six.message, /max_attributes_per_span=5 \(override for tenant "reload"\)/);

    writeFileSync(file, 'overrides:\n  reload: { max_attributes_per_span: -1, max_trace_bytes: 10 }\n');
    const logged = await waitFor('the bad edit to be logged', () => skein.logs.find((l) => String(l['msg']).includes('could not be used; keeping the previous one')));
    assert.match(String(logged['err']), /tenant "reload": max_attributes_per_span: Too small/);
    assert.match(String(logged['err']), /tenant "reload": unknown key max_trace_bytes/);
    assert.equal((await send(skein, 'reload', withAttributes(3))).partial, undefined);
    assert.equal((await send(skein, 'reload', withAttributes(6))).partial?.rejectedSpans, 1);
  });

  test('max_bytes_per_trace keeps its query meaning, per tenant: a lowered limit makes trace by ID answer 422 for that tenant only', async () => {
    const traceId = newTraceId();
    const spans = Array.from({ length: 10 }, (_, i) => span({ traceId, name: `s${i}`, attributes: [str('blob', 'y'.repeat(250))] }));
    for (const tenant of ['reload', OTHER]) assert.equal((await send(skein, tenant, batchOf('big', spans))).partial, undefined);
    const byId = (tenant: string) => fetch(`${skein.url}/api/traces/${toHex(traceId)}`, { headers: { 'X-Scope-OrgID': tenant } });
    assert.equal((await byId('reload')).status, 200);

    writeFileSync(file, 'overrides:\n  reload: { max_attributes_per_span: 5, max_bytes_per_trace: 1000 }\n');
    const refused = await waitFor('the lowered max_bytes_per_trace to apply', async () => {
      const res = await byId('reload');
      return res.status === 422 && res.text();
    });
    assert.match(refused, /max_bytes_per_trace=1000 \(override for tenant "reload"\)/);
    assert.equal((await byId(OTHER)).status, 200);
  });
});

test('block_retention: a tenant\'s blocks go after its own retention, another tenant keeps storage.retention', async () => {
  const file = overridesFile('overrides:\n  short-lived: { block_retention: 2h }\n');
  const skein = await startSkein({ configYaml: configFor(file, 'storage:\n  compaction:\n    interval: 200ms\n    min_input_blocks: 100\n') });
  try {
    const old = () => simpleTrace(2, { startUnixNano: BigInt(Date.now()) * 1_000_000n - 5n * HOUR_NS });
    const byId = (tenant: string, traceId: Uint8Array) => fetch(`${skein.url}/api/traces/${toHex(traceId)}`, { headers: { 'X-Scope-OrgID': tenant } });
    const kept = old();
    const gone = [old(), old()];
    assert.equal((await send(skein, OTHER, kept.batch)).status, 200);
    assert.equal((await send(skein, 'short-lived', gone[0]!.batch)).status, 200);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    await waitFor('the short-lived tenant\'s block to be deleted', async () => (await byId('short-lived', gone[0]!.traceId)).status === 404);
    // One more block deleted takes another whole maintenance run, which saw every tenant.
    assert.equal((await send(skein, 'short-lived', gone[1]!.batch)).status, 200);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    await waitFor('the second block to be deleted', async () => (await byId('short-lived', gone[1]!.traceId)).status === 404);
    assert.equal((await byId(OTHER, kept.traceId)).status, 200);
  } finally {
    await skein.stop();
  }
});

test('a bad overrides file stops start-up with an error naming the tenant and the key', async () => {
  const file = overridesFile('overrides:\n  team-a: { max_traces_per_user: lots }\n  team-b: { max_spans: 3 }\n');
  await assert.rejects(startSkein({ configYaml: configFor(file), timeoutMs: 20_000 }), (err: Error) => {
    assert.match(err.message, /overrides\.per_tenant_override_config/);
    assert.match(err.message, /tenant \\"team-a\\": max_traces_per_user: Invalid input: expected number/);
    assert.match(err.message, /tenant \\"team-b\\": unknown key max_spans/);
    return true;
  });
});
