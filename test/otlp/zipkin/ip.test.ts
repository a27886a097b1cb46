import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { formatIPv4, formatIPv6 } from '../../../src/otlp/zipkin/ip.js';

function v6(groups: number[]): Uint8Array {
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

test('IPv4 bytes as dotted quads', () => {
  assert.equal(formatIPv4(new Uint8Array([10, 0, 255, 7])), '10.0.255.7');
});

test('IPv6 bytes as RFC 5952 text', () => {
  const cases: Array<[number[], string]> = [
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xc001], '2001:db8::c001'],
    [[0xfe80, 0, 0, 0, 0, 0, 0, 0], 'fe80::'],
    // A single zero group is not shortened.
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    // The longest run is shortened; of equal runs, the first.
    [[1, 0, 0, 2, 0, 0, 0, 3], '1:0:0:2::3'],
    [[1, 0, 0, 2, 0, 0, 3, 4], '1::2:0:0:3:4'],
    [[0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789], 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
  ];
  for (const [groups, text] of cases) {
    assert.equal(formatIPv6(v6(groups)), text);
    assert.ok(isIPv6(text));
  }
});
