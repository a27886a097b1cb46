// The block format as users meet it: bytes per span on a realistic workload,
// and every SQL example of docs/block-format.md running against a real block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateTraces, otlpBytesPerSpan } from './workload.js';
import { openHarness } from './fixtures.js';

const DOC = new URL('../../../../docs/block-format.md', import.meta.url);
const DOC_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

test('a realistic workload is stored in at most 60 bytes per span', async () => {
  const h = await openHarness({ rowGroupSpans: 8192 });
  try {
    const traces = generateTraces(2500, { seed: 11 });
    const otlp = otlpBytesPerSpan(traces);
    assert.ok(otlp > 200 && otlp < 320, `workload weighs ${otlp} bytes per span as OTLP protobuf`);
    const meta = await h.store.writeBlock('single-tenant', traces);
    const perSpan = meta.sizeBytes / meta.spanCount;
    assert.ok(perSpan <= 60, `${perSpan.toFixed(1)} bytes per span`);
  } finally {
    await h.dispose();
  }
});

test('every SQL example in docs/block-format.md runs and returns rows', async () => {
  const h = await openHarness({ rowGroupSpans: 8192 });
  try {
    const traces = generateTraces(300, { seed: 5 });
    await h.store.writeBlock('single-tenant', traces.slice(0, 150));
    await h.store.writeBlock('single-tenant', traces.slice(150));
    const doc = await readFile(DOC, 'utf8');
    const examples = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(examples.length >= 5, 'the page has its examples');
    for (const sql of examples) {
      const runnable = sql.replaceAll('data/blocks/', `${h.dir}/`).replaceAll(DOC_TRACE_ID, traces[42]!.traceId);
      const rows = await h.engine.all(runnable);
      assert.ok(rows.length > 0, `no rows from:\n${sql}`);
    }
    assert.ok(doc.includes(join('data', 'blocks', 'single-tenant')));
  } finally {
    await h.dispose();
  }
});

test('meta.json gives each row group its byte span and each part its footer offset: together they cover the file', async () => {
  const h = await openHarness({ rowGroupSpans: 2048 });
  try {
    const meta = await h.store.writeBlock('single-tenant', generateTraces(1500, { seed: 3 }));
    for (const part of meta.parts) {
      assert.ok(part.rowGroups.length > 1);
      // After the 4-byte magic, row group after row group, then the footer region to the end.
      let at = 4;
      for (const g of part.rowGroups) {
        assert.equal(g.offset, at);
        assert.ok(g.length! >= g.bytes && g.length! > 0);
        at += g.length!;
      }
      assert.equal(part.footerOffset, at);
      assert.ok(part.footerOffset! < part.bytes);
      const file = await readFile(join(h.dir, 'single-tenant', meta.blockId, part.file));
      assert.equal(file.length, part.bytes);
      assert.equal(file.subarray(-4).toString(), 'PAR1');
    }
  } finally {
    await h.dispose();
  }
});
