// The cost of writing a block (issue 15): the reference workload written by the
// block writer, CPU per span of the whole process (JS and DuckDB's threads, from
// process.cpuUsage) and bytes per span, next to other zstd levels and DuckDB
// writing with 2 threads; then the writer's phases, and the appender candidates that
// lost (docs/block-format.md, "How blocks are written").
// Prints one JSON object on stdout, progress on stderr.
//
//   node dist/bench/block-write.js [--spans N] [--runs N] [--only name,name]
//
// Other work on the machine slows every figure alike: compare figures of one run.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import duckdb from '@duckdb/node-bindings';
import { blobValue, DuckDBInstance, listValue, structValue, type DuckDBAppender, type DuckDBListType, type DuckDBListValue, type DuckDBValue } from '@duckdb/node-api';
import { flattenBatch } from '../src/otlp/assemble.js';
import { stringAttribute, toHex, type KeyValue, type StoredSpan, type TraceSpans } from '../src/otlp/model.js';
import { anyValueToJson } from '../src/store/blocks/any-value-json.js';
import { decodeTracesData } from '../src/otlp/protobuf.js';
import { ChunkColumns } from '../src/store/blocks/block-columns.js';
import { COLUMNS } from '../src/store/blocks/schema.js';
import { buildParts, copyRowsToParquet, spansPerPart, writeTracesParquet, ZSTD_LEVEL, type ParquetWriteOptions } from '../src/store/blocks/writer.js';
import { DuckEngine, type RowSource } from '../src/store/engine/duckdb.js';
import { CHUNK_ROWS } from '../src/store/engine/vectors.js';
import { spread, type Spread } from './stats.js';
import { referenceRequests } from './workload-cache.js';

const GROUPS = ['writer', 'phases', 'levels', 'two-threads', 'appender', 'per-value'] as const;
/** Spans the per-value appender is measured on (it is slow). */
const PER_VALUE_SPANS = 20_000;
type Group = (typeof GROUPS)[number];
const LEVELS = [1, 3, 6, 9, 12];
const OPTS: ParquetWriteOptions = { rowGroupSpans: 8192 };

interface Args {
  spans: number;
  runs: number;
  only: Set<Group>;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { spans: 200_000, runs: 3, only: new Set(GROUPS) };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    if (argv[i] === '--spans') args.spans = Number(value);
    else if (argv[i] === '--runs') args.runs = Number(value);
    else if (argv[i] === '--only') args.only = new Set(value.split(',').map((g) => g as Group));
    else throw new Error(`unknown argument ${argv[i]}; usage: --spans N --runs N --only ${GROUPS.join(',')}`);
    i++;
  }
  return args;
}

const log = (m: string): void => void process.stderr.write(`${m}\n`);
/** Process CPU in µs, every thread (DuckDB's included). */
const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The reference workload as a head would hand it to the writer: sorted traces of decoded spans. */
function referenceTraces(spans: number): TraceSpans[] {
  const byTrace = new Map<string, StoredSpan[]>();
  for (const body of referenceRequests(spans, 'protobuf', log).bodies) {
    for (const s of flattenBatch(decodeTracesData(body))) {
      const id = toHex(s.span.traceId);
      const list = byTrace.get(id);
      if (list) list.push(s);
      else byTrace.set(id, [s]);
    }
  }
  return [...byTrace.keys()].sort().map((traceId) => ({ traceId, spans: byTrace.get(traceId)! }));
}

interface WriteFigure {
  cpuUsPerSpan: Spread;
  wallMs: Spread;
  bytesPerSpan: number;
}

/** A way of writing the workload: returns the part files it wrote (deleted here) and the spans written. */
interface Variant {
  name: string;
  write: () => Promise<{ paths: string[]; spans: number }>;
}

/**
 * Runs every variant `runs` times, taking turns (variant after variant in each
 * round), so that a change in the machine's load falls on all of them alike.
 */
