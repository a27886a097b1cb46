// The internal routes peers ask (POST /api/skein/cluster/fetch and /trace), against an
// API server over a real store in this process: a traces stream is produced only as fast
// as it is read and ends (releasing the blocks it holds) when the asker hangs up; the
// request's byte limit comes back as a limit line; malformed requests are refused naming
// the field. And what an ingester answers on the query API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/server.js';
import type { ApiContext } from '../../src/api/context.js';
import { decodeSpans, decodeTagged, encodeTagged, PEER_CONTENT_TYPE, readStreamLine, type PeerFetch } from '../../src/cluster/codec.js';
import { loadConfig } from '../../src/config/load.js';
import { Overrides } from '../../src/config/overrides.js';
import { listenHttp } from '../../src/net/http-server.js';
import { Store } from '../../src/store/store.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { waitFor } from '../helpers/poll.js';
import { batchOf, newTraceId, span, str } from '../helpers/spans.js';
import { OPEN_AUTH } from '../../src/auth/index.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const TENANT = 'peer';
/** Enough bytes that no socket buffer holds the whole stream. */
const TRACES = 12_000;
const PADDING = 'x'.repeat(2048);

let dir: string;
let store: Store;
let app: FastifyInstance;
let url: URL;
const ctx = (target: ApiContext['target']): ApiContext => {
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: join(dir, 'store') }] });
  return {
    config,
    logger: silentLogger,
    target,
    auth: OPEN_AUTH,
    overrides: new Overrides(config),
    store,
    ready: true,
    serviceGraph: undefined,
    spanMetrics: undefined,
  };
};

/** Where the large block starts: the small one lies wholly before it. */
const LARGE_FROM = T0 + 1000n * S;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-cluster-fetch-'));
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: join(dir, 'store') }, { path: ['storage', 'retention'], value: '36500d' }] });
  store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
  // A small old block, then a large newer one: a stream reads the large one first and holds both.
  await store.append(TENANT, batchOf('svc', Array.from({ length: 10 }, (_, i) => span({ traceId: newTraceId(), startUnixNano: T0 + BigInt(i) * S }))));
  await store.flush(TENANT);
  for (let i = 0; i < TRACES; i += 500) {
    const spans = Array.from({ length: 500 }, (_, j) => span({ traceId: newTraceId(), startUnixNano: LARGE_FROM + BigInt(i + j) * S, attributes: [str('pad', PADDING)] }));
    await store.append(TENANT, batchOf('svc', spans));
  }
  await store.flush(TENANT);
  app = createApiServer(ctx('all'));
  url = new URL(`http://${await listenHttp(app, '127.0.0.1:0')}`);
});

after(async () => {
  await app?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

function post(path: string, body: string, contentType = PEER_CONTENT_TYPE): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': contentType, 'x-scope-orgid': TENANT } });
    req.once('response', resolve).once('error', reject).end(body);
  });
}

const tracesRequest = (over: Partial<Extract<PeerFetch['request'], { kind: 'traces' }>> = {}): PeerFetch => ({
  scope: 'recent',
  timeoutMs: 60_000,
  request: { kind: 'traces', conditions: [], allConditions: false, filter: null, secondPass: 'all', limit: 16, order: 'most-recent-first', maxBytesInspected: 0, ...over },
});

/** The next `n` lines of an answer stream; the rest is left unread, the stream paused (not ended). */
function nextLines(res: IncomingMessage, n: number, carry = { text: '' }): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const take = (): boolean => {
      for (let nl = carry.text.indexOf('\n'); nl >= 0 && lines.length < n; nl = carry.text.indexOf('\n')) {
        lines.push(carry.text.slice(0, nl));
        carry.text = carry.text.slice(nl + 1);
      }
      return lines.length === n;
    };
    const onData = (chunk: Buffer): void => {
      carry.text += chunk.toString('utf8');
      if (!take()) return;
      res.pause();
      res.off('data', onData);
      resolve(lines);
    };
    if (take()) return resolve(lines);
    res.on('data', onData);
    res.resume();
    res.once('end', () => reject(new Error(`the stream ended after ${lines.length} lines`)));
    res.once('error', reject);
  });
}

