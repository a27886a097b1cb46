// TagIndex on its own: the limits that make it give up (and say so rather than
// answer wrongly), tags.json round trips, merging, and the probes q narrowing uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyValue, KeyValue } from '../../../src/otlp/model.js';
import { TagIndex, DEFAULT_TAG_INDEX_LIMITS } from '../../../src/store/blocks/tag-index.js';

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const str = (value: string): AnyValue => ({ type: 'string', value });

test('a name over the value count or bytes limit becomes high-cardinality; other names keep their values', () => {
  const index = new TagIndex({ ...DEFAULT_TAG_INDEX_LIMITS, valuesPerName: 3, valueBytesPerName: 10 });
  index.addAttributes('span', [kv('a', str('1')), kv('a', str('2')), kv('a', str('3')), kv('b', str('x'))]);
  assert.deepEqual(index.values('span', 'a')?.map((v) => v.value), ['1', '2', '3']);
  index.addAttributes('span', [kv('a', str('4')), kv('c', str('0123456789x'))]);
  assert.equal(index.values('span', 'a'), undefined);
  assert.equal(index.values('span', 'c'), undefined);
  assert.deepEqual(index.values('span', 'b'), [{ type: 'string', value: 'x' }]);
  assert.deepEqual(index.names('span')?.sort(), ['a', 'b', 'c']);
  // Unsure means "may": a high-cardinality name never rules a block out.
  assert.equal(index.mayHave('span', 'a', { type: 'string', value: 'never seen' }), true);
  assert.equal(index.mayHave('span', 'b', { type: 'string', value: 'y' }), false);
  assert.equal(index.mayHave('span', 'zzz'), false);
});

test('a scope over the names limit answers neither its names nor values of names it lacks', () => {
  const index = new TagIndex({ ...DEFAULT_TAG_INDEX_LIMITS, namesPerScope: 2 });
  index.addAttributes('resource', [kv('a', str('1')), kv('b', str('2')), kv('c', str('3'))]);
  assert.equal(index.names('resource'), undefined);
  assert.equal(index.values('resource', 'c'), undefined);
  assert.deepEqual(index.values('resource', 'a'), [{ type: 'string', value: '1' }]);
  assert.equal(index.mayHave('resource', 'c'), true);
  assert.deepEqual(index.names('span'), []);
  assert.deepEqual(index.values('span', 'c'), []);
});

test('tags.json round trips every value type exactly, and merging is the union', () => {
  const a = new TagIndex();
  a.addAttributes('span', [
    kv('i', { type: 'int', value: 9007199254740993n }),
    kv('f', { type: 'double', value: Number.NaN }),
    kv('f', { type: 'double', value: 0.1 }),
    kv('b', { type: 'bool', value: false }),
    kv('s', str('')),
    kv('arr', { type: 'array', value: [] }),
  ]);
  const back = TagIndex.parse(a.serialize());
  assert.deepEqual(back.serialize(), a.serialize());
  assert.deepEqual(back.values('span', 'i'), [{ type: 'int', value: '9007199254740993' }]);
  assert.deepEqual(back.values('span', 'f')?.map((v) => v.value).sort(), ['0.1', 'NaN']);
  assert.deepEqual(back.values('span', 's'), [{ type: 'string', value: '' }]);
  assert.deepEqual(back.values('span', 'arr'), []);
  assert.equal(back.mayHave('span', 'i', { type: 'number', value: 9007199254740993 }), true);
  assert.equal(back.mayHave('span', 'b', { type: 'bool', value: true }), false);

  const b = new TagIndex();
  b.addAttributes('span', [kv('b', { type: 'bool', value: true }), kv('new', str('n'))]);
  back.merge(b);
  assert.deepEqual(back.values('span', 'b')?.map((v) => v.value), ['false', 'true']);
  assert.deepEqual(back.names('span')?.sort(), ['arr', 'b', 'f', 'i', 'new', 's']);
  assert.throws(() => TagIndex.parse(Buffer.from('{"format":"other"}')), /tags\.json: unsupported format "other"/);
});

test('a name holding arrays never rules a block out for an equality (their elements are compared); the mark survives tags.json and merging', () => {
  const a = new TagIndex();
  a.addAttributes('span', [kv('tags', { type: 'array', value: [str('x'), str('y')] }), kv('s', str('x'))]);
  assert.deepEqual(a.values('span', 'tags'), []);
  assert.equal(a.mayHave('span', 'tags', { type: 'string', value: 'x' }), true);
  assert.equal(a.mayHave('span', 's', { type: 'string', value: 'y' }), false);
  const back = TagIndex.parse(a.serialize());
  assert.equal(back.mayHave('span', 'tags', { type: 'string', value: 'anything' }), true);
  const merged = new TagIndex();
  merged.addAttributes('span', [kv('tags', str('z'))]);
  assert.equal(merged.mayHave('span', 'tags', { type: 'string', value: 'x' }), false);
  merged.merge(back);
  assert.equal(merged.mayHave('span', 'tags', { type: 'string', value: 'x' }), true);
  assert.deepEqual(merged.values('span', 'tags'), [{ type: 'string', value: 'z' }]);
});
