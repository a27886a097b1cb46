import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcCode } from '@grpc/grpc-js';
import { encodeExportTraceServiceResponse, encodeRetryableStatus, encodeRpcStatus } from '../../../../src/otlp/protobuf.js';
import {
  decodeExportResponse,
  decodeExportResponseJson,
  decodeRpcStatus,
  decodeRpcStatusJson,
} from '../../../../src/pipeline/exporters/otlp/responses.js';
import {
  ExponentialBackoff,
  classifyGrpcFailure,
  classifyHttpFailure,
  classifyTransportError,
  nextDelay,
  parseRetryAfter,
  sleep,
} from '../../../../src/pipeline/exporters/otlp/retry.js';

test('gRPC: the OTLP retryable codes are retried; RESOURCE_EXHAUSTED only with RetryInfo', () => {
  for (const code of [GrpcCode.CANCELLED, GrpcCode.DEADLINE_EXCEEDED, GrpcCode.ABORTED, GrpcCode.OUT_OF_RANGE, GrpcCode.UNAVAILABLE, GrpcCode.DATA_LOSS]) {
    assert.equal(classifyGrpcFailure(code, 'x', undefined).kind, 'retryable', GrpcCode[code]);
  }
  for (const code of [GrpcCode.INVALID_ARGUMENT, GrpcCode.UNAUTHENTICATED, GrpcCode.PERMISSION_DENIED, GrpcCode.UNIMPLEMENTED, GrpcCode.INTERNAL, GrpcCode.NOT_FOUND]) {
    assert.equal(classifyGrpcFailure(code, 'x', undefined).kind, 'permanent', GrpcCode[code]);
  }
  assert.equal(classifyGrpcFailure(GrpcCode.RESOURCE_EXHAUSTED, 'full', undefined).kind, 'permanent');
  assert.equal(classifyGrpcFailure(GrpcCode.RESOURCE_EXHAUSTED, 'full', encodeRpcStatus(GrpcCode.RESOURCE_EXHAUSTED, 'full')).kind, 'permanent');
  const throttled = classifyGrpcFailure(GrpcCode.RESOURCE_EXHAUSTED, 'full', encodeRetryableStatus(GrpcCode.RESOURCE_EXHAUSTED, 'full', 2.5));
  assert.deepEqual(throttled, { kind: 'retryable', message: 'gRPC RESOURCE_EXHAUSTED: full', retryAfterMs: 2500 });
  assert.equal((classifyGrpcFailure(GrpcCode.UNAVAILABLE, 'x', encodeRetryableStatus(GrpcCode.UNAVAILABLE, 'x', 3)) as { retryAfterMs: number }).retryAfterMs, 3000);
});

test('HTTP: 429, 502, 503 and 504 are retried, every other failure is not; Retry-After counts on 429 and 503', () => {
  for (const status of [429, 502, 503, 504]) assert.equal(classifyHttpFailure(status, '', undefined, undefined).kind, 'retryable', String(status));
  for (const status of [400, 401, 403, 404, 405, 413, 415, 500, 501]) assert.equal(classifyHttpFailure(status, '', undefined, undefined).kind, 'permanent', String(status));
  assert.equal((classifyHttpFailure(429, 'slow down', '7', undefined) as { retryAfterMs: number }).retryAfterMs, 7000);
  assert.equal((classifyHttpFailure(503, '', undefined, 1500) as { retryAfterMs: number }).retryAfterMs, 1500, 'RetryInfo in the body when no header');
  assert.equal((classifyHttpFailure(502, '', '7', undefined) as { retryAfterMs?: number }).retryAfterMs, undefined);
  assert.equal(classifyHttpFailure(400, 'bad span', undefined, undefined).kind === 'permanent' && classifyHttpFailure(400, 'bad span', undefined, undefined).message, 'HTTP 400: bad span');
});

test('Retry-After: delay-seconds or an HTTP-date', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0, 'a date in the past: no wait');
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
});

test('transport errors (refused, reset, timed out) are retryable', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.deepEqual(classifyTransportError(refused), { kind: 'retryable', message: 'connect ECONNREFUSED 127.0.0.1:1', retryAfterMs: undefined });
  const aggregate = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' });
  assert.equal(classifyTransportError(aggregate).message, 'ECONNREFUSED: ');
});

test('backoff grows by the multiplier up to max_interval, spread by the randomization factor', () => {
  const settings = { initialIntervalMs: 100, maxIntervalMs: 400, multiplier: 2, randomizationFactor: 0.5 };
  const middle = new ExponentialBackoff(settings, () => 0.5);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => middle.next()), [100, 200, 400, 400, 400]);
  const low = new ExponentialBackoff(settings, () => 0);
  assert.deepEqual([1, 2, 3].map(() => low.next()), [50, 100, 200]);
  const high = new ExponentialBackoff(settings, () => 0.999999);
  assert.ok(Math.abs(high.next() - 150) < 0.01);
  // A downstream asking for longer than the backoff wins; asking for less does not shorten it.
  const b = new ExponentialBackoff(settings, () => 0.5);
  assert.equal(nextDelay(b, { kind: 'retryable', message: '', retryAfterMs: 1000 }), 1000);
  assert.equal(nextDelay(b, { kind: 'retryable', message: '', retryAfterMs: 10 }), 200);
});

test('sleep ends early when aborted', async () => {
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 10);
  assert.equal(await sleep(5000, ac.signal), false);
  assert.ok(Date.now() - started < 1000);
  assert.equal(await sleep(1, new AbortController().signal), true);
});

test('response messages: partial success and google.rpc.Status in protobuf and JSON', () => {
  assert.deepEqual(decodeExportResponse(encodeExportTraceServiceResponse()), { rejectedSpans: 0, message: '' });
  assert.deepEqual(decodeExportResponse(encodeExportTraceServiceResponse({ rejectedSpans: 3, errorMessage: 'too old' })), { rejectedSpans: 3, message: 'too old' });
  assert.equal(decodeExportResponse(Uint8Array.of(0x0a, 0x05)), undefined);
  assert.deepEqual(decodeExportResponseJson('{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad"}}'), { rejectedSpans: 2, message: 'bad' });
  assert.deepEqual(decodeExportResponseJson('{}'), { rejectedSpans: 0, message: '' });
  assert.equal(decodeExportResponseJson('not json'), undefined);

  assert.deepEqual(decodeRpcStatus(encodeRpcStatus(3, 'invalid span')), { code: 3, message: 'invalid span', retryDelayMs: undefined });
  assert.deepEqual(decodeRpcStatus(encodeRetryableStatus(8, 'busy', 0.25)), { code: 8, message: 'busy', retryDelayMs: 250 });
  assert.deepEqual(decodeRpcStatusJson('{"code":8,"message":"busy","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.500s"}]}'), {
    code: 8,
    message: 'busy',
    retryDelayMs: 1500,
  });
});
