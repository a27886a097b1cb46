// The blocks under test/fixtures/blocks/: written by an earlier block writer and
// committed, so that tests can hold the current code to them (a block of the
// previous writer still reads; the current writer still writes the same rows).
// test/fixtures/blocks/README.md says how they were made and how to make them again.
import assert from 'node:assert/strict';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex, type StoredSpan, type TraceSpans } from '../../src/otlp/model.js';
import type { DuckEngine } from '../../src/store/engine/duckdb.js';
import { META_FILE, parseBlockMeta, type BlockMeta } from '../../src/store/blocks/meta.js';
import { rowToStoredSpan, type SpanRow } from '../../src/store/blocks/row-codec.js';
import { allColumns, sqlString } from '../../src/store/blocks/schema.js';
import { asWritten, edgeWorkload, type EdgeTraceIds } from './edge-workload.js';
import { referenceSample } from './reference-sample.js';

/** The writer the committed blocks come from: the NDJSON-staging writer of commit 9a00f0f. */
export const FIXTURE_WRITER = '9a00f0f';

/** Where they are, in the source tree (tests run from dist/, the files stay in test/). */
export const FIXTURE_DIR = fileURLToPath(new URL(`../../../test/fixtures/blocks/${FIXTURE_WRITER}`, import.meta.url));

/** What each tenant of the fixture holds: one block, written from these workloads. */
export const FIXTURE_WORKLOADS = {
  /** A sample of the benchmark's reference workload, written as a default-sized block. */
  reference: { tenant: 'reference', seed: 20_261_215, spans: 3000, startUnixMs: Date.UTC(2026, 0, 1), rowGroupSpans: 8192 },
  /** The edge workload (edge-workload.ts) with small row groups, so its block has several parts. */
  edge: { tenant: 'edge', seed: 15, startUnixNano: 1_767_225_600_000_000_000n, rowGroupSpans: 1000 },
} as const;

export type FixtureName = keyof typeof FIXTURE_WORKLOADS;
export const FIXTURE_NAMES: readonly FixtureName[] = ['reference', 'edge'];

/** The traces a fixture block was written from, as they were handed to the writer. */
export function fixtureTraces(name: FixtureName): TraceSpans[] {
  if (name === 'reference') {
    const { seed, spans, startUnixMs } = FIXTURE_WORKLOADS.reference;
    return referenceSample({ seed, spans, startUnixMs });
  }
  return edgeFixture().traces;
}

export function edgeFixture(): { traces: TraceSpans[]; ids: EdgeTraceIds } {
  const { seed, startUnixNano } = FIXTURE_WORKLOADS.edge;
  return edgeWorkload({ seed, startUnixNano });
}

/** Copies the fixture's tenants (block directories and all) into a backend directory. */
export async function copyFixtureBlocks(toDir: string, names: readonly FixtureName[] = FIXTURE_NAMES): Promise<void> {
  for (const name of names) {
    const tenant = FIXTURE_WORKLOADS[name].tenant;
    await cp(join(FIXTURE_DIR, tenant), join(toDir, tenant), { recursive: true });
  }
}

/** The meta.json of a fixture's block, as committed. */
export async function fixtureMeta(name: FixtureName): Promise<BlockMeta> {
  const tenant = FIXTURE_WORKLOADS[name].tenant;
  const ids = await readdir(join(FIXTURE_DIR, tenant));
  assert.equal(ids.length, 1, `the ${name} fixture holds one block`);
  return parseBlockMeta(await readFile(join(FIXTURE_DIR, tenant, ids[0]!, META_FILE)));
}

const expectedCache = new Map<FixtureName, Map<string, StoredSpan[]>>();

/**
 * What a fixture's block holds, by trace ID (asWritten of its workload). Generated once
 * per process and shared: treat as read-only, and hand writers fixtureTraces() instead.
 */
export function fixtureSpans(name: FixtureName): ReadonlyMap<string, StoredSpan[]> {
  let spans = expectedCache.get(name);
  if (!spans) expectedCache.set(name, (spans = asWritten(fixtureTraces(name))));
  return spans;
}

/** Spans by trace ID, each trace's in the order given. */
export function groupByTrace(spans: readonly StoredSpan[]): Map<string, StoredSpan[]> {
  const out = new Map<string, StoredSpan[]>();
  for (const s of spans) {
    const id = toHex(s.span.traceId);
    const list = out.get(id);
    if (list) list.push(s);
    else out.set(id, [s]);
  }
  return out;
}

/**
 * Every row of a block, every column (the derived ones too: service_name, nested sets),
 * in block order: part after part, row after row. `dir` is the local backend's directory.
 */
export async function readBlockRows(engine: DuckEngine, dir: string, meta: BlockMeta): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const part of meta.parts) {
    const path = join(dir, meta.tenant, meta.blockId, part.file);
    rows.push(...(await engine.all(`SELECT ${allColumns()} FROM read_parquet(${sqlString(path)}, file_row_number = true) ORDER BY file_row_number`)));
  }
  return rows;
}

/** Every span of a block in block order, decoded as the store decodes a row. */
export async function readBlockSpans(engine: DuckEngine, dir: string, meta: BlockMeta): Promise<StoredSpan[]> {
  return blockRowsAsSpans(await readBlockRows(engine, dir, meta));
}

/** Rows of readBlockRows as the store decodes them (they hold every column it reads). */
export function blockRowsAsSpans(rows: ReadonlyArray<Record<string, unknown>>): StoredSpan[] {
  return rows.map((r) => rowToStoredSpan(r as unknown as SpanRow));
}
