// What an operator sees of the quarantine on a real server: a data directory in
// which a head cut set spans aside (the real Store's cut, writeCutBlock, on rows
// built in memory: no request or WAL can carry such rows any more, decoding
// normalises them) is served with every other span of the cut reading back, and
// the object is listed by GET /api/skein/quarantine and `skein quarantine list`
// (table and --json) for its tenant only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex, type Span } from '../../src/otlp/model.js';
import { writeCutBlock } from '../../src/store/cut-block.js';
import { Store } from '../../src/store/store.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { CLI_PATH, startSkein, tempDir } from '../helpers/skein-process.js';
import { batchOf, newTraceId, span, spanSource, unwritable } from '../helpers/spans.js';

const TENANT = 'team-a';
const headers = { 'X-Scope-OrgID': TENANT };

test('a quarantine a cut left is listed by the API and `skein quarantine list` for its tenant only; every other span of the cut reads back', async () => {
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
  spans.push(unwritable(span({ traceId: Buffer.from(mixedTrace, 'hex'), parentSpanId: Buffer.from(mixedSpans[0]!, 'hex'), name: 'kind-300' }), 'kind'));

  // The cut, by the Store the server opens on the same directory.
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: dataDir }] });
  const store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
  try {
    await writeCutBlock({ tenant: TENANT, blocks: store.blocks, quarantine: store.quarantine, logger: silentLogger }, spanSource(batchOf('checkout', spans)));
  } finally {
    await store.close();
  }

  const skein = await startSkein({ dataDir });
  try {
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
    assert.deepEqual(await (await fetch(`${skein.url}/api/skein/quarantine`, { headers: { 'X-Scope-OrgID': 'team-b' } })).json(), {
      tenant: 'team-b',
      total: 0,
      objects: [],
    });

    const cli = await promisify(execFile)(process.execPath, [CLI_PATH, 'quarantine', 'list', '--server', skein.url, '--tenant', TENANT]);
    const row = cli.stdout.split('\n').find((l) => l.startsWith(object!.id));
    assert.ok(row, cli.stdout);
    assert.match(row!, new RegExp(`^${object!.id}\\s+${object!.time.replaceAll('.', '\\.')}\\s+1\\s+.*cast`, 'i'));
    const cliJson = await promisify(execFile)(process.execPath, [CLI_PATH, 'quarantine', 'list', '--server', skein.url, '--tenant', TENANT, '--json']);
    assert.deepEqual(JSON.parse(cliJson.stdout), answer);
    const cliOther = await promisify(execFile)(process.execPath, [CLI_PATH, 'quarantine', 'list', '--server', skein.url, '--tenant', 'team-b']);
    assert.equal(cliOther.stdout.trim(), 'nothing quarantined for tenant team-b');
  } finally {
    await skein.stop();
  }
});
