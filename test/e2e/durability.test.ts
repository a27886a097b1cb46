// Crash safety and restarts: a Skein killed with SIGKILL while clients send
// loses no acknowledged span and duplicates none; a torn or corrupt WAL tail
// recovers; data survives a clean restart and earlier blocks are still read.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, type ResourceSpans } from '../../src/otlp/model.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { plainBatch } from '../helpers/compare.js';

async function getTrace(skein: SkeinProcess, traceId: string): Promise<ResourceSpans[] | undefined> {
  const res = await fetch(`${skein.url}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, await res.clone().text());
  return decodeOtlpJson(await res.text(), { ids: 'base64' });
}

function walSegments(dataDir: string): string[] {
  const dir = join(dataDir, 'wal', 'single-tenant');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => join(dir, f));
}

describe('durability', () => {
  test('SIGKILL while clients send: every acknowledged span is back after restart, none duplicated', async () => {
    const dataDir = tempDir();
    let skein = await startSkein({ dataDir });
    const acked = new Map<string, ResourceSpans[]>();
    let stop = false;
    const client = async () => {
      while (!stop) {
        const { traceId, batch } = simpleTrace(5);
        try {
          const res = await postProtobuf(skein.otlpHttpUrl, batch);
          if (res.status === 200) acked.set(toHex(traceId), batch);
        } catch {
          return; // the server died under us: this request was never acknowledged
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    // Kill once a good number of requests have been acknowledged, mid-stream.
    while (acked.size < 300) await new Promise((r) => setTimeout(r, 10));
    await skein.kill();
    stop = true;
    await Promise.all(clients);

    skein = await startSkein({ dataDir });
    try {
      for (const [traceId, batch] of acked) {
        const got = await getTrace(skein, traceId);
        assert.ok(got, `acknowledged trace ${traceId} lost`);
        assert.deepEqual(plainBatch(got), plainBatch(batch), `trace ${traceId} differs (lost or duplicated spans)`);
      }
    } finally {
      await skein.stop();
    }
  });

  test('a WAL with a torn or corrupt tail recovers every complete record and says what it dropped', async () => {
    const dataDir = tempDir();
    let skein = await startSkein({ dataDir });
    const sent: Array<{ traceId: string; batch: ResourceSpans[] }> = [];
    for (let i = 0; i < 20; i++) {
      const { traceId, batch } = simpleTrace(3);
      assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
      sent.push({ traceId: toHex(traceId), batch });
    }
    await skein.kill();
    // A record that was being written when the power went: a header promising more bytes than follow.
    const segments = walSegments(dataDir);
    const last = segments[segments.length - 1]!;
    const before = statSync(last).size;
    appendFileSync(last, Buffer.from([0x00, 0x10, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));

    skein = await startSkein({ dataDir });
    try {
      const truncation = skein.logs.find((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('truncated'));
      assert.ok(truncation, 'recovery logs the truncation');
      assert.equal(statSync(last).size <= before, true);
      for (const { traceId, batch } of sent) {
        const got = await getTrace(skein, traceId);
        assert.ok(got, `trace ${traceId} lost`);
        assert.deepEqual(plainBatch(got), plainBatch(batch));
      }
      // And it keeps taking data.
      const { traceId, batch } = simpleTrace(2);
      assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
      assert.ok(await getTrace(skein, toHex(traceId)));
    } finally {
      await skein.stop();
    }
  });

  test('data survives a clean restart; blocks written before it are still read; a trace split across head and block is merged', async () => {
    const dataDir = tempDir();
    let skein = await startSkein({ dataDir });
    const early = simpleTrace(4);
    const split = simpleTrace(2);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, early.batch)).status, 200);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, split.batch)).status, 200);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    // More spans of an already-flushed trace arrive later: they live in the head.
    const late = simpleTrace(2);
    for (const rs of late.batch) for (const ss of rs.scopeSpans) for (const s of ss.spans) s.traceId = split.traceId;
    assert.equal((await postProtobuf(skein.otlpHttpUrl, late.batch)).status, 200);
    const merged = [...plainBatch(split.batch), ...plainBatch(late.batch)].sort((a, b) => String(a['spanId']).localeCompare(String(b['spanId'])));
    assert.deepEqual(plainBatch((await getTrace(skein, toHex(split.traceId)))!), merged);
    const headOnly = simpleTrace(3);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, headOnly.batch)).status, 200);
    assert.equal(await skein.stop(), 0);

    skein = await startSkein({ dataDir });
    try {
      assert.deepEqual(plainBatch((await getTrace(skein, toHex(early.traceId)))!), plainBatch(early.batch));
      assert.deepEqual(plainBatch((await getTrace(skein, toHex(headOnly.traceId)))!), plainBatch(headOnly.batch));
      assert.deepEqual(plainBatch((await getTrace(skein, toHex(split.traceId)))!), merged);
      const blocks = readdirSync(join(dataDir, 'blocks', 'single-tenant'));
      assert.ok(blocks.length >= 1, 'the first run left blocks on disk');
    } finally {
      await skein.stop();
    }
  });

  test('the same span sent twice (a client retry) is returned once', async () => {
    const skein = await startSkein();
    try {
      const { traceId, batch } = simpleTrace(3);
      assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
      assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
      assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
      assert.equal((await postProtobuf(skein.otlpHttpUrl, batch)).status, 200);
      assert.deepEqual(plainBatch((await getTrace(skein, toHex(traceId)))!), plainBatch(batch));
    } finally {
      await skein.stop();
    }
  });
});
