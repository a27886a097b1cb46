import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSpan, encodeTracesData } from '../../../../src/otlp/protobuf.js';
import type { ResourceSpans, ScopeSpans } from '../../../../src/otlp/model.js';
import { TraceBuffer, traceKey, type BufferedTrace } from '../../../../src/pipeline/processors/tail-sampling/buffer.js';
import { walkTracesData } from '../../../../src/otlp/traces-data-layout.js';
import { generateTrace, prng } from './helpers.js';

/** Buffers the spans of each request as the processor does: encoded once, spans indexed inside that encoding. */
function bufferRequests(buffer: TraceBuffer, requests: ResourceSpans[][], tenant = 't'): BufferedTrace[] {
  const touched = new Set<BufferedTrace>();
  for (const batch of requests) {
    const tracesData = encodeTracesData(batch);
    const payloadId = buffer.payloads.register(tracesData);
    let rs: ResourceSpans | undefined;
    let ss: ScopeSpans | undefined;
    let resourceId = -1;
    let scopeId = -1;
    let rsIndex = -1;
    let ssIndex = -1;
    let spanIndex = 0;
    walkTracesData(tracesData, {
      resource: (bytes) => {
        rs = batch[++rsIndex]!;
        ssIndex = -1;
        resourceId = buffer.resources.intern(bytes, rs.schemaUrl);
      },
      scope: (bytes) => {
        ss = rs!.scopeSpans[++ssIndex]!;
        spanIndex = 0;
        scopeId = buffer.scopes.intern(bytes, ss.schemaUrl);
      },
      span: (offset, length) => {
        const span = ss!.spans[spanIndex++]!;
        const key = traceKey(span.traceId, tenant);
        const trace = buffer.get(key) ?? buffer.create(key, tenant, 0);
        buffer.appendSpan(trace, payloadId, offset, length, resourceId, scopeId, span);
        touched.add(trace);
      },
    });
  }
  return [...touched];
}

test('the layout walk finds every resource, scope and span of a TracesData', () => {
  const generated = generateTrace(prng(4), 'plain', 1n);
  const batch = generated.batches.flat();
  const tracesData = encodeTracesData(batch);
  const seen: string[] = [];
  walkTracesData(tracesData, {
    resource: (bytes) => seen.push(`r${bytes.length > 0}`),
    scope: (bytes) => seen.push(`s${bytes.length > 0}`),
    span: (offset, length) => seen.push(Buffer.from(tracesData.subarray(offset, offset + length)).toString('hex')),
  });
  const expected = batch.flatMap((rs) => ['rtrue', ...rs.scopeSpans.flatMap((ss) => ['strue', ...ss.spans.map((s) => Buffer.from(encodeSpan(s)).toString('hex'))])]);
  assert.deepEqual(seen, expected);
  // An empty resource and scope are absent from the encoding and reported empty.
  const bare = encodeTracesData([{ resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: generated.spans.slice(0, 1) }] }]);
  const bareSeen: string[] = [];
  walkTracesData(bare, { resource: (b) => bareSeen.push(`r${b.length}`), scope: (b) => bareSeen.push(`s${b.length}`), span: () => bareSeen.push('span') });
  assert.deepEqual(bareSeen, ['r0', 's0', 'span']);
});

test('a buffered trace comes back span for span, grouped by resource and scope', () => {
  const buffer = new TraceBuffer();
  const generated = generateTrace(prng(1), 'error', 1_700_000_000_000_000_000n);
  const [trace] = bufferRequests(buffer, generated.batches);
  assert.ok(trace);
  assert.equal(buffer.traceCount, 1);
  assert.equal(buffer.spanCount, 15);
  assert.equal(trace.spanCount, 15);
  assert.equal(trace.statusCodes, (1 << 0) | (1 << 2));
  assert.equal(trace.earliestStartNs, generated.spans[0]!.startTimeUnixNano);
  assert.equal(trace.latestEndNs, generated.spans.reduce((m, s) => (s.endTimeUnixNano > m ? s.endTimeUnixNano : m), 0n));

  const delivered = buffer.toResourceSpans([trace]);
  // Same resources and scopes, same spans (byte for byte once re-encoded), same order within a service.
  const flatten = (batch: ResourceSpans[]) =>
    batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ resource: rs.resource, rsUrl: rs.schemaUrl, scope: ss.scope, span: Buffer.from(encodeSpan(span)).toString('hex') }))));
  assert.deepEqual(flatten(delivered), flatten(generated.batches.flat()));

  const view = buffer.view(trace);
  assert.deepEqual(view.traceId, generated.traceId);
  assert.equal(view.spans().length, 15);
  const byId = new Map(generated.spans.map((span) => [Buffer.from(span.spanId).toString('hex'), span]));
  for (const span of view.spans()) assert.deepEqual(span, byId.get(Buffer.from(span.spanId).toString('hex')));
  assert.equal(view.resources().length, generated.batches.length);
});

test('the encoded requests are the only copy of the spans; the index costs a few bytes a span', () => {
  const buffer = new TraceBuffer();
  const random = prng(2);
  const traces = Array.from({ length: 20 }, () => generateTrace(random, 'plain', 1n));
  // Two requests, each with one service's spans of every trace.
  const requests = [0, 1].map((round) => traces.flatMap((t) => t.batches[round] ?? []));
  bufferRequests(buffer, requests);
  assert.equal(buffer.payloads.bytes, requests.reduce((sum, r) => sum + encodeTracesData(r).length, 0));
  assert.ok(buffer.indexBytes / buffer.spanCount < 16, `index bytes per span: ${buffer.indexBytes / buffer.spanCount}`);
});

test('release frees the index, then payloads, resources and scopes nothing refers to any more', () => {
  const buffer = new TraceBuffer();
  const random = prng(3);
  const a = generateTrace(random, 'plain', 1n);
  const b = generateTrace(random, 'plain', 2n);
  const [ta] = bufferRequests(buffer, [a.batches.flat()]);
  const [tb] = bufferRequests(buffer, [b.batches.flat()]);
  const resourceBytes = buffer.resources.bytes;
  assert.ok(resourceBytes > 0);
  buffer.remove(ta!);
  buffer.release(ta!);
  assert.equal(buffer.traceCount, 1);
  assert.equal(buffer.spanCount, 15);
  assert.equal(buffer.payloads.bytes, encodeTracesData(b.batches.flat()).length, "a's request is gone");
  assert.equal(buffer.resources.bytes, resourceBytes, 'b still uses the same services');
  buffer.remove(tb!);
  buffer.release(tb!);
  assert.equal(buffer.spanCount, 0);
  assert.equal(buffer.bytes, 0);
});
