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
