// Skein's own narrow interface over the embedded analytical engine (ARCHITECTURE
// decision 4), so the engine can be swapped without touching its callers: SQL in,
// plain JS row objects out. One in-memory DuckDB instance, a few connections.
//
// DuckDB runs each query on libuv's thread pool (which also serves file I/O such as
// WAL fsyncs, 4 threads unless UV_THREADPOOL_SIZE says otherwise), so the pool is
// kept smaller than that: a burst of queries must not starve the WAL. User queries
// (search, TraceQL metrics, tags) run on a lane of their own, `queryConnections` at a
// time, so however many of them run, block writes and the WAL keep threads; a query
// may rest the lane after each statement (QueryContext.afterStatement).
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { BIGINT, DuckDBConnection, DuckDBInstance, DuckDBTableFunction, type DuckDBPreparedStatement, type DuckDBType } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { CHUNK_ROWS, type Vector } from './vectors.js';

/** Values a query can bind to `$1, $2, …` (strings as VARCHAR, integers as BIGINT, bytes as BLOB). */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

/**
 * One result row by column name. Values are plain JS: VARCHAR → string, BLOB →
 * Uint8Array, BIGINT/UBIGINT/HUGEINT → bigint, smaller integers and DOUBLE → number,
 * BOOLEAN → boolean, LIST → array, STRUCT → object, NULL → null.
 */
export type Row = Record<string, unknown>;

/** The user query (search, metrics, tags) a statement is part of: it runs on the query lane and is interrupted when `signal` aborts. */
export interface QueryContext {
  readonly signal: AbortSignal | undefined;
  /** Awaited after each statement (of `ms` milliseconds) before the lane passes on: lets the query rest its lane while other work is busy. */
  afterStatement?(ms: number): Promise<void>;
}

export interface DuckEngineOptions {
  /** DuckDB worker threads (default: available CPUs). */
  threads?: number;
  /** Memory DuckDB may use before it spills to tempDirectory (default: a quarter of RAM, 512 MiB to 4 GiB). */
  memoryLimitBytes?: number;
  /** Connections, i.e. queries that can run at once (default 3). */
  connections?: number;
  /** Of those, how many user queries (a QueryContext given) may hold at once (default 1). */
  queryConnections?: number;
  /** Where DuckDB spills large sorts and joins (default: a fresh directory under the OS temp dir). */
  tempDirectory?: string;
  /** Prepared statements kept per connection for parameterised SQL (default 256). */
  statementCacheSize?: number;
  /**
   * DuckDB threads for `write` statements (block writes and compaction), default 1.
   * When the engine runs with another number of threads, they run on an instance of
   * their own with this many; 0 runs them on the engine's. A block write is one COPY
   * of rows produced in order: a second thread finds little to do but wait, and one
   * waiting on the JS thread for the next chunk of rows kept another spinning
   * (measured: twice the CPU per block write with 2 threads, docs/block-format.md).
   */
  writeThreads?: number;
}

/** Rows made in JS for statements to read as a table: see DuckEngine.rows. */
export interface RowSource {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: DuckDBType }>;
  readonly rowCount: number;
  /**
   * Writes rows [from, from + count) into the vectors of a data chunk (`vector(i)` is
   * column i's; count ≤ CHUNK_ROWS), typically through the builders of vectors.ts.
   * Called for each chunk in turn, synchronously, on the JS thread.
   */
  write(vector: (column: number) => Vector, from: number, count: number): void;
}

const GiB = 1024 ** 3;
/** The table function reading a RowSource, registered on every connection. */
const ROWS_FUNCTION = 'skein_rows';

interface PooledConnection {
  connection: DuckDBConnection;
  /** Parameterised SQL → its prepared statement, least recently used first. */
  statements: Map<string, DuckDBPreparedStatement>;
  /** Where `write` statements run: a connection to the write instance, or `connection` itself. */
  writer: DuckDBConnection;
}

