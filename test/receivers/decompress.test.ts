import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { decompress } from '../../src/receivers/decompress.js';

const body = Buffer.from('{"hello":"world"}');

test('no encoding, identity or empty: the body as it is', async () => {
  for (const encoding of [undefined, 'identity', '', ' Identity ']) {
    assert.deepStrictEqual(await decompress(body, encoding, 1024), { bytes: body });
  }
});

test('gzip, x-gzip and deflate are inflated', async () => {
  for (const [encoding, compressed] of [
    ['gzip', gzipSync(body)],
    ['x-gzip', gzipSync(body)],
    ['GZIP', gzipSync(body)],
    ['deflate', deflateSync(body)],
  ] as const) {
    const out = await decompress(compressed, encoding, 1024);
    assert.ok('bytes' in out, encoding);
    assert.equal(out.bytes.toString(), body.toString());
  }
});

test('refusals carry the HTTP status and the metrics reason', async () => {
  assert.deepStrictEqual(await decompress(body, 'br', 1024), {
    error: 'unsupported Content-Encoding "br": use gzip, deflate or none',
    status: 415,
    reason: 'unsupported_encoding',
  });
  assert.deepStrictEqual(await decompress(gzipSync(Buffer.alloc(10_000)), 'gzip', 1000), {
    error: 'request body exceeds limits.max_request_bytes (1000 bytes) after decompression',
    status: 413,
    reason: 'too_large',
  });
  const corrupt = await decompress(body, 'gzip', 1024);
  assert.ok('error' in corrupt);
  assert.equal(corrupt.status, 400);
  assert.equal(corrupt.reason, 'malformed');
  assert.match(corrupt.error, /^invalid gzip body: /);
});
