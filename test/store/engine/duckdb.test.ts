// The engine wrapper: parameters of every kind, plain JS results, more queries
// than connections, the prepared-statement cache, and close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckEngine } from '../../../src/store/engine/duckdb.js';

test('binds every parameter kind and returns plain JS values', async () => {
  const e = await DuckEngine.open({ threads: 1, connections: 2 });
  try {
    const [row] = await e.all('SELECT $1 AS s, $2 AS i, $3 AS big, $4 AS d, $5 AS b, $6 AS n, $7 AS bytes, [1, 2] AS l, {a: 1} AS st', [
      "it's",
      42,
      -9223372036854775808n,
      0.5,
      true,
      null,
      new Uint8Array([0, 255]),
    ]);
    assert.equal(row!.s, "it's");
    assert.equal(row!.i, 42n);
    assert.equal(row!.big, -9223372036854775808n);
    assert.equal(row!.d, 0.5);
    assert.equal(row!.b, true);
    assert.equal(row!.n, null);
    assert.deepEqual([...(row!.bytes as Uint8Array)], [0, 255]);
    assert.deepEqual(row!.l, [1, 2]);
    assert.deepEqual(row!.st, { a: 1 });
  } finally {
    await e.close();
  }
});

test('queues queries beyond the pool, and the statement cache evicts without breaking', async () => {
  const e = await DuckEngine.open({ threads: 1, connections: 2, statementCacheSize: 3 });
  try {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => e.all<{ v: bigint }>(`SELECT $1 + ${i % 7} AS v`, [i])));
    results.forEach((rows, i) => assert.equal(rows[0]!.v, BigInt(i + (i % 7))));
    await e.run('CREATE TABLE t (x INTEGER)');
    await e.run('INSERT INTO t VALUES ($1), ($2)', [1, 2]);
    assert.deepEqual(await e.all('SELECT sum(x)::INTEGER AS s FROM t'), [{ s: 3 }]);
    await assert.rejects(e.all('SELECT * FROM no_such_table'), /no_such_table/);
  } finally {
    await e.close();
  }
  await assert.rejects(e.all('SELECT 1'), /closed/);
});
