// The cluster's two roles as a user starts them: `--target ingester` takes spans and answers
// its peers' internal routes, not the query API; `--target querier` answers queries over
// the blocks it reads and writes nothing (no receivers, no WAL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTagged, PEER_CONTENT_TYPE } from '../../src/cluster/codec.js';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, tempDir } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';

test('--target ingester stores spans and answers its peers, but serves no query API or UI', async () => {
  const skein = await startSkein({ args: ['--target', 'ingester'] });
  try {
    const t = simpleTrace(2);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, t.batch)).status, 200);
    const search = await fetch(`${skein.url}/api/v2/traces/${toHex(t.traceId)}`);
    assert.equal(search.status, 501);
    assert.match(await search.text(), /--target ingester/);
    assert.equal((await fetch(`${skein.url}/`)).status, 404);
    const peer = await fetch(`${skein.url}/api/skein/cluster/trace`, {
      method: 'POST',
      headers: { 'content-type': PEER_CONTENT_TYPE },
      body: encodeTagged({ scope: 'head', traceId: toHex(t.traceId) }),
    });
    assert.equal(peer.status, 200);
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    assert.equal((await fetch(`${skein.url}/ready`)).status, 200);
  } finally {
    await skein.stop();
  }
});

test('--target querier answers queries over the blocks and writes nothing', async () => {
  const dataDir = tempDir();
  const skein = await startSkein({ dataDir, args: ['--target', 'querier'] });
  try {
    assert.equal((await fetch(`${skein.url}/ready`)).status, 200);
    const search = await fetch(`${skein.url}/api/search?q=${encodeURIComponent('{ }')}`);
    assert.equal(search.status, 200, await search.clone().text());
    assert.deepEqual(((await search.json()) as { traces: unknown[] }).traces, []);
    assert.equal(skein.otlpHttpUrl, 'http://', 'no OTLP receiver listens');
    assert.equal(existsSync(join(dataDir, 'wal')), false, 'no WAL');
  } finally {
    await skein.stop();
  }
});
