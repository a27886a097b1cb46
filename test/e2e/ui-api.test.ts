// The UI's own JSON routes seen from outside: /api/skein/ingest-stats reports
// what the OpenTelemetry SDK sent, and /api/skein/tail streams (as server-sent
// events) exactly the matching traces that arrive after it opened, refuses a bad
// query or one tail too many, and never holds up a SIGTERM.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { emitCheckout, emitHealth, sdkFor, type Sdk } from '../ui/fixtures.js';
import { waitFor } from '../helpers/poll.js';

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** An open SSE stream: every event received so far, and a way to close it. */
interface Stream {
  status: number;
  events: SseEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

async function openTail(url: string, q: string, headers: Record<string, string> = {}, id?: string): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/skein/tail?q=${encodeURIComponent(q)}${id === undefined ? '' : `&id=${id}`}`, { signal: abort.signal, headers });
  const events: SseEvent[] = [];
  let ended: Promise<void> = Promise.resolve();
  if (res.ok && res.body) {
    ended = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err;
      }
    })();
  }
  return { status: res.status, events, ended, close: () => abort.abort() };
}

/** The server learns of a disconnect asynchronously: wait until it counts fewer than `n` open tails. */
async function tailsBelow(url: string, n: number): Promise<void> {
  await waitFor(`fewer than ${n} tails open`, async () => {
    const s = (await (await fetch(`${url}/api/skein/ingest-stats`)).json()) as { liveTails: { open: number } };
    return s.liveTails.open < n;
  });
}

const traceIds = (s: Stream): string[] => s.events.filter((e) => e.event === 'trace').map((e) => String(e.data['traceID']));
const searchId = (hex: string): string => hex.replace(/^0+/, '');

describe('ingest stats and live tail', () => {
  let skein: SkeinProcess;
  let sdk: Sdk;

  before(async () => {
    // A short poll keeps the test quick; max_clients 2 lets the refusal be tested.
    skein = await startSkein({ configYaml: 'ui:\n  live_tail:\n    max_clients: 2\n    poll_interval: 200ms\n    max_events_per_second: 2\n' });
    sdk = sdkFor(skein.otlpHttpUrl);
  });
  after(async () => {
    await sdk?.shutdown();
    await skein?.stop();
  });

  test('/api/skein/ingest-stats counts the spans received and stored, and the bytes on disk', async () => {
    const before = (await (await fetch(`${skein.url}/api/skein/ingest-stats`)).json()) as { spans: { received: number } };
    emitCheckout(sdk, { startMs: Date.now() - 1000, orderId: 'ord-stats' });
    await sdk.flush();
    const stats = await waitFor('the four checkout spans are counted', async () => {
      const res = await fetch(`${skein.url}/api/skein/ingest-stats`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const s = (await res.json()) as Record<string, Record<string, unknown>>;
      const spans = s['spans'] as { received: number; stored: number };
      return spans.received >= before.spans.received + 4 && spans.stored >= 4 ? s : undefined;
    });
    assert.deepEqual(Object.keys(stats).sort(), ['disk', 'exporterQueue', 'head', 'liveTails', 'memoryLimiter', 'process', 'requestsRefused', 'spans', 'tailSampling', 'timeMs']);
    assert.equal(typeof stats['timeMs'], 'number');
    assert.deepEqual(Object.keys(stats['spans']!).sort(), ['received', 'refused', 'stored']);
    assert.equal(stats['spans']!['refused'], 0);
    assert.equal(stats['tailSampling']!['enabled'], false, 'the default pipeline has no tail_sampling');
    assert.ok((stats['disk']!['walBytes'] as number) > 0, 'the spans are in the WAL');
    assert.ok((stats['head']!['spans'] as number) >= 4);
    assert.ok((stats['process']!['rssBytes'] as number) > 0);
    assert.deepEqual(stats['liveTails'], { open: 0, max: 2 });
  });

  test('/api/skein/tail refuses a query /api/search would refuse, naming the problem', async () => {
    const bad = await fetch(`${skein.url}/api/skein/tail?q=${encodeURIComponent('{ .a = }')}`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /parse error|syntax|unexpected|expected/i);
    const metrics = await fetch(`${skein.url}/api/skein/tail?q=${encodeURIComponent('{ } | rate()')}`);
    assert.equal(metrics.status, 400);
    assert.match(await metrics.text(), /metrics query .* cannot be tailed/);
    const tenant = await fetch(`${skein.url}/api/skein/tail`, { headers: { 'X-Scope-OrgID': 'bad tenant!' } });
    assert.equal(tenant.status, 400);
  });

  test('a tail streams each matching trace that arrives after it opened, once, in the /api/search shape', async () => {
    const earlier = emitHealth(sdk, Date.now() - 500);
    await sdk.flush();
    await waitFor('the earlier trace is searchable', async () => {
      const r = (await (await fetch(`${skein.url}/api/search?q=${encodeURIComponent('{ resource.service.name = "inventory" }')}`)).json()) as { traces: Array<{ traceID: string }> };
      return r.traces.some((t) => t.traceID === searchId(earlier));
    });

    const tail = await openTail(skein.url, '{ resource.service.name = "inventory" }');
    try {
      assert.equal(tail.status, 200);
      await waitFor('the tail is ready', async () => tail.events.some((e) => e.event === 'ready'));
      const ready = tail.events.find((e) => e.event === 'ready')!;
      assert.equal(ready.data['pollIntervalMs'], 200);

      const fresh = emitHealth(sdk, Date.now());
      const other = emitCheckout(sdk, { startMs: Date.now(), orderId: 'ord-tail' });
      await sdk.flush();
      await waitFor('the new inventory trace is streamed', async () => traceIds(tail).includes(searchId(fresh)));
      // Several more polls: nothing is sent twice, nothing that does not match, nothing from before.
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(traceIds(tail), [searchId(fresh)]);
      assert.ok(!traceIds(tail).includes(searchId(other.traceId)));

      const summary = tail.events.find((e) => e.event === 'trace')!.data;
      assert.equal(summary['rootServiceName'], 'inventory');
      assert.equal(summary['rootTraceName'], 'GET /health');
      assert.match(String(summary['startTimeUnixNano']), /^\d+$/);
      assert.deepEqual(summary['serviceStats'], { inventory: { spanCount: 2 } });
      const sets = summary['spanSets'] as Array<{ spans: unknown[]; matched: number }>;
      assert.equal(sets[0]!.matched, 2);
    } finally {
      tail.close();
    }
  });

  test('beyond max_events_per_second a tail sends a `dropped` count instead of the traces', async () => {
    await tailsBelow(skein.url, 1);
    const tail = await openTail(skein.url, '{ resource.service.name = "inventory" }');
    try {
      await waitFor('the tail is ready', async () => tail.events.some((e) => e.event === 'ready'));
      const burst = Array.from({ length: 6 }, (_, i) => emitHealth(sdk, Date.now() + i));
      await sdk.flush();
      const accounted = (): number =>
        traceIds(tail).length + tail.events.filter((e) => e.event === 'dropped').reduce((n, e) => n + Number(e.data['count']), 0);
      await waitFor('every trace of the burst is sent or counted as dropped', async () => accounted() === burst.length);
      const dropped = tail.events.filter((e) => e.event === 'dropped');
      assert.ok(dropped.length > 0, 'some were dropped');
      assert.match(String(dropped[0]!.data['reason']), /max_events_per_second=2/);
      assert.ok(traceIds(tail).every((id) => burst.map(searchId).includes(id)));
    } finally {
      tail.close();
    }
  });

  test('one tail more than ui.live_tail.max_clients is refused with 429; a closed tail frees its place', async () => {
    const a = await openTail(skein.url, '{}');
    const b = await openTail(skein.url, '{}');
    try {
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      const c = await openTail(skein.url, '{}');
      assert.equal(c.status, 429);
      b.close();
      await tailsBelow(skein.url, 2);
      const d = await openTail(skein.url, '{}');
      assert.equal(d.status, 200);
      d.close();
    } finally {
      a.close();
      b.close();
    }
  });

  test('DELETE /api/skein/tail/<id> ends a named tail at once and frees its place; the same id again replaces the tail', async () => {
    await tailsBelow(skein.url, 1);
    const openCount = async (): Promise<number> => ((await (await fetch(`${skein.url}/api/skein/ingest-stats`)).json()) as { liveTails: { open: number } }).liveTails.open;
    const id = 'ui-api-test-tail-0001';
    const a = await openTail(skein.url, '{}', {}, id);
    try {
      assert.equal(a.status, 200);
      await waitFor('the tail is ready', async () => a.events.some((e) => e.event === 'ready'));
      // Another tenant cannot end it.
      const foreign = await fetch(`${skein.url}/api/skein/tail/${id}`, { method: 'DELETE', headers: { 'x-scope-orgid': 'someone-else' } });
      assert.equal(foreign.status, 404);
      // A reconnection under the same id replaces it rather than taking a second place.
      const again = await openTail(skein.url, '{}', {}, id);
      assert.equal(again.status, 200);
      await a.ended;
      assert.deepEqual(a.events.at(-1), { event: 'end', data: { reason: 'replaced by a reconnection' } });
      assert.equal(await openCount(), 1);

      const res = await fetch(`${skein.url}/api/skein/tail/${id}`, { method: 'DELETE' });
      assert.equal(res.status, 204);
      // Counted free at once, without waiting for the connection to go.
      assert.equal(await openCount(), 0);
      await again.ended;
      assert.deepEqual(again.events.at(-1), { event: 'end', data: { reason: 'closed by the client' } });

      const gone = await fetch(`${skein.url}/api/skein/tail/${id}`, { method: 'DELETE' });
      assert.equal(gone.status, 404);
      assert.match(await gone.text(), /no live tail with id "ui-api-test-tail-0001" is open/);
      const bad = await openTail(skein.url, '{}', {}, 'short');
      assert.equal(bad.status, 400);
    } finally {
      a.close();
    }
  });

  test('SIGTERM ends open tails with an `end` event and the process exits cleanly', async () => {
    // The tails of the test before may still hold their places until the server sees them close.
    await tailsBelow(skein.url, 1);
    const tail = await openTail(skein.url, '{}');
    assert.equal(tail.status, 200);
    await waitFor('the tail is ready', async () => tail.events.some((e) => e.event === 'ready'));
    const code = await skein.stop();
    assert.equal(code, 0);
    await tail.ended;
    assert.deepEqual(tail.events.at(-1), { event: 'end', data: { reason: 'shutdown' } });
  });
});
