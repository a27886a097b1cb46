// The trace-ID bloom filter: never a false negative, about the false positive
// rate it was sized for, also for zero-padded 64-bit IDs, and stable on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BloomFilter, murmur3_32 } from '../../../src/store/blocks/bloom.js';

const randomIds = (n: number): string[] => Array.from({ length: n }, () => randomBytes(16).toString('hex'));
/** 64-bit IDs from Zipkin/Jaeger clients, left-padded to 128 bits, and sequential: the worst case for a weak hash. */
const paddedIds = (n: number, from = 1): string[] => Array.from({ length: n }, (_, i) => (from + i).toString(16).padStart(32, '0'));

test('no false negatives, for random and for zero-padded sequential IDs', () => {
  const ids = [...randomIds(20_000), ...paddedIds(20_000)];
  const f = BloomFilter.fromTraceIds(ids);
  assert.equal(f.size, ids.length);
  for (const id of ids) assert.ok(f.mayContain(id), id);
});

test('false positives stay near the 1% it is sized for', () => {
  for (const [members, probes] of [
    [randomIds(20_000), randomIds(100_000)],
    [paddedIds(20_000), paddedIds(100_000, 1_000_000)],
  ] as const) {
    const f = BloomFilter.fromTraceIds(members);
    const fp = probes.filter((id) => f.mayContain(id)).length / probes.length;
    assert.ok(fp < 0.02, `false positive rate ${fp}`);
  }
});

test('serialize and parse round-trip; bad input is refused', () => {
  const ids = randomIds(1000);
  const f = BloomFilter.fromTraceIds(ids);
  const bytes = f.serialize();
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'SKBF');
  const g = BloomFilter.parse(bytes);
  assert.equal(g.bitCount, f.bitCount);
  assert.equal(g.hashCount, f.hashCount);
  assert.equal(g.size, 1000);
  assert.deepEqual(g.serialize(), bytes);
  for (const id of ids) assert.ok(g.mayContain(id));
  assert.throws(() => BloomFilter.parse(new Uint8Array(8)), /magic/);
  assert.throws(() => BloomFilter.parse(bytes.subarray(0, bytes.length - 1)), /corrupt/);
});

test('an empty block still gets a usable filter', () => {
  const f = BloomFilter.fromTraceIds([]);
  assert.ok(f.bitCount >= 64);
  assert.equal(f.mayContain(randomIds(1)[0]!), false);
});

test('murmur3_32 matches the reference vectors', () => {
  assert.equal(murmur3_32(new Uint8Array(0), 0), 0);
  assert.equal(murmur3_32(new Uint8Array(0), 1), 0x514e28b7);
  assert.equal(murmur3_32(Buffer.from('test'), 0), 0xba6bd213);
  assert.equal(murmur3_32(Buffer.from('Hello, world!'), 1234), 0xfaf6cdb3);
  assert.equal(murmur3_32(Buffer.from('The quick brown fox jumps over the lazy dog'), 0x9747b28c), 0x2fa826cd);
});
