// Where the head keeps its encoded spans: copied into a few large slabs rather
// than one allocation each. A head holds hundreds of thousands of spans of ~250
// bytes; as separate Uint8Arrays each costs a JS object, a backing-store record
// and a malloc chunk (measured: ~425 bytes of process memory per 250-byte span),
// and once the head is cut into a block the freed chunks leave the malloc heap
// fragmented, so RSS stayed high long after the spans were gone. Slabs are freed
// whole when the head is dropped. The head copies each request's TracesData in
// whole (one copy, not one per span) and addresses its spans inside it.

const MIN_SLAB_BYTES = 64 * 1024;
const MAX_SLAB_BYTES = 4 * 1024 * 1024;
/** Addresses are slab * 2^32 + offset: exact in a double for any realistic head. */
const SLAB_STRIDE = 2 ** 32;

export class SpanArena {
  private readonly slabs: Buffer[] = [];
  private used = 0;

  /** Copies `bytes` in and returns its address. */
  add(bytes: Uint8Array): number {
    let slab = this.slabs[this.slabs.length - 1];
    if (slab === undefined || this.used + bytes.length > slab.length) {
      // Small heads stay small; large ones grow to a few MiB per slab. Bytes larger
      // than a slab get a slab of their own.
      const size = Math.max(bytes.length, Math.min(MAX_SLAB_BYTES, MIN_SLAB_BYTES * 2 ** this.slabs.length));
      // Never exposed beyond what is written: a span is read back only from its own bytes.
      slab = Buffer.allocUnsafeSlow(size);
      this.slabs.push(slab);
      this.used = 0;
    }
    slab.set(bytes, this.used);
    const address = (this.slabs.length - 1) * SLAB_STRIDE + this.used;
    this.used += bytes.length;
    return address;
  }

  /** A view of `size` bytes at `address` (valid while the arena lives; decoding copies out). */
  get(address: number, size: number): Uint8Array {
    const slab = this.slabs[Math.floor(address / SLAB_STRIDE)]!;
    const offset = address % SLAB_STRIDE;
    return slab.subarray(offset, offset + size);
  }

  /** Bytes allocated for slabs. */
  get capacity(): number {
    return this.slabs.reduce((n, s) => n + s.length, 0);
  }
}