async function measure(variants: readonly Variant[], runs: number): Promise<Record<string, WriteFigure>> {
  const samples = new Map(variants.map((v) => [v.name, { cpus: [] as number[], walls: [] as number[], bytesPerSpan: 0 }]));
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      const s = samples.get(v.name)!;
      const c0 = cpu();
      const w0 = performance.now();
      const { paths, spans } = await v.write();
      s.cpus.push((cpu() - c0) / spans);
      s.walls.push(performance.now() - w0);
      s.bytesPerSpan = paths.reduce((n, p) => n + statSync(p).size, 0) / spans;
      for (const p of paths) rmSync(p, { force: true });
    }
  }
  return Object.fromEntries(
    [...samples].map(([name, s]) => [name, { cpuUsPerSpan: spread(s.cpus), wallMs: spread(s.walls), bytesPerSpan: Number(s.bytesPerSpan.toFixed(2)) }]),
  );
}

async function writeWith(engine: DuckEngine, dir: string, traces: Iterable<TraceSpans>, opts = OPTS): Promise<{ paths: string[]; spans: number }> {
  const r = await writeTracesParquet(engine, dir, traces, opts);
  return { paths: r.paths, spans: r.spanCount };
}

/**
 * The writer's phases, by CPU: putting traces in block order (JS), building rows into
 * columns with the tag index (JS), copying the columns into DuckDB's vectors, and
 * DuckDB's COPY (Parquet encoding, zstd, the file and its fsync).
 */
async function phases(engine: DuckEngine, dir: string, traces: readonly TraceSpans[], runs: number): Promise<Record<string, Spread>> {
  const order: number[] = [];
  const build: number[] = [];
  const handoff: number[] = [];
  const encode: number[] = [];
  const total: number[] = [];
  const realWriteTo = ChunkColumns.prototype.writeTo;
  for (let r = 0; r < runs; r++) {
    let inFlush = 0;
    let inWrite = 0;
    let inWriteTo = 0;
    let part = 0;
    ChunkColumns.prototype.writeTo = function (this: ChunkColumns, vector) {
      const c0 = cpu();
      realWriteTo.call(this, vector);
      inWriteTo += cpu() - c0;
    };
    const c0 = cpu();
    const built = await buildParts(traces, spansPerPart(OPTS), async (rows) => {
      const f0 = cpu();
      const timed: RowSource = {
        columns: rows.columns,
        rowCount: rows.rowCount,
        write(vector, from, count) {
          const w0 = cpu();
          rows.write(vector, from, count);
          inWrite += cpu() - w0;
        },
      };
      const path = join(dir, `phases-${part++}.parquet`);
      await copyRowsToParquet(engine, timed, (from) => `SELECT * FROM ${from}`, path, OPTS);
      rmSync(path);
      inFlush += cpu() - f0;
    });
    const all = cpu() - c0;
    ChunkColumns.prototype.writeTo = realWriteTo;
    const n = built.spanCount;
    order.push((all - inFlush) / n);
    build.push((inWrite - inWriteTo) / n);
    handoff.push(inWriteTo / n);
    encode.push((inFlush - inWrite) / n);
    total.push(all / n);
  }
  return { orderJs: spread(order), buildJs: spread(build), copyIntoVectors: spread(handoff), duckdbCopy: spread(encode), total: spread(total) };
}

/**
 * The candidate that lost to the table function: the same columns appended as data
 * chunks (DuckDB's appender) into a temporary table, then COPY of the table.
 */
