// The memory_limiter end to end: a Skein with a small limit takes a burst of
// large OTLP/HTTP requests far beyond what it can hold. It refuses some with
// 429 + Retry-After, its RSS stays near the limit, it accepts again once the
// burst has passed, and every span it acknowledged is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex } from '../../src/otlp/model.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, simpleTrace, span, str } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';

const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.ok(kb, 'VmRSS in /proc/<pid>/status');
  return Number(kb) * 1024;
}

async function metric(skein: SkeinProcess, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${skein.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function postBody(skein: SkeinProcess, body: Uint8Array): Promise<Response> {
  return fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(body) });
}

const SPANS_PER_REQUEST = 2000;

/** One trace of SPANS_PER_REQUEST spans with a 200-byte attribute each: about half a MiB of protobuf. */
function bigRequest(): { traceId: string; spanIds: Set<string>; body: Uint8Array } {
  const traceId = newTraceId();
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) =>
    span({ traceId, name: `op-${i % 17}`, attributes: [str('payload', `${'x'.repeat(200)}${i}`), str('seq', String(i))] }),
  );
  const batch = batchOf('burst', spans);
  return { traceId: toHex(traceId), spanIds: new Set(spans.map((s) => toHex(s.spanId))), body: encodeTracesData(batch) };
}

test('memory_limiter: a burst far above capacity is partly refused with 429 + Retry-After, RSS stays bounded, memory comes back and every accepted span is stored', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  // The limit is set relative to what an idle Skein takes on this machine.
  const probe = await startSkein();
  const idle = rssBytes(probe.child.pid!);
  await probe.stop();
  const limitMib = Math.ceil(idle / MiB) + 80;
  const spikeMib = 40;
  const skein = await startSkein({
    configYaml: `processors:\n  memory_limiter: {limit_mib: ${limitMib}, spike_limit_mib: ${spikeMib}, check_interval: 100ms, min_gc_interval_when_soft_limited: 1s}\n`,
  });
  try {
    const pid = skein.child.pid!;
    let peak = rssBytes(pid);
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssBytes(pid));
      } catch {
        // the process is gone; the test fails elsewhere
      }
    }, 10);

    const CONCURRENCY = 32;
    const PER_SENDER = 4;
    const accepted: Array<{ traceId: string; spanIds: Set<string> }> = [];
    const statuses = new Map<number, number>();
    const retryAfters = new Set<string | null>();
    let bodyBytes = 0;
    const sender = async (): Promise<void> => {
      for (let i = 0; i < PER_SENDER; i++) {
        const req = bigRequest();
        bodyBytes = Math.max(bodyBytes, req.body.length);
        const res = await postBody(skein, req.body);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) accepted.push(req);
        else retryAfters.add(res.headers.get('retry-after'));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, sender));
    clearInterval(sampler);

    const summary = `statuses ${JSON.stringify([...statuses])}, idle RSS ${Math.round(idle / MiB)} MiB, limit ${limitMib} MiB, peak RSS ${Math.round(peak / MiB)} MiB`;
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 429), [], `only accepted or refused-retryably: ${summary}`);
    assert.ok((statuses.get(429) ?? 0) > 0, `the burst was never refused: ${summary}`);
    assert.ok(accepted.length > 0, `nothing accepted: ${summary}`);
    assert.deepEqual([...retryAfters], ['1'], 'every refusal says when to retry (retry_after_seconds)');
    assert.ok((await metric(skein, 'skein_memory_limiter_refused_batches_total{processor="memory_limiter"}'))! > 0);

    // The limiter refuses once it sees memory over the soft limit, but the
    // requests already in flight by then were received and decoded first: each
    // holds its body and its decoded spans (about five times the protobuf),
    // so RSS may pass the hard limit by up to that much per concurrent request.
    const inFlight = CONCURRENCY * 6 * bodyBytes;
    assert.ok(peak < limitMib * MiB + inFlight, `peak RSS over the limit plus what in-flight requests hold (${Math.round(inFlight / MiB)} MiB): ${summary}`);
    // Sanity of that bound: everything the burst sent, decoded, is far more than it allows.
    assert.ok(CONCURRENCY * PER_SENDER * 5 * bodyBytes > 2 * inFlight);

    // Flushing moves the accepted spans out of memory into blocks; then memory is back under the soft limit.
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    await waitFor('the limiter to accept again', async () => (await metric(skein, 'skein_memory_limiter_refusing{processor="memory_limiter"}')) === 0);
    // A request of ordinary size: the big ones are sized to fill the spike room.
    const after = simpleTrace(5);
    const res = await postProtobuf(skein.otlpHttpUrl, after.batch);
    assert.equal(res.status, 200, `accepting again after the burst: ${await res.text()}`);
    accepted.push({ traceId: toHex(after.traceId), spanIds: new Set(flattenBatch(after.batch).map((s) => toHex(s.span.spanId))) });

    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    for (const { traceId, spanIds } of accepted) {
      const got = await fetch(`${skein.url}/api/traces/${traceId}`);
      assert.equal(got.status, 200, `accepted trace ${traceId} not stored`);
      const ids = flattenBatch(decodeOtlpJson(await got.text(), { ids: 'base64' })).map((s) => toHex(s.span.spanId));
      assert.equal(ids.length, spanIds.size, `trace ${traceId}: ${ids.length} of ${spanIds.size} spans`);
      assert.deepEqual(new Set(ids), spanIds);
    }
  } finally {
    await skein.stop();
  }
});
