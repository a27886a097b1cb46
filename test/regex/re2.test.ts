// The RE2 engine every user-supplied pattern runs on: Go's syntax (flags, named groups,
// \A \z, POSIX classes, \Q…\E), whole-text and anywhere matching, replacement, linear
// time on the patterns that make a backtracking engine run for ever, and errors that
// say what is wrong, with a hint for what JavaScript accepts and RE2 does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRe2, re2Problem, Re2SyntaxError } from '../../src/regex/re2.js';

test("Go's syntax: flags, named groups, \\A and \\z, POSIX classes, \\Q…\\E, ungreedy", () => {
  assert.ok(compileRe2('(?i)secret').test('a SECRET here'));
  assert.ok(compileRe2('(?s)a.b').test('a\nb'));
  assert.ok(!compileRe2('a.b').test('a\nb'));
  assert.ok(compileRe2('(?m)^b$').test('a\nb\nc'));
  assert.ok(compileRe2('(?P<id>[0-9]+)').testWhole('42'));
  assert.ok(compileRe2('(?<id>[0-9]+)').testWhole('42'));
  assert.ok(compileRe2('\\Aabc\\z').test('abc'));
  assert.ok(!compileRe2('\\Aabc\\z').test('xabc'));
  assert.ok(!compileRe2('(?m)abc\\z').test('abc\nx'));
  assert.ok(compileRe2('a\\\\z').test('a\\z'), 'an escaped backslash before z is a backslash and a z');
  assert.ok(compileRe2('[[:digit:]]+').testWhole('123'));
  assert.ok(compileRe2('\\Qa.b\\E').test('xa.by'));
  assert.ok(!compileRe2('\\Qa.b\\E').test('axb'));
  assert.equal(compileRe2('(?U)a+').replaceAll('aaa', (m) => `[${m}]`), '[a][a][a]');
  assert.ok(compileRe2('\\p{Greek}+').testWhole('αβγ'));
});

test('testWhole anchors the whole pattern, alternatives included; test matches anywhere', () => {
  assert.ok(compileRe2('a|ab').testWhole('ab'));
  assert.ok(!compileRe2('b').testWhole('abc'));
  assert.ok(compileRe2('b').test('abc'));
  assert.ok(compileRe2('.*').testWhole(''));
  assert.ok(compileRe2('GET /api/.*').testWhole('GET /api/users'));
  assert.ok(!compileRe2('GET').testWhole('GET /api/users'));
});

test('replaceAll replaces each match left to right and leaves the rest, surrogate pairs included', () => {
  const re = compileRe2('itk_[0-9a-f]{4}');
  assert.equal(re.replaceAll('keys itk_0a1b and itk_ffff.', () => '****'), 'keys **** and ****.');
  assert.equal(re.replaceAll('nothing here', () => '****'), 'nothing here');
  assert.equal(compileRe2('x+').replaceAll('😀xx😀x', (m) => String(m.length)), '😀2😀1');
  assert.equal(compileRe2('😀').replaceAll('a😀b', () => '_'), 'a_b');
});

test('linear time: patterns that backtrack exponentially in JavaScript answer at once', () => {
  const evil = `${'a'.repeat(100_000)}!`;
  assert.equal(compileRe2('(a+)+$').testWhole(evil), false);
  assert.equal(compileRe2('(a+)+$').test(evil), false);
  assert.equal(compileRe2('(a|aa)*b').test(evil), false);
  assert.equal(compileRe2('(.*a){20}').testWhole(evil), false);
  assert.equal(compileRe2('(a+)+$').testWhole('a'.repeat(100_000)), true);
});

test('invalid patterns: a Re2SyntaxError with RE2’s wording and the offending part', () => {
  assert.throws(() => compileRe2('(unclosed'), (err: Error) => err instanceof Re2SyntaxError && err.message === 'missing closing ): `(unclosed`');
  assert.equal(re2Problem('[z-a]'), 'invalid character class range: `z-a`');
  assert.equal(re2Problem('*token'), 'missing argument to repetition operator: `*`');
  assert.equal(re2Problem('a{2,1}'), 'invalid repeat count: `{2,1}`');
  assert.equal(re2Problem('a{1001}'), 'invalid repeat count: `{1001}`');
  assert.equal(re2Problem('x**'), 'invalid nested repetition operator: `**`');
  assert.equal(re2Problem('a\\'), 'trailing backslash at end of expression');
  assert.equal(re2Problem(`${'('.repeat(2000)}a${')'.repeat(2000)}`), 'expression nests too deeply');
  assert.equal(re2Problem('ok.*'), undefined);
});

test('what JavaScript accepts and RE2 refuses says why: backreferences and lookarounds', () => {
  assert.equal(re2Problem('(a)\\1'), 'invalid escape sequence: `\\1` (RE2 has no backreferences)');
  assert.equal(re2Problem('a(?=b)'), 'invalid or unsupported Perl syntax: `(?=` (RE2 has no lookahead or lookbehind)');
  assert.equal(re2Problem('a(?!b)'), 'invalid or unsupported Perl syntax: `(?!` (RE2 has no lookahead or lookbehind)');
  assert.match(re2Problem('(?<=a)b')!, /^invalid named capture: .* \(RE2 has no lookahead or lookbehind\)$/);
  assert.match(re2Problem('(?<!a)b')!, /RE2 has no lookahead or lookbehind/);
  // Other bad escapes carry no hint.
  assert.equal(re2Problem('\\C'), 'invalid escape sequence: `\\C`');
});

test('a compiled pattern is shared: compiling the same source twice gives the same object', () => {
  assert.equal(compileRe2('cache.me'), compileRe2('cache.me'));
});