const firstLine = async (res: IncomingMessage): Promise<string> => (await nextLines(res, 1))[0]!;

describe('a traces stream', () => {
  test('is read as the asker reads, and ends when it hangs up, releasing the blocks it held', async () => {
    const res = await post('/api/skein/cluster/fetch', encodeTagged(tracesRequest()));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    const carry = { text: '' };
    const [first] = await nextLines(res, 1, carry);
    const line = readStreamLine(decodeTagged(first!));
    assert.ok('trace' in line, encodeTagged(line));
    // Newest first: the last trace appended.
    assert.equal(line.trace.key, LARGE_FROM + BigInt(TRACES - 1) * S);
    assert.equal(decodeSpans(line.trace.spans).length, 1);

    // Retention deletes the small old block once its readers are done: the stream holds it
    // (every block of its range, from its first read to its end)…
    let retired = false;
    const retention = store.blocks.applyRetention(TENANT, LARGE_FROM - S).then((ids) => {
      retired = true;
      return ids;
    });
    // …while more is read, a little at a time (far less than the stream would hold)…
    for (let i = 0; i < 3; i++) {
      const more = await nextLines(res, 50, carry);
      assert.ok(more.every((l) => 'trace' in readStreamLine(decodeTagged(l))));
    }
    assert.equal(retired, false, 'the stream holds its blocks while it is open');
    // …and lets go when the asker hangs up: the iteration ends and releases them.
    res.destroy();
    await waitFor('the old block to be retired once the asker hung up', () => retired);
    assert.equal((await retention).length, 1);
  });

  test('the request’s byte limit comes back as a limit line, for the asker to throw its own error', async () => {
    const res = await post('/api/skein/cluster/fetch', encodeTagged(tracesRequest({ maxBytesInspected: 1 })));
    assert.equal(res.statusCode, 200);
    const line = readStreamLine(decodeTagged(await firstLine(res)));
    assert.ok('error' in line, encodeTagged(line));
    assert.equal(line.error.overLimit?.planned, true);
    assert.ok(line.error.overLimit.bytes > 1);
  });
});

describe('refusals', () => {
  test('a malformed request is a 400 naming the field', async () => {
    const bad = await post('/api/skein/cluster/fetch', encodeTagged({ ...tracesRequest(), scope: 'all' }));
    assert.equal(bad.statusCode, 400);
    let text = '';
    for await (const c of bad as AsyncIterable<Buffer>) text += c.toString();
    assert.match(text, /^invalid peer request: scope: expected one of head, recent/);
    const notJson = await post('/api/skein/cluster/fetch', '{');
    assert.equal(notJson.statusCode, 400);
    const aggregate = await post(
      '/api/skein/cluster/fetch',
      encodeTagged({
        scope: 'recent',
        timeoutMs: 1000,
        request: { kind: 'aggregate', afterUnixNano: 0n, atOrBeforeUnixNano: 1n, stepNano: 1n, filter: null, by: [], value: null, buckets: false, exemplars: false, maxBytesInspected: 0 },
      }),
    );
    assert.equal(aggregate.statusCode, 400, 'an aggregate’s part is the heads only');
  });

  test('an ingester answers its peers, not queries', async () => {
    const ingester = createApiServer(ctx('ingester'));
    try {
      const search = await ingester.inject({ method: 'GET', url: '/api/search?q={}' });
      assert.equal(search.statusCode, 501);
      assert.match(search.body, /--target ingester/);
      const ui = await ingester.inject({ method: 'GET', url: '/' });
      assert.equal(ui.statusCode, 404);
      const peer = await ingester.inject({
        method: 'POST',
        url: '/api/skein/cluster/trace',
        headers: { 'content-type': PEER_CONTENT_TYPE, 'x-scope-orgid': TENANT },
        payload: encodeTagged({ scope: 'head', traceId: 'ab' }),
      });
      assert.equal(peer.statusCode, 200, peer.body);
    } finally {
      await ingester.close();
    }
  });
});