async function appender(dir: string, traces: readonly TraceSpans[], runs: number, threads: number): Promise<Record<string, Spread | number>> {
  const config = duckdb.create_config();
  duckdb.set_config(config, 'threads', String(threads));
  const db = await duckdb.open(':memory:', config);
  const connection = await duckdb.connect(db);
  const append: number[] = [];
  const copy: number[] = [];
  const total: number[] = [];
  let bytes = 0;
  try {
    for (let r = 0; r < runs; r++) {
      let inAppend = 0;
      let inCopy = 0;
      let part = 0;
      bytes = 0;
      const c0 = cpu();
      const built = await buildParts(traces, spansPerPart(OPTS), async (rows) => {
        const a0 = cpu();
        await duckdb.query(connection, `CREATE OR REPLACE TEMP TABLE part (${COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')})`);
        const app = duckdb.appender_create_ext(connection, 'temp', null, 'part');
        const types = COLUMNS.map((_c, i) => duckdb.appender_column_type(app, i));
        const chunk = duckdb.create_data_chunk(types);
        for (let from = 0; from < rows.rowCount; from += CHUNK_ROWS) {
          const count = Math.min(CHUNK_ROWS, rows.rowCount - from);
          duckdb.data_chunk_reset(chunk);
          duckdb.data_chunk_set_size(chunk, count);
          rows.write((i) => duckdb.data_chunk_get_vector(chunk, i), from, count);
          duckdb.append_data_chunk(app, chunk);
        }
        duckdb.appender_close_sync(app);
        const a1 = cpu();
        const path = join(dir, `appender-${part++}.parquet`);
        await duckdb.query(connection, `COPY part TO '${path}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE ${OPTS.rowGroupSpans})`);
        bytes += statSync(path).size;
        rmSync(path);
        inAppend += a1 - a0;
        inCopy += cpu() - a1;
      });
      const n = built.spanCount;
      total.push((cpu() - c0) / n);
      append.push(inAppend / n);
      copy.push(inCopy / n);
      bytes /= n;
    }
  } finally {
    duckdb.disconnect_sync(connection);
    duckdb.close_sync(db);
  }
  return { threads, appendWithJsBuild: spread(append), duckdbCopy: spread(copy), total: spread(total), bytesPerSpan: Number(bytes.toFixed(2)) };
}

/** An attribute list as the high-level API's values (the ATTR struct of the schema). */
function attrValues(attrs: readonly KeyValue[]): DuckDBListValue {
  return listValue(
    attrs.map((kv) => {
      const v = kv.value;
      const row: Record<string, DuckDBValue> = { key: kv.key, type: 0, str: null, int: null, dbl: null, bool: null };
      if (v.type === 'string') Object.assign(row, { type: 1, str: v.value });
      else if (v.type === 'bool') Object.assign(row, { type: 2, bool: v.value });
      else if (v.type === 'int') Object.assign(row, { type: 3, int: v.value });
      else if (v.type === 'double') Object.assign(row, { type: 4, dbl: v.value });
      else if (v.type === 'bytes') Object.assign(row, { type: 7, str: Buffer.from(v.value).toString('base64') });
      else if (v.type !== 'empty') Object.assign(row, { type: v.type === 'array' ? 5 : 6, str: anyValueToJson(v) });
      return structValue(row);
    }),
  );
}

/**
 * The candidate the brief expected to be slow: DuckDB's appender fed value by value
 * (appendList of JS value objects), on the first PER_VALUE_SPANS spans; the CPU of
 * the appends alone, per span.
 */
