// The current block writer held to the previous one (issue 15): handed the
// traces the committed fixture blocks (test/fixtures/blocks/) were written from,
// it writes the same rows in the same order, column for column, the derived
// columns (service_name, nested sets) included, with the same bloom filter and
// tag index; and compaction merges an old block with a newly written one into
// every span once, the rows those of writing them all at once. This is the
// contract a new writer meets before it replaces the NDJSON staging of 9a00f0f.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex, type StoredSpan, type TraceSpans } from '../../../src/otlp/model.js';
import { LocalBackend } from '../../../src/store/backend/local.js';
import { BlockStore } from '../../../src/store/blocks/block-store.js';
import { BLOOM_FILE, TAGS_FILE, type BlockMeta } from '../../../src/store/blocks/meta.js';
import { DuckEngine } from '../../../src/store/engine/duckdb.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { assertSameSequence } from '../../helpers/compare.js';
import {
  blockRowsAsSpans,
  copyFixtureBlocks,
  edgeFixture,
  FIXTURE_NAMES,
  FIXTURE_WORKLOADS,
  fixtureMeta,
  fixtureTraces,
  groupByTrace,
  readBlockRows,
  readBlockSpans,
  type FixtureName,
} from '../../helpers/fixture-blocks.js';
import { tempDir } from '../../helpers/skein-process.js';
import { canonical } from './fixtures.js';

const rowLabel = (r: Record<string, unknown>): string => `trace ${String(r['trace_id'])}, span ${toHex(r['span_id'] as Uint8Array)}`;
const spanLabel = (s: StoredSpan): string => `trace ${toHex(s.span.traceId)}, span ${toHex(s.span.spanId)}`;

interface Fixture {
  store: BlockStore;
  engine: DuckEngine;
  /** The backend's directory, holding a copy of the fixture's tenant. */
  dir: string;
  old: BlockMeta;
}