export class DuckEngine {
  private readonly idle: PooledConnection[];
  private readonly waiting: Array<(c: PooledConnection) => void> = [];
  /** User queries running, and those waiting for the query lane. */
  private queryRunning = 0;
  private readonly queryWaiting: Array<() => void> = [];
  private closed = false;
  private nextRowsId = 1;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writeInstance: DuckDBInstance | undefined,
    private readonly pool: PooledConnection[],
    private readonly statementCacheSize: number,
    private readonly ownedTempDirectory: string | undefined,
    private readonly queryConnections: number,
    private readonly rowSources: Map<number, RowSource>,
  ) {
    this.idle = [...pool];
  }

  static async open(opts: DuckEngineOptions = {}): Promise<DuckEngine> {
    const threads = opts.threads ?? availableParallelism();
    const memoryLimit = opts.memoryLimitBytes ?? Math.min(4 * GiB, Math.max(GiB / 2, Math.floor(totalmem() / 4)));
    const ownedTempDirectory = opts.tempDirectory === undefined ? join(tmpdir(), `skein-duckdb-${process.pid}-${Date.now().toString(36)}`) : undefined;
    const tempDirectory = opts.tempDirectory ?? ownedTempDirectory!;
    await mkdir(tempDirectory, { recursive: true });
    const create = (threads: number, tempDirectory: string): Promise<DuckDBInstance> =>
      DuckDBInstance.create(':memory:', {
        threads: String(threads),
        memory_limit: `${Math.floor(memoryLimit / (1024 * 1024))}MiB`,
        temp_directory: tempDirectory,
        // Never reach for the network to fetch an extension in the middle of a query.
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        // DuckDB's allocator (jemalloc) keeps freed pages for reuse and, by default, only
        // hands them back to the OS after a task that peaked over 128 MiB, or when later
        // allocations get round to it. A server writes a block now and then and is idle
        // in between: with a background purging thread and a lower flush threshold the
        // memory of a block write or a compaction leaves RSS once it is done (measured at
        // 1M spans stored: ~100 MiB less RSS after a flush).
        allocator_background_threads: 'true',
        allocator_flush_threshold: '16MiB',
      });
    const instance = await create(threads, tempDirectory);
    const writeThreads = opts.writeThreads ?? 1;
    // Its own spill directory: two instances must not share temporary file names.
    let writeInstance: DuckDBInstance | undefined;
    if (writeThreads > 0 && writeThreads !== threads) {
      await mkdir(join(tempDirectory, 'writes'), { recursive: true });
      writeInstance = await create(writeThreads, join(tempDirectory, 'writes'));
    }
    const pool: PooledConnection[] = [];
    const rowSources = new Map<number, RowSource>();
    // Each pooled connection has its writer, so `write` statements count against the same
    // pool (and libuv threads) as every other statement.
    for (let i = 0; i < (opts.connections ?? 3); i++) {
      const connection = await instance.connect();
      connection.registerTableFunction(rowsFunction(rowSources));
      let writer = connection;
      if (writeInstance !== undefined) {
        writer = await writeInstance.connect();
        writer.registerTableFunction(rowsFunction(rowSources));
      }
      pool.push({ connection, statements: new Map(), writer });
    }
    // Parquet footers are parsed once per file, not once per query: trace-by-ID
    // opens the same few blocks over and over.
    await pool[0]!.connection.run('SET GLOBAL parquet_metadata_cache = true');
    return new DuckEngine(instance, writeInstance, pool, opts.statementCacheSize ?? 256, ownedTempDirectory, Math.max(1, opts.queryConnections ?? 1), rowSources);
  }

  /**
   * Makes `source` readable, until `release()`, as the FROM item `from` in the SQL of
   * any statement (`COPY (SELECT * FROM <from>) TO …`). DuckDB pulls the rows chunk by
   * chunk, in order, from a table function whose callbacks run on the JS thread: the
   * source writes each chunk's vectors when DuckDB asks for it, so nothing is staged.
   */
  rows(source: RowSource): { from: string; release(): void } {
    const id = this.nextRowsId++;
    this.rowSources.set(id, source);
    return { from: `${ROWS_FUNCTION}(${id})`, release: () => this.rowSources.delete(id) };
  }

  /**
   * Runs a statement that writes files (COPY … TO): block writes and compactions,
   * which read nothing but files and `rows()`, so they may run on the write instance
   * (see DuckEngineOptions.writeThreads).
   */
  async write(sql: string): Promise<void> {
    await this.withConnection((c) => c.writer.run(sql));
  }

  /** Runs a statement for its effect (DDL, COPY, SET …). */
  async run(sql: string, params?: readonly SqlValue[]): Promise<void> {
    await this.withConnection(async (c) => {
      if (params === undefined || params.length === 0) await c.connection.run(sql);
      else await (await this.prepared(c, sql, params)).run();
    });
  }

  /**
   * Runs a query and returns every row. Parameterised SQL is prepared once per
   * connection and cached, so a hot query with `$1` placeholders skips parsing and
   * planning the next time. Part of a user `query`, it waits for the query lane and is
   * interrupted when the query's signal aborts.
   */
  async all<T extends Row = Row>(sql: string, params?: readonly SqlValue[], query?: QueryContext): Promise<T[]> {
    if (query === undefined) return this.read<T>(sql, params, undefined);
    query.signal?.throwIfAborted();
    if (this.queryRunning >= this.queryConnections) await new Promise<void>((resolve) => this.queryWaiting.push(resolve));
    else this.queryRunning++;
    try {
      const started = performance.now();
      const rows = await this.read<T>(sql, params, query.signal);
      await query.afterStatement?.(performance.now() - started);
      return rows;
    } finally {
      // The lane passes straight to the next query waiting, or frees up.
      const next = this.queryWaiting.shift();
      if (next) next();
      else this.queryRunning--;
    }
  }

  private read<T extends Row>(sql: string, params: readonly SqlValue[] | undefined, signal: AbortSignal | undefined): Promise<T[]> {
    return this.withConnection(async (c) => {
      // A query past its deadline (query.timeout) stops where DuckDB next checks, and rejects.
      const interrupt = () => c.connection.interrupt();
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        signal?.throwIfAborted();
        const reader =
          params === undefined || params.length === 0 ? await c.connection.runAndReadAll(sql) : await (await this.prepared(c, sql, params)).runAndReadAll();
        return reader.getRowObjectsJS() as T[];
      } finally {
        signal?.removeEventListener('abort', interrupt);
      }
    });
  }

  /**
   * This engine, with the SQL of each statement given to `rewrite` first (and awaited):
   * for readers whose SQL names files that must be made ready before DuckDB opens them
   * (block parts in a bucket, fetched into a local cache). It shares this engine's
   * connections and lanes, and closing it closes nothing: this engine's owner does.
   */
  rewriting(rewrite: (sql: string) => Promise<string>): DuckEngine {
    const base = this;
    const view = Object.create(base) as DuckEngine;
    view.run = async (sql, params) => base.run(await rewrite(sql), params);
    view.all = async <T extends Row = Row>(sql: string, params?: readonly SqlValue[], query?: QueryContext): Promise<T[]> =>
      base.all<T>(await rewrite(sql), params, query);
    view.write = async (sql) => base.write(await rewrite(sql));
    view.rows = (source) => base.rows(source);
    view.close = async () => undefined;
    return view;
  }

  /** Waits for running queries, then releases DuckDB and its spill directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Taking every connection waits for the queries that hold one.
    const all = await Promise.all(this.pool.map(() => this.acquire(true)));
    for (const c of all) {
      for (const s of c.statements.values()) s.destroySync();
      c.statements.clear();
      if (c.writer !== c.connection) c.writer.closeSync();
      c.connection.closeSync();
    }
    this.writeInstance?.closeSync();
    this.instance.closeSync();
    if (this.ownedTempDirectory !== undefined) await rm(this.ownedTempDirectory, { recursive: true, force: true });
  }

  private async withConnection<T>(fn: (c: PooledConnection) => Promise<T>): Promise<T> {
    const c = await this.acquire(false);
    try {
      return await fn(c);
    } finally {
      this.release(c);
    }
  }

  private acquire(closing: boolean): Promise<PooledConnection> {
    if (this.closed && !closing) return Promise.reject(new Error('the query engine is closed'));
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(c: PooledConnection): void {
    const next = this.waiting.shift();
    if (next) next(c);
    else this.idle.push(c);
  }

  private async prepared(c: PooledConnection, sql: string, params: readonly SqlValue[]): Promise<DuckDBPreparedStatement> {
    let stmt = c.statements.get(sql);
    if (stmt) {
      c.statements.delete(sql);
    } else {
      stmt = await c.connection.prepare(sql);
      if (c.statements.size >= this.statementCacheSize) {
        const [oldestSql, oldest] = c.statements.entries().next().value!;
        oldest.destroySync();
        c.statements.delete(oldestSql);
      }
    }
    c.statements.set(sql, stmt);
    bindAll(stmt, params);
    return stmt;
  }
}

/** The table function behind DuckEngine.rows: `skein_rows(id)` reads the RowSource registered as id. */
function rowsFunction(sources: ReadonlyMap<number, RowSource>): DuckDBTableFunction {
  return DuckDBTableFunction.create({
    name: ROWS_FUNCTION,
    parameterTypes: [BIGINT],
    bindFunction: (info) => {
      const id = Number(info.getParameter(0));
      const source = sources.get(id);
      if (source === undefined) {
        info.setError(`${ROWS_FUNCTION}(${id}): no such rows (released, or never registered)`);
        return;
      }
      for (const c of source.columns) info.addResultColumn(c.name, c.type);
      info.setCardinality(source.rowCount, true);
      info.setBindData({ source });
    },
    initFunction: (info) => info.setInitData({ next: 0 }),
    mainFunction: (info, output) => {
      try {
        const { source } = info.bindData as { source: RowSource };
        const state = info.initData as { next: number };
        const count = Math.min(CHUNK_ROWS, source.rowCount - state.next);
        // A chunk of no rows ends the scan.
        duckdb.data_chunk_set_size(output.chunk, count);
        if (count === 0) return;
        source.write((i) => duckdb.data_chunk_get_vector(output.chunk, i), state.next, count);
        state.next += count;
      } catch (err) {
        info.setError(err instanceof Error ? err.message : String(err));
      }
    },
  });
}

function bindAll(stmt: DuckDBPreparedStatement, params: readonly SqlValue[]): void {
  stmt.clearBindings();
  params.forEach((value, i) => {
    const index = i + 1;
    if (value === null) stmt.bindNull(index);
    else if (typeof value === 'string') stmt.bindVarchar(index, value);
    else if (typeof value === 'boolean') stmt.bindBoolean(index, value);
    else if (typeof value === 'bigint') {
      if (value >= -(2n ** 63n) && value < 2n ** 63n) stmt.bindBigInt(index, value);
      else stmt.bindHugeInt(index, value);
    } else if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) stmt.bindBigInt(index, BigInt(value));
      else stmt.bindDouble(index, value);
    } else stmt.bindBlob(index, value);
  });
}