async function perValueAppender(traces: readonly TraceSpans[], runs: number): Promise<Record<string, Spread | number>> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const types = new ChunkColumns().columns.map((c) => c.type);
  const list = (column: number): DuckDBListType => types[column] as DuckDBListType;
  const spans = traces.flatMap((t) => t.spans.map((s) => ({ traceId: t.traceId, s }))).slice(0, PER_VALUE_SPANS);
  const append: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      await connection.run(`CREATE OR REPLACE TABLE part (${COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')})`);
      const a: DuckDBAppender = await connection.createAppender('part');
      const c0 = cpu();
      for (const { traceId, s } of spans) {
        const sp = s.span;
        a.appendVarchar(traceId);
        a.appendBlob(sp.spanId);
        a.appendBlob(sp.parentSpanId);
        a.appendInteger(0);
        a.appendInteger(0);
        a.appendInteger(0);
        a.appendUBigInt(sp.startTimeUnixNano);
        a.appendUBigInt(sp.endTimeUnixNano - sp.startTimeUnixNano);
        const service = stringAttribute(s.resource.attributes, 'service.name');
        if (service === undefined) a.appendNull();
        else a.appendVarchar(service);
        a.appendVarchar(sp.name);
        a.appendUTinyInt(sp.kind);
        a.appendUTinyInt(sp.status.code);
        a.appendVarchar(sp.status.message);
        a.appendVarchar(sp.traceState);
        a.appendUInteger(sp.flags);
        a.appendList(attrValues(sp.attributes), list(15));
        a.appendUInteger(sp.droppedAttributesCount);
        a.appendList(
          listValue(sp.events.map((e) => structValue({ time_unix_nano: e.timeUnixNano, name: e.name, attrs: attrValues(e.attributes), dropped_attributes_count: e.droppedAttributesCount }))),
          list(17),
        );
        a.appendUInteger(sp.droppedEventsCount);
        a.appendList(
          listValue(
            sp.links.map((l) =>
              structValue({
                trace_id: toHex(l.traceId),
                span_id: blobValue(l.spanId),
                trace_state: l.traceState,
                attrs: attrValues(l.attributes),
                dropped_attributes_count: l.droppedAttributesCount,
                flags: l.flags,
              }),
            ),
          ),
          list(19),
        );
        a.appendUInteger(sp.droppedLinksCount);
        a.appendList(attrValues(s.resource.attributes), list(21));
        a.appendUInteger(s.resource.droppedAttributesCount);
        a.appendVarchar(s.resourceSchemaUrl);
        a.appendVarchar(s.scope.name);
        a.appendVarchar(s.scope.version);
        a.appendList(attrValues(s.scope.attributes), list(26));
        a.appendUInteger(s.scope.droppedAttributesCount);
        a.appendVarchar(s.scopeSchemaUrl);
        a.endRow();
      }
      a.closeSync();
      append.push((cpu() - c0) / spans.length);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return { spans: spans.length, appendUsPerSpan: spread(append) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const traces = referenceTraces(args.spans);
  const spans = traces.reduce((n, t) => n + t.spans.length, 0);
  log(`${spans} spans in ${traces.length} traces`);
  const dir = mkdtempSync(join(tmpdir(), 'skein-block-write-'));
  // As the server runs it (storage.engine.threads defaults to 1).
  const engine = await DuckEngine.open({ threads: 1 });
  const out: Record<string, unknown> = { spans, traces: traces.length, runs: args.runs, rowGroupSpans: OPTS.rowGroupSpans };
  try {
    // A write first, so that every figure meets warm code.
    for (const p of (await writeWith(engine, dir, traces)).paths) rmSync(p);
    const variants: Variant[] = [];
    if (args.only.has('writer')) variants.push({ name: 'writer', write: () => writeWith(engine, dir, traces) });
    if (args.only.has('levels')) {
      for (const level of LEVELS.filter((l) => l !== ZSTD_LEVEL)) {
        variants.push({ name: `zstd${level}`, write: () => writeWith(engine, dir, traces, { ...OPTS, zstdLevel: level }) });
      }
    }
    let shared: DuckEngine | undefined;
    if (args.only.has('two-threads')) {
      shared = await DuckEngine.open({ threads: 2, writeThreads: 0 });
      variants.push({ name: 'twoThreads', write: () => writeWith(shared!, dir, traces) });
    }
    if (variants.length > 0) {
      log(`writes, ${args.runs} rounds of: ${variants.map((v) => v.name).join(', ')}`);
      try {
        out['writes'] = await measure(variants, args.runs);
      } finally {
        await shared?.close();
      }
    }
    if (args.only.has('phases')) {
      log('phases');
      out['phases'] = await phases(engine, dir, traces, args.runs);
    }
    if (args.only.has('appender')) {
      for (const threads of [1, 2]) {
        log(`appender + temporary table + COPY, ${threads} thread(s)`);
        (out['appender'] ??= []) as unknown[];
        (out['appender'] as unknown[]).push(await appender(dir, traces, args.runs, threads));
      }
    }
    if (args.only.has('per-value')) {
      log('appender fed value by value');
      out['perValueAppender'] = await perValueAppender(traces, args.runs);
    }
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
