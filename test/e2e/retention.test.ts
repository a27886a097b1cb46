// Retention removes blocks whose spans are older than the configured age, and only those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../src/otlp/model.js';
import { startSkein } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';

const HOUR_NS = 3_600_000_000_000n;

function blockDirs(dataDir: string): Map<string, { maxEnd: bigint }> {
  const dir = join(dataDir, 'blocks', 'single-tenant');
  const out = new Map<string, { maxEnd: bigint }>();
  if (!existsSync(dir)) return out;
  for (const id of readdirSync(dir)) {
    const metaPath = join(dir, id, 'meta.json');
    if (!existsSync(metaPath)) continue;
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { maxEndUnixNano: string };
    out.set(id, { maxEnd: BigInt(meta.maxEndUnixNano) });
  }
  return out;
}

test('retention deletes exactly the blocks older than storage.retention', async () => {
  const skein = await startSkein({
    configYaml: [
      'storage:',
      '  retention: 2h',
      '  compaction:',
      '    interval: 500ms',
      // Keep compaction from merging the blocks this test tells apart.
      '    min_input_blocks: 100',
    ].join('\n'),
  });
  try {
    const now = BigInt(Date.now()) * 1_000_000n;
    const old = [simpleTrace(3, { startUnixNano: now - 5n * HOUR_NS }), simpleTrace(2, { startUnixNano: now - 3n * HOUR_NS })];
    const recent = [simpleTrace(3, { startUnixNano: now - 1n * HOUR_NS }), simpleTrace(2, { startUnixNano: now })];
    // One block per trace, so each block's age is that trace's.
    for (const t of [...old, ...recent]) {
      assert.equal((await postProtobuf(skein.otlpHttpUrl, t.batch)).status, 200);
      assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    }
    const cutoff = now - 2n * HOUR_NS;
    const blocks = await waitFor('retention to delete the old blocks', async () => {
      const now = blockDirs(skein.dataDir);
      return [...now.values()].every((b) => b.maxEnd >= cutoff) && now;
    });
    assert.equal(blocks.size, recent.length, 'only the recent blocks remain');
    for (const b of blocks.values()) assert.ok(b.maxEnd >= cutoff);
    for (const t of old) assert.equal((await fetch(`${skein.url}/api/traces/${toHex(t.traceId)}`)).status, 404);
    for (const t of recent) assert.equal((await fetch(`${skein.url}/api/traces/${toHex(t.traceId)}`)).status, 200);
  } finally {
    await skein.stop();
  }
});
