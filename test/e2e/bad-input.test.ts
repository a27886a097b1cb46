// Bad input gets the documented status and a message naming the problem, and
// the server keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, deflateSync } from 'node:zlib';
import { credentials, makeGenericClientConstructor, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { toHex } from '../../src/otlp/model.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { encodeOtlpJson } from '../../src/otlp/json.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace, span, batchOf, newTraceId, str } from '../helpers/spans.js';
import { TRACE_EXPORT_PATH, passBytes, rawTraceService } from '../../src/otlp/grpc-service.js';

let skein: SkeinProcess;

before(async () => {
  skein = await startSkein({ configYaml: 'limits:\n  max_request_bytes: 1MiB\n  max_attribute_value_length: 1000\n' });
});
after(async () => {
  await skein.stop();
});

function post(body: Uint8Array | string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers, body: typeof body === 'string' ? body : Buffer.from(body) });
}

async function jsonStatus(res: Response): Promise<{ code: number; message: string }> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as { code: number; message: string };
}

async function stillServes(): Promise<void> {
  const { traceId, batch } = simpleTrace(2);
  assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
  assert.equal((await fetch(`${skein.url}/api/traces/${toHex(traceId)}`)).status, 200);
}

describe('OTLP/HTTP bad input', () => {
  test('truncated protobuf: 400 with the decoder\'s reason, as a google.rpc.Status in protobuf', async () => {
    const body = encodeTracesData(simpleTrace(5).batch);
    const res = await post(body.subarray(0, body.length - 7), { 'content-type': 'application/x-protobuf' });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-protobuf/);
    const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
    assert.match(text, /truncated|past end|needs/i);
    await stillServes();
  });

  test('wrong content type: 415 naming the accepted types', async () => {
    const res = await post('hello', { 'content-type': 'text/plain' });
    assert.equal(res.status, 415);
    const status = await jsonStatus(res);
    assert.match(status.message, /text\/plain/);
    assert.match(status.message, /application\/x-protobuf or application\/json/);
    await stillServes();
  });

  test('invalid JSON: 400 saying so', async () => {
    const res = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.match((await jsonStatus(res)).message, /invalid JSON/i);
    const wrongType = await post('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 12}]}]}]}', { 'content-type': 'application/json' });
    assert.equal(wrongType.status, 400);
    assert.match((await jsonStatus(wrongType)).message, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId/);
    await stillServes();
  });

  test('IDs of the wrong length and end before start: partial success names the spans; the valid ones are stored', async () => {
    const traceId = newTraceId();
    const good = span({ traceId, name: 'good' });
    const shortTrace = span({ traceId: traceId.subarray(0, 15), name: 'short-trace-id' });
    const longSpan = span({ traceId, spanId: new Uint8Array(9).fill(7), name: 'long-span-id' });
    const backwards = span({ traceId, name: 'backwards' });
    backwards.endTimeUnixNano = backwards.startTimeUnixNano - 1n;
    const tooLong = span({ traceId, name: 'too-long', attributes: [str('payload', 'x'.repeat(1001))] });
    const batch = batchOf('partial', [good, shortTrace, longSpan, backwards, tooLong]);

    const res = await post(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' })), { 'content-type': 'application/json' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(body.partialSuccess.rejectedSpans, '4');
    assert.match(body.partialSuccess.errorMessage, /trace_id/);
    assert.match(body.partialSuccess.errorMessage, /span_id/);
    assert.match(body.partialSuccess.errorMessage, /before/);
    assert.match(body.partialSuccess.errorMessage, /max_attribute_value_length/);

    const stored = await fetch(`${skein.url}/api/traces/${toHex(traceId)}`);
    assert.equal(stored.status, 200);
    const text = await stored.text();
    assert.match(text, /"name":"good"/);
    assert.doesNotMatch(text, /backwards|too-long|long-span-id/);
  });

  test('oversize body: 413 naming limits.max_request_bytes', async () => {
    const res = await post(Buffer.alloc(1024 * 1024 + 10, 1), { 'content-type': 'application/x-protobuf' });
    assert.equal(res.status, 413);
    assert.match(Buffer.from(await res.arrayBuffer()).toString('latin1'), /max_request_bytes/);
    await stillServes();
  });

  test('gzip bomb: refused with 413 once the decompressed size passes the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 1024 * 1024);
    const res = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(res.status, 413);
    assert.match(Buffer.from(await res.arrayBuffer()).toString('latin1'), /after decompression/);
    await stillServes();
  });

  test('gzip and deflate bodies are accepted; a corrupt gzip body is a 400', async () => {
    for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const { traceId, batch } = simpleTrace(3);
      const res = await post(compress(encodeTracesData(batch)), { 'content-type': 'application/x-protobuf', 'content-encoding': encoding });
      assert.equal(res.status, 200, encoding);
      assert.equal((await fetch(`${skein.url}/api/traces/${toHex(traceId)}`)).status, 200);
    }
    const res = await post(Buffer.from('definitely not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(res.status, 400);
    assert.match((await jsonStatus(res)).message, /invalid gzip body/);
  });

  test('an unknown tenant header value is refused', async () => {
    const res = await post('{}', { 'content-type': 'application/json', 'x-scope-orgid': '../etc' });
    assert.equal(res.status, 400);
    assert.match((await jsonStatus(res)).message, /X-Scope-OrgID/);
  });
});

describe('OTLP/gRPC bad input', () => {
  const Client = makeGenericClientConstructor(rawTraceService, 'TraceService');

  function exportRaw(body: Buffer): Promise<{ err: ServiceError | null; response?: Buffer }> {
    const client = new Client(skein.grpcAddr, credentials.createInsecure());
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        TRACE_EXPORT_PATH,
        passBytes,
        passBytes,
        body,
        new Metadata(),
        (err: ServiceError | null, response?: Buffer) => {
          client.close();
          resolve({ err, ...(response && { response }) });
        },
      );
    });
  }

  test('garbage bytes: INVALID_ARGUMENT with the reason; valid data still accepted', async () => {
    const { err } = await exportRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    assert.equal(err?.code, GrpcStatus.INVALID_ARGUMENT);
    assert.ok((err?.details ?? '').length > 0);
    const { traceId, batch } = simpleTrace(2);
    const ok = await exportRaw(Buffer.from(encodeTracesData(batch)));
    assert.equal(ok.err, null);
    assert.equal((await fetch(`${skein.url}/api/traces/${toHex(traceId)}`)).status, 200);
  });

  test('a message over the size limit: RESOURCE_EXHAUSTED from the transport, server unharmed', async () => {
    const { err } = await exportRaw(Buffer.alloc(2 * 1024 * 1024, 0));
    assert.equal(err?.code, GrpcStatus.RESOURCE_EXHAUSTED);
    await stillServes();
  });
});
