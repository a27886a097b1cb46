// Nested set numbers, checked against the trees Tempo's own tests use, and as
// they land in a written block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { toHex } from '../../src/otlp/model.js';
import { computeNestedSets, type TreeSpan } from '../../src/otlp/nested-set.js';
import { BASE_NS, basicSpan, openHarness, stored } from '../store/blocks/fixtures.js';

const id = (c: string): string => Buffer.from(c.repeat(8)).toString('hex');
const span = (s: string, parent = ''): TreeSpan => ({ spanId: id(s), parentSpanId: parent === '' ? '' : id(parent) });
const numbers = (spans: TreeSpan[]): Array<[number, number, number]> => computeNestedSets(spans).map((n) => [n.left, n.right, n.parent]);

test('a single span', () => {
  assert.deepEqual(numbers([span('a')]), [[1, 2, -1]]);
});

test('a linear trace, children listed before their parents', () => {
  assert.deepEqual(numbers([span('a'), span('c', 'b'), span('b', 'a')]), [
    [1, 6, -1],
    [3, 4, 2],
    [2, 5, 1],
  ]);
});

test('a branched trace: siblings are numbered in the order given', () => {
  assert.deepEqual(numbers([span('a'), span('b', 'a'), span('c', 'b'), span('d', 'b'), span('e', 'd'), span('f', 'd')]), [
    [1, 12, -1],
    [2, 11, 1],
    [3, 4, 2],
    [5, 10, 2],
    [6, 7, 5],
    [8, 9, 5],
  ]);
});

test('several roots are numbered one after the other', () => {
  const spans = [span('a'), span('b', 'a'), span('c', 'b'), span('d', 'b'), span('e', 'd'), span('f', 'd'), span('g'), span('i', 'h'), span('h', 'g')];
  assert.deepEqual(numbers(spans), [
    [1, 12, -1],
    [2, 11, 1],
    [3, 4, 2],
    [5, 10, 2],
    [6, 7, 5],
    [8, 9, 5],
    [13, 18, -1],
    [15, 16, 14],
    [14, 17, 13],
  ]);
});

test('orphans (parent missing) and their descendants stay 0, 0, 0', () => {
  const spans = [span('a'), span('b', 'a'), span('c', 'b'), span('d', 'b'), span('e', 'x'), span('f', 'e')];
  assert.deepEqual(numbers(spans), [
    [1, 8, -1],
    [2, 7, 1],
    [3, 4, 2],
    [5, 6, 2],
    [0, 0, 0],
    [0, 0, 0],
  ]);
});

test('no root at all, a self-parent and a parent cycle: nothing is numbered and nothing loops', () => {
  assert.deepEqual(numbers([span('c', 'b'), span('b', 'a')]), [
    [0, 0, 0],
    [0, 0, 0],
  ]);
  assert.deepEqual(numbers([span('a', 'a'), span('b', 'c'), span('c', 'b')]), [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ]);
});

test('an all-zero parent span ID marks a root', () => {
  assert.deepEqual(numbers([{ spanId: id('a'), parentSpanId: '0000000000000000' }, span('b', 'a')]), [
    [1, 4, -1],
    [2, 3, 1],
  ]);
});

test('a written block holds the numbers, siblings ordered by start time', async () => {
  const h = await openHarness();
  try {
    const traceId = randomBytes(16);
    const root = basicSpan(traceId, { name: 'root', start: BASE_NS });
    const late = basicSpan(traceId, { name: 'late', parent: root.spanId, start: BASE_NS + 300n });
    const early = basicSpan(traceId, { name: 'early', parent: root.spanId, start: BASE_NS + 100n });
    const grandchild = basicSpan(traceId, { name: 'grandchild', parent: late.spanId, start: BASE_NS + 400n });
    const orphan = basicSpan(traceId, { name: 'orphan', parent: randomBytes(8), start: BASE_NS + 50n });
    const second = basicSpan(traceId, { name: 'second-root', start: BASE_NS + 500n });
    const meta = await h.store.writeBlock('t', [{ traceId: toHex(traceId), spans: [grandchild, late, orphan, second, root, early].map((s) => stored(s)) }]);
    const rows = await h.engine.all(
      `SELECT name, nested_set_left AS l, nested_set_right AS r, nested_set_parent AS p FROM read_parquet('${join(h.dir, 't', meta.blockId, 'data-*.parquet')}')`,
    );
    assert.deepEqual(rows, [
      { name: 'root', l: 1, r: 8, p: -1 },
      { name: 'orphan', l: 0, r: 0, p: 0 },
      { name: 'early', l: 2, r: 3, p: 1 },
      { name: 'late', l: 4, r: 7, p: 1 },
      { name: 'grandchild', l: 5, r: 6, p: 4 },
      { name: 'second-root', l: 9, r: 10, p: -1 },
    ]);
  } finally {
    await h.dispose();
  }
});
