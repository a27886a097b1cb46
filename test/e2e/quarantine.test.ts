// A data directory whose WAL holds a span no block can hold (kind 300: the block's
// kind column is UTINYINT), as a WAL left by an older Skein that acknowledged it
// may: the server replays it, /flush succeeds, every other span reads back, and
// the span is in the tenant's quarantine, listed by the API and by
// `skein quarantine list`, counted on /metrics and named in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex, type Span } from '../../src/otlp/model.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { Wal } from '../../src/store/wal/wal.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { CLI_PATH, startSkein, tempDir } from '../helpers/skein-process.js';
import { batchOf, newTraceId, span } from '../helpers/spans.js';

const TENANT = 'team-a';
const headers = { 'X-Scope-OrgID': TENANT };

test('a WAL span no block can hold is quarantined at /flush; the rest reads back; API, CLI and /metrics report it', async () => {
  const dataDir = tempDir();
  const good = new Map<string, string[]>();
  const spans: Span[] = [];
  for (let t = 0; t < 5; t++) {
    const traceId = newTraceId();
    const root = span({ traceId, name: `root-${t}` });
    const child = span({ traceId, parentSpanId: root.spanId, name: `child-${t}`, startUnixNano: root.startTimeUnixNano + 1000n });
    spans.push(root, child);
    good.set(toHex(traceId), [toHex(root.spanId), toHex(child.spanId)]);
  }
  // The bad span shares its trace with good ones.
  const [mixedTrace, mixedSpans] = [...good][0]!;
  const bad = span({ traceId: Buffer.from(mixedTrace, 'hex'), parentSpanId: Buffer.from(mixedSpans[0]!, 'hex'), name: 'kind-300' });
  bad.kind = 300 as Span['kind'];
  spans.push(bad);

  // The WAL as Skein writes it: its own writer, its own encoding.
  const wal = await Wal.open(
    { dir: join(dataDir, 'wal', TENANT), syncPolicy: 'request', syncIntervalMs: 0, segmentMaxBytes: 1 << 20, logger: silentLogger },
    () => undefined,
  );
  await wal.append(encodeTracesData(batchOf('checkout', spans)));
  await wal.close();

  let skein = await startSkein({ dataDir });
  try {
    const flushed = await fetch(`${skein.url}/flush`, { method: 'POST', headers });
    assert.equal(flushed.status, 204, await flushed.text());

    for (const [traceId, spanIds] of good) {
      const res = await fetch(`${skein.url}/api/traces/${traceId}`, { headers });
      assert.equal(res.status, 200, `trace ${traceId}`);
      const batch = decodeOtlpJson(await res.text(), { ids: 'base64' });
      const got = batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => toHex(s.spanId))));
      assert.deepEqual(got.sort(), [...spanIds].sort(), `trace ${traceId}`);
    }

    const listed = await fetch(`${skein.url}/api/skein/quarantine`, { headers });
    assert.equal(listed.status, 200);
    const answer = (await listed.json()) as { tenant: string; total: number; objects: Array<{ id: string; time: string; spans: number; error: string; file: string }> };
    assert.equal(answer.tenant, TENANT);
    assert.equal(answer.total, 1);
    const [object] = answer.objects;
    assert.equal(object!.spans, 1);
    assert.match(object!.error, /cast/i);
    assert.equal(object!.file, `${TENANT}/${object!.id}.otlp.pb`);
    assert.ok(readdirSync(join(dataDir, 'quarantine', TENANT)).includes(`${object!.id}.otlp.pb`));
    // Another tenant has nothing quarantined.
    assert.deepEqual(await (await fetch(`${skein.url}/api/skein/quarantine`)).json(), { tenant: 'single-tenant', total: 0, objects: [] });

    const cli = await promisify(execFile)(process.execPath, [CLI_PATH, 'quarantine', 'list', '--server', skein.url, '--tenant', TENANT]);
    const row = cli.stdout.split('\n').find((l) => l.startsWith(object!.id));
    assert.ok(row, cli.stdout);
    assert.match(row!, new RegExp(`^${object!.id}\\s+${object!.time.replaceAll('.', '\\.')}\\s+1\\s+.*cast`, 'i'));
    const cliJson = await promisify(execFile)(process.execPath, [CLI_PATH, 'quarantine', 'list', '--server', skein.url, '--tenant', TENANT, '--json']);
    assert.deepEqual(JSON.parse(cliJson.stdout), answer);

    const metrics = await (await fetch(`${skein.url}/metrics`)).text();
    assert.match(metrics, /^skein_store_quarantined_spans_total\{tenant="team-a"\} 1$/m);
    const logged = skein.logs.find((l) => l['msg'] === 'spans quarantined: no block can hold them; every other span of the cut is in a block');
    assert.ok(logged, 'the quarantine is logged');
    assert.equal(logged!['tenant'], TENANT);
    assert.equal(logged!['spans'], 1);
    assert.match(String(logged!['error']), /cast/i);
    assert.equal(logged!['path'], join(dataDir, 'quarantine', TENANT, `${object!.id}.otlp.pb`));

    // A restart replays nothing: the WAL let go of the span, and it is quarantined once.
    await skein.stop();
    skein = await startSkein({ dataDir });
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST', headers })).status, 204);
    assert.equal(((await (await fetch(`${skein.url}/api/skein/quarantine`, { headers })).json()) as { total: number }).total, 1);
    assert.doesNotMatch(await (await fetch(`${skein.url}/metrics`)).text(), /^skein_store_quarantined_spans_total\{tenant="team-a"\} [1-9]/m);
  } finally {
    await skein.stop();
  }
});
