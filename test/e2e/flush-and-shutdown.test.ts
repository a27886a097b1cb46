// /flush on a full disk and a stop that outlasts server.shutdown_timeout, end
// to end on a real server: both say what happened, and every acknowledged span
// reads back once the disk has room again or the server has restarted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { smallTmpfsAt, tmpfsUnavailable } from '../helpers/namespaces.js';

/** Sends `traces` traces of `spans` spans each over OTLP/HTTP; returns the acknowledged ones (trace ID hex → span count). */
async function ingest(skein: SkeinProcess, traces: number, spans: number): Promise<Map<string, number>> {
  const acknowledged = new Map<string, number>();
  for (let i = 0; i < traces; i++) {
    const t = simpleTrace(spans);
    const res = await postProtobuf(skein.otlpHttpUrl, t.batch);
    assert.equal(res.status, 200, await res.text());
    acknowledged.set(toHex(t.traceId), spans);
  }
  return acknowledged;
}

async function assertReadBack(skein: SkeinProcess, acknowledged: Map<string, number>): Promise<void> {
  for (const [traceId, spans] of acknowledged) {
    const res = await fetch(`${skein.url}/api/traces/${traceId}`);
    assert.equal(res.status, 200, `trace ${traceId} not found`);
    assert.equal(flattenBatch(decodeOtlpJson(await res.text(), { ids: 'base64' })).length, spans, `trace ${traceId}`);
  }
}


test('/flush on a full disk answers 503 with Retry-After naming the problem, and succeeds once space is freed, losing nothing', { skip: tmpfsUnavailable }, async () => {
  // The data directory is a 16 MiB tmpfs in the server's own mount namespace; the test
  // reaches it through /proc/<pid>/root to fill it up and free it again.
  const mountPoint = tempDir();
  const skein = await startSkein({
    dataDir: `${mountPoint}/data`,
    wrap: smallTmpfsAt(mountPoint),
  });
  try {
    const acknowledged = await ingest(skein, 20, 200);
    const filler = `/proc/${skein.child.pid}/root${mountPoint}/filler`;
    const fd = openSync(filler, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 1));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }

    const full = await fetch(`${skein.url}/flush`, { method: 'POST' });
    const message = await full.text();
    assert.equal(full.status, 503, message);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.match(message, /^storage is full: .*no space left on device.*write-ahead log/);

    unlinkSync(filler);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    await assertReadBack(skein, acknowledged);
  } finally {
    await skein.stop();
  }
});

test('SIGTERM with a large head honours server.shutdown_timeout: it exits 0, logs how many spans stay in the WAL, and a restart reads them all back', async () => {
  const dataDir = tempDir();
  const configYaml = 'server:\n  shutdown_timeout: 1ms\n';
  const skein = await startSkein({ dataDir, configYaml });
  const acknowledged = await ingest(skein, 10, 2000);
  assert.equal(await skein.stop(), 0, 'exit code');
  const line = skein.logs.find((l) => String(l['msg']).startsWith('server.shutdown_timeout reached'));
  assert.ok(line, `no shutdown_timeout log line in:\n${skein.logs.map((l) => JSON.stringify(l)).join('\n')}`);
  assert.equal(line['level'], 'warn');
  assert.equal(line['shutdownTimeoutMs'], 1);
  assert.ok(typeof line['spansInWal'] === 'number' && line['spansInWal'] > 0 && line['spansInWal'] <= 20_000, JSON.stringify(line));
  assert.match(String(line['msg']), new RegExp(`${line['spansInWal']} spans stay in the write-ahead log and are replayed at the next start`));

  const restarted = await startSkein({ dataDir });
  try {
    await assertReadBack(restarted, acknowledged);
    assert.equal((await fetch(`${restarted.url}/flush`, { method: 'POST' })).status, 204);
    await assertReadBack(restarted, acknowledged);
  } finally {
    await restarted.stop();
  }
});
