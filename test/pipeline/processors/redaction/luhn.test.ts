import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containsCardNumber, luhnValid, mayHoldDigitRun } from '../../../../src/pipeline/processors/redaction/luhn.js';

const digits = (s: string) => [...s].map(Number);

test('luhnValid accepts the networks\' test numbers and rejects a changed digit', () => {
  for (const n of ['4111111111111111', '4012888888881881', '5555555555554444', '378282246310005', '6011111111111117', '3530111333300000', '30569309025904']) {
    assert.ok(luhnValid(digits(n)), n);
    const changed = n.slice(0, -1) + String((Number(n.at(-1)) + 1) % 10);
    assert.ok(!luhnValid(digits(changed)), changed);
  }
});

test('luhnValid checks a slice of a longer digit array', () => {
  assert.ok(luhnValid(digits('99' + '4111111111111111' + '77'), 2, 16));
});

test('containsCardNumber: whole groups, separated by single spaces or dashes', () => {
  assert.ok(containsCardNumber('4111111111111111'));
  assert.ok(containsCardNumber('4111 1111 1111 1111'));
  assert.ok(containsCardNumber('4111-1111-1111-1111'));
  assert.ok(containsCardNumber('3782 822463 10005'));
  // Next to a CVV, or after an unrelated group.
  assert.ok(containsCardNumber('4111 1111 1111 1111 123'));
  assert.ok(containsCardNumber('12 4111 1111 1111 1111'));
});

test('containsCardNumber rejects Luhn failures, foreign prefixes and slices of longer numbers', () => {
  assert.ok(!containsCardNumber('4111111111111112'));
  assert.ok(!containsCardNumber('4111 1111 1111 1112'));
  // Luhn-valid but no issuer starts with 1, 7, 8 or 9 (epoch timestamps start with 1).
  assert.ok(!containsCardNumber('1234567812345670'));
  assert.ok(!containsCardNumber('9111111111111110'));
  // A card's digits inside one longer unbroken number are not a card.
  assert.ok(!containsCardNumber('994111111111111111'));
  assert.ok(!containsCardNumber('41111111111'));
});

test('mayHoldDigitRun finds a 13-digit run wherever it starts, despite reading one character in 13', () => {
  for (let offset = 0; offset < 30; offset++) {
    for (const run of ['4111111111111', '4111 1111 1111 1', '4111-1111-1111-1111']) {
      const text = 'x'.repeat(offset) + run + 'y'.repeat(offset % 7);
      assert.ok(mayHoldDigitRun(text, 13), `${offset}: ${text}`);
    }
  }
});

test('mayHoldDigitRun dismisses ordinary values', () => {
  for (const text of [
    'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    '4bf92f3577b34da6a3ce929d0e0e4736',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    'order 1234 5678 9012',
    '411111111111',
    '',
  ]) {
    assert.ok(!mayHoldDigitRun(text, 13), text);
  }
});

test('mayHoldDigitRun may say yes where the card regex says no: it is only a precheck', () => {
  // 15 digits in one stretch of digits and dashes, but the stretch touches a letter.
  assert.ok(mayHoldDigitRun('550e8400-e29b-41d4-a716-446655440000', 13));
  assert.ok(!containsCardNumber('716-446655440000'));
});
