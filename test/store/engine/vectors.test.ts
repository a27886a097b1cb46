// Columns built in JS in DuckDB's vector layout, read back by DuckDB through
// DuckEngine.rows: every builder, NULLs, strings around the 12 bytes DuckDB keeps
// inline, shared LIST ranges, nested lists, several chunks, and the write instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckEngine, type RowSource } from '../../../src/store/engine/duckdb.js';
import { BigIntColumn, CHUNK_ROWS, ListColumn, NumberColumn, StringColumn, StructColumn, type ColumnData } from '../../../src/store/engine/vectors.js';

interface Expected {
  s: string | null;
  b: Uint8Array;
  i: bigint | null;
  u: bigint;
  d: number;
  n: number;
  flag: boolean;
  l: Array<{ k: string; v: bigint | null }>;
  ll: string[][];
}

/** A source of `count` rows of every column kind, and the rows DuckDB must return. */
function source(count: number): { rows: RowSource; expected: Expected[] } {
  const s = new StringColumn(false, true);
  const b = new StringColumn(true);
  const i = new BigIntColumn(false, true);
  const u = new BigIntColumn(true);
  const d = new NumberColumn('f64');
  const n = new NumberColumn('i32');
  const flag = new NumberColumn('bool');
  const k = new StringColumn(false);
  const v = new BigIntColumn(false, true);
  const l = new ListColumn(new StructColumn([['k', k], ['v', v]]));
  const inner = new StringColumn(false);
  const innerList = new ListColumn(inner);
  const ll = new ListColumn(innerList);
  const columns: Array<[string, ColumnData]> = [['s', s], ['b', b], ['i', i], ['u', u], ['d', d], ['n', n], ['flag', flag], ['l', l], ['ll', ll]];
  const expected: Expected[] = [];
  // One shared list range per chunk, as block rows share a resource's attributes.
  let shared = { chunk: -1, offset: 0 };
  for (let r = 0; r < count; r++) {
    const len = r % 40;
    const text = r % 11 === 0 ? null : r % 3 === 0 ? 'é✓'.repeat(len % 9) : 'x'.repeat(len) + String(r);
    if (text === null) s.pushNull();
    else s.push(text);
    const bytes = new Uint8Array(r % 20).map((_, j) => (r + j) & 0xff);
    if (r % 4 === 0 && bytes.length === 8) {
      const w = new DataView(bytes.buffer);
      b.pushWords8(w.getInt32(0, true), w.getInt32(4, true));
    } else b.pushBytes(bytes);
    const big = r % 5 === 0 ? null : BigInt(r) * (r % 2 ? -1n : 1n) * 922_337_203_685_477n;
    if (big === null) i.pushNull();
    else i.push(big);
    const unsigned = 18_000_000_000_000_000_000n + BigInt(r);
    if (r % 2) u.push(unsigned);
    else u.pushWords(Number(unsigned & 0xffffffffn) | 0, Number(unsigned >> 32n) | 0);
    const dbl = r % 7 === 0 ? Number.NaN : r / 3;
    d.push(dbl);
    n.push(-r);
    flag.push(r % 2);
    let list: Expected['l'];
    const chunk = Math.floor(r / CHUNK_ROWS);
    if (r % 3 === 1) {
      if (shared.chunk !== chunk) {
        shared = { chunk, offset: k.length };
        k.push('shared.key.longer.than.twelve');
        v.push(-1n);
        k.push('s');
        v.pushNull();
      }
      l.push(shared.offset, 2);
      list = [{ k: 'shared.key.longer.than.twelve', v: -1n }, { k: 's', v: null }];
    } else {
      const start = k.length;
      list = [];
      for (let e = 0; e < r % 4; e++) {
        k.push(`key-${e}-${'y'.repeat(r % 15)}`);
        if (e === 1) v.pushNull();
        else v.push(BigInt(e));
        list.push({ k: `key-${e}-${'y'.repeat(r % 15)}`, v: e === 1 ? null : BigInt(e) });
      }
      l.push(start, list.length);
    }
    const outer = ll.child.length;
    const nested: string[][] = [];
    for (let o = 0; o < r % 3; o++) {
      const at = inner.length;
      const strings = Array.from({ length: o + 1 }, (_, j) => `inner ${r} ${o} ${j} ✓`);
      for (const x of strings) inner.push(x);
      innerList.push(at, strings.length);
      nested.push(strings);
    }
    ll.push(outer, nested.length);
    expected.push({ s: text, b: bytes, i: big, u: unsigned, d: dbl, n: -r | 0, flag: r % 2 === 1, l: list, ll: nested });
  }
  return {
    rows: {
      columns: columns.map(([name, c]) => ({ name, type: c.type })),
      rowCount: count,
      write: (vector, from, rowCount) => columns.forEach(([, c], col) => c.writeTo(vector(col), from, rowCount)),
    },
    expected,
  };
}

test('columns built in JS read back exactly: NULLs, inline and long strings, bytes, 64-bit values, shared and nested lists, over several chunks', async () => {
  const engine = await DuckEngine.open({ threads: 1, connections: 2 });
  try {
    const { rows, expected } = source(CHUNK_ROWS * 2 + 77);
    const handle = engine.rows(rows);
    const got = await engine.all(`SELECT * FROM ${handle.from}`);
    handle.release();
    assert.equal(got.length, expected.length);
    got.forEach((row, r) => {
      const e = expected[r]!;
      assert.equal(row['s'], e.s, `s of row ${r}`);
      assert.deepEqual([...(row['b'] as Uint8Array)], [...e.b], `b of row ${r}`);
      assert.equal(row['i'], e.i);
      assert.equal(row['u'], e.u);
      assert.ok(Object.is(row['d'], e.d) || (Number.isNaN(row['d']) && Number.isNaN(e.d)));
      assert.equal(row['n'], e.n);
      assert.equal(row['flag'], e.flag);
      assert.deepEqual(row['l'], e.l, `l of row ${r}`);
      assert.deepEqual(row['ll'], e.ll, `ll of row ${r}`);
    });
    // Released rows are gone.
    await assert.rejects(engine.all(`SELECT * FROM ${handle.from}`), /no such rows/);
  } finally {
    await engine.close();
  }
});

test('write() runs COPY on the write instance, or on the main one with writeThreads 0; an error while rows are built fails the statement', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skein-vectors-test-'));
  try {
    for (const writeThreads of [1, 0]) {
      const engine = await DuckEngine.open({ threads: 2, connections: 1, writeThreads });
      try {
        const { rows, expected } = source(3000);
        const handle = engine.rows(rows);
        const path = join(dir, `rows-${writeThreads}.parquet`);
        await engine.write(`COPY (SELECT * FROM ${handle.from}) TO '${path}' (FORMAT parquet)`);
        handle.release();
        const [count] = await engine.all<{ n: bigint; nulls: bigint }>(`SELECT count(*) AS n, count(*) FILTER (s IS NULL) AS nulls FROM read_parquet('${path}')`);
        assert.equal(count!.n, BigInt(expected.length));
        assert.equal(count!.nulls, BigInt(expected.filter((e) => e.s === null).length));

        const failing = engine.rows({
          columns: rows.columns,
          rowCount: 10,
          write: () => {
            throw new Error('kind 300 cannot be cast to UTINYINT');
          },
        });
        await assert.rejects(engine.write(`COPY (SELECT * FROM ${failing.from}) TO '${join(dir, 'never.parquet')}' (FORMAT parquet)`), /cannot be cast/);
        failing.release();
      } finally {
        await engine.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
