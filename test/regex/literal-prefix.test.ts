import { test } from 'node:test';
import assert from 'node:assert/strict';
import { literalPrefix } from '../../src/regex/literal-prefix.js';
import { compileRe2 } from '../../src/regex/re2.js';

test('the literal run a full match must start with, and when it is the whole pattern', () => {
  const cases: Array<[string, string, boolean]> = [
    ['pay.*', 'pay', false],
    ['payments', 'payments', true],
    ['GET /api/.+', 'GET /api/', false],
    ['colou?r', 'colo', false],
    ['ab*c', 'a', false],
    ['ab+c', 'ab', false],
    ['ab{2}', 'a', false],
    ['pay(ment)?s', 'pay', false],
    ['(?i)pay.*', '', false],
    ['a|b', '', false],
    ['pay\\.ment', 'pay', false],
    ['[a-z]+', '', false],
    ['^x', '', false],
    ['', '', true],
  ];
  for (const [pattern, prefix, whole] of cases) assert.deepEqual(literalPrefix(pattern), { prefix, whole }, pattern);
});

test('every text a pattern fully matches starts with its literal prefix', () => {
  const texts = ['pay', 'payments', 'colr', 'color', 'colour', 'ac', 'abbc', 'abb', 'pays', 'paymentss', 'GET /api/x', 'x'];
  for (const pattern of ['pay.*', 'colou?r', 'ab*c', 'ab{2}', 'pay(ment)?s', 'GET /api/.+']) {
    const re = compileRe2(pattern);
    const { prefix } = literalPrefix(pattern);
    for (const t of texts) if (re.testWhole(t)) assert.ok(t.startsWith(prefix), `${pattern} matches ${t}`);
  }
});