/** A block store over a copy of one fixture, with the row-group size its block was written with. */
async function withFixture(name: FixtureName, fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = tempDir('skein-compat-blocks-');
  const engine = await DuckEngine.open({ threads: 2, connections: 3 });
  try {
    await copyFixtureBlocks(dir, [name]);
    const store = await BlockStore.open({ backend: new LocalBackend(dir), engine, rowGroupSpans: FIXTURE_WORKLOADS[name].rowGroupSpans, logger: silentLogger });
    try {
      await fn({ store, engine, dir, old: await fixtureMeta(name) });
    } finally {
      await store.close();
    }
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes `traces` as a new block beside the fixture's and holds it to the old one:
 * meta.json's counts and ranges, bloom.bin, tags.json, every span as the store decodes
 * it, in block order; then every row, every column (service_name, nested sets, and what
 * decoding does not tell apart, as NULL from an empty list: docs/block-format.md says
 * which a block holds). Parts and row groups may be cut elsewhere.
 */
async function assertWritesAsOld(f: Fixture, traces: Iterable<TraceSpans>, oldRows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const { old } = f;
  const written = await f.store.writeBlock(old.tenant, traces);
  for (const key of ['format', 'spanCount', 'traceCount', 'minStartUnixNano', 'maxEndUnixNano', 'minTraceId', 'maxTraceId', 'compactionLevel'] as const) {
    assert.equal(written[key], old[key], `meta.json ${key}`);
  }
  const file = (meta: BlockMeta, name: string): Promise<Buffer> => readFile(join(f.dir, old.tenant, meta.blockId, name));
  assert.deepEqual(await file(written, BLOOM_FILE), await file(old, BLOOM_FILE), BLOOM_FILE);
  assert.deepEqual(JSON.parse((await file(written, TAGS_FILE)).toString()), JSON.parse((await file(old, TAGS_FILE)).toString()), TAGS_FILE);
  const rows = await readBlockRows(f.engine, f.dir, written);
  assertSameSequence(blockRowsAsSpans(rows), blockRowsAsSpans(oldRows), spanLabel);
  assertSameSequence(rows, oldRows, rowLabel);
}

for (const name of FIXTURE_NAMES) {
  test(`the current writer writes the ${name} workload row for row, column for column, as the old writer did`, async () => {
    await withFixture(name, async (f) => {
      const oldRows = await readBlockRows(f.engine, f.dir, f.old);
      // From the workload the fixture was written from: batches, duplicates and all.
      await assertWritesAsOld(f, fixtureTraces(name), oldRows);
      // From the old block's own spans: holds even should the generators ever change.
      const spans = blockRowsAsSpans(oldRows);
      await assertWritesAsOld(
        f,
        [...groupByTrace(spans)].map(([traceId, list]) => ({ traceId, spans: list })),
        oldRows,
      );
    });
  });
}

/** A span like `like` in another trace or under another parent, with an ID of its own. */
function freshSpan(like: StoredSpan, n: number, traceId: Uint8Array, parent: Uint8Array): StoredSpan {
  const spanId = Buffer.alloc(8);
  spanId.writeUInt32BE(0xc0ffee00, 0);
  spanId.writeUInt32BE(n, 4);
  const start = like.span.startTimeUnixNano + 1n;
  return { ...like, span: { ...like.span, traceId, spanId: new Uint8Array(spanId), parentSpanId: parent, name: `new ${n}`, startTimeUnixNano: start, endTimeUnixNano: start + 1n } };
}

for (const name of FIXTURE_NAMES) {
  test(`compacting the old ${name} block with a newly written one keeps every span once, in the rows writing them at once gives`, async () => {
    await withFixture(name, async ({ store, engine, dir, old }) => {
      const oldSpans = groupByTrace(await readBlockSpans(engine, dir, old));
      // The new block: for every third old trace (and the edge workload's big, huge, every,
      // limits and dupes traces) some of its spans again, exactly, and one it did not have;
      // and twenty traces of its own.
      const shared = new Set([...oldSpans.keys()].filter((_, i) => i % 3 === 0));
      if (name === 'edge') {
        const ids = edgeFixture().ids;
        for (const id of [ids.big, ids.huge, ids.every, ids.limits, ids.dupes]) shared.add(id);
      }
      let n = 0;
      const added: TraceSpans[] = [];
      for (const id of [...shared].sort()) {
        const spans = oldSpans.get(id)!;
        const root = spans[0]!.span;
        added.push({ traceId: id, spans: [...spans.filter((_, i) => i % 7 === 0).slice(0, 200), freshSpan(spans[0]!, n++, root.traceId, root.spanId)] });
      }
      const like = [...oldSpans.values()][0]![0]!;
      for (let i = 0; i < 20; i++) {
        const traceId = Buffer.alloc(16, 0xee);
        traceId.writeUInt32BE(i, 12);
        const root = freshSpan(like, n++, new Uint8Array(traceId), new Uint8Array(0));
        added.push({ traceId: traceId.toString('hex'), spans: [root, freshSpan(like, n++, root.span.traceId, root.span.spanId)] });
      }
      added.sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
      await store.writeBlock(old.tenant, added);

      const expected = new Map([...oldSpans].map(([id, list]) => [id, [...list]]));
      for (const t of added) {
        const list = expected.get(t.traceId) ?? [];
        const have = new Set(list.map((s) => toHex(s.span.spanId)));
        expected.set(t.traceId, [...list, ...t.spans.filter((s) => !have.has(toHex(s.span.spanId)))]);
      }
      const merged = await store.compactOnce(old.tenant, { windowMs: 24 * 3_600_000, maxBlockBytes: 1 << 30, minInputBlocks: 2 });
      assert.ok(merged, 'the two blocks were compacted');
      assert.deepEqual(
        store.blocks(old.tenant).map((m) => m.blockId),
        [merged.blockId],
      );
      assert.equal(merged.spanCount, [...expected.values()].reduce((k, l) => k + l.length, 0));
      const spans = await readBlockSpans(engine, dir, merged);
      const keys = spans.map((s) => `${toHex(s.span.traceId)}/${toHex(s.span.spanId)}`);
      assert.equal(new Set(keys).size, keys.length, 'no span twice');
      const byTrace = groupByTrace(spans);
      assert.deepEqual([...byTrace.keys()].sort(), [...expected.keys()].sort());
      for (const [traceId, want] of expected) assert.deepStrictEqual(canonical(byTrace.get(traceId)!), canonical(want), `trace ${traceId}`);
      // Row for row what writing every span at once gives (nested sets of the traces the
      // merge renumbered included).
      const direct = await store.writeBlock(
        `${old.tenant}-direct`,
        [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([traceId, list]) => ({ traceId, spans: list })),
      );
      assertSameSequence(await readBlockRows(engine, dir, merged), await readBlockRows(engine, dir, direct), rowLabel);
      // And by ID, through the merged block's bloom filter and part ranges.
      for (const traceId of [...shared].slice(0, 10)) {
        assert.deepStrictEqual(canonical((await store.findTrace(old.tenant, traceId)).spans), canonical(expected.get(traceId)!), `trace ${traceId} by ID`);
      }
    });
  });
}
