// Protobuf bytes written by hand, for tests that send what Skein's encoder never
// writes: nesting deeper than any stack, widest varints, fields in odd places.

/** A varint's bytes (n up to 2^53). */
export function varintBytes(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}

/** A length-delimited field (wire type 2) number `field`: tag, length, body (a string as UTF-8). */
export function delimited(field: number, body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = [...varintBytes((field << 3) | 2), ...varintBytes(bytes.length)];
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

/** An AnyValue body nesting `levels` arrays, written back to front so each level costs O(1). */
export function deeplyNestedArrays(levels: number): Uint8Array {
  const out = new Uint8Array(levels * 12);
  let pos = out.length;
  const prepend = (tag: number): void => {
    const len = out.length - pos;
    const prefix = [tag, ...varintBytes(len)];
    pos -= prefix.length;
    out.set(prefix, pos);
  };
  for (let i = 0; i < levels; i++) {
    prepend(0x0a); // ArrayValue.values
    prepend(0x2a); // AnyValue.array_value
  }
  return out.subarray(pos);
}
