// A bloom filter over the trace IDs of one block, kept in memory for every block
// so trace-by-ID opens only the blocks that may hold the trace. Sized for about 1%
// false positives; never a false negative.
//
// Not every trace ID is random (64-bit IDs from Zipkin or Jaeger clients arrive
// zero-padded to 16 bytes), so the ID bytes go through MurmurHash3 (x86, 32-bit)
// twice with different seeds, and the k probe positions are h1 + i·h2 mod m
// (Kirsch–Mitzenmacher double hashing).
//
// bloom.bin, little-endian:
//   0  "SKBF"  magic
//   4  u8      version (1)
//   5  u8      k, number of probes
//   6  u16     reserved, 0
//   8  u32     m, number of bits
//  12  u32     n, number of trace IDs added
//  16  bytes   the bit array, ceil(m/8) bytes; bit j is (byte j>>3) >> (j&7) & 1

const MAGIC = 0x4642_4b53; // "SKBF" read as a little-endian u32
const VERSION = 1;
const HEADER_BYTES = 16;
const SEED_1 = 0x0000_0000;
const SEED_2 = 0x9747_b28c;
const MIN_BITS = 64;

export class BloomFilter {
  private constructor(
    readonly bitCount: number,
    readonly hashCount: number,
    private itemCount: number,
    private readonly bits: Uint8Array,
  ) {}

  /** An empty filter sized for `expectedItems` at the given false positive rate. */
  static forCount(expectedItems: number, falsePositiveRate = 0.01): BloomFilter {
    const n = Math.max(1, expectedItems);
    const ln2 = Math.LN2;
    const m = Math.max(MIN_BITS, Math.ceil((-n * Math.log(falsePositiveRate)) / (ln2 * ln2)));
    const bitCount = Math.ceil(m / 8) * 8;
    const hashCount = Math.max(1, Math.round((bitCount / n) * ln2));
    return new BloomFilter(bitCount, hashCount, 0, new Uint8Array(bitCount / 8));
  }

  static fromTraceIds(traceIdsHex: readonly string[], falsePositiveRate = 0.01): BloomFilter {
    const f = BloomFilter.forCount(traceIdsHex.length, falsePositiveRate);
    for (const id of traceIdsHex) f.add(id);
    return f;
  }

  static parse(data: Uint8Array): BloomFilter {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) throw new Error('not a skein bloom filter (bad magic)');
    const version = view.getUint8(4);
    if (version !== VERSION) throw new Error(`unsupported bloom filter version ${version}`);
    const hashCount = view.getUint8(5);
    const bitCount = view.getUint32(8, true);
    const itemCount = view.getUint32(12, true);
    const byteCount = Math.ceil(bitCount / 8);
    if (hashCount === 0 || bitCount === 0 || data.byteLength !== HEADER_BYTES + byteCount) throw new Error('corrupt bloom filter (sizes do not match)');
    return new BloomFilter(bitCount, hashCount, itemCount, data.slice(HEADER_BYTES));
  }

  get size(): number {
    return this.itemCount;
  }

  add(traceIdHex: string): void {
    const [h1, h2] = hashes(traceIdHex);
    for (let i = 0; i < this.hashCount; i++) {
      const bit = probe(h1, h2, i, this.bitCount);
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
    this.itemCount++;
  }

  /** False when the ID is certainly not in the block; true when it may be. */
  mayContain(traceIdHex: string): boolean {
    const [h1, h2] = hashes(traceIdHex);
    for (let i = 0; i < this.hashCount; i++) {
      const bit = probe(h1, h2, i, this.bitCount);
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.bits.byteLength);
    const view = new DataView(out.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint8(4, VERSION);
    view.setUint8(5, this.hashCount);
    view.setUint32(8, this.bitCount, true);
    view.setUint32(12, this.itemCount, true);
    out.set(this.bits, HEADER_BYTES);
    return out;
  }
}

function hashes(traceIdHex: string): [number, number] {
  const bytes = Buffer.from(traceIdHex, 'hex');
  return [murmur3_32(bytes, SEED_1), murmur3_32(bytes, SEED_2)];
}

function probe(h1: number, h2: number, i: number, m: number): number {
  // h1 + i·h2 can exceed 2^53 only for i beyond any sensible k; % m keeps it exact below that.
  return (h1 + i * h2) % m;
}

/** MurmurHash3_x86_32 of `data` (unsigned result). */
export function murmur3_32(data: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = data.length >>> 2;
  for (let b = 0; b < blocks; b++) {
    const o = b << 2;
    let k = data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks << 2;
  const rest = data.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[tail + 2]! << 16;
    if (rest >= 2) k ^= data[tail + 1]! << 8;
    k ^= data[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
