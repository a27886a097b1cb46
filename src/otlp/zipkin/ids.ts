// Zipkin IDs are lowercase hex (clients also send uppercase); OTLP's are bytes.

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The `size` bytes of a hex ID, left-padded with zeros when the text is
 * shorter (a 64-bit Zipkin trace ID is the low half of a 128-bit one), or
 * undefined when it is not an even number of hex digits that fit.
 */
export function hexId(text: string, size: number): Uint8Array | undefined {
  if (text.length % 2 !== 0 || text.length > size * 2) return undefined;
  const out = new Uint8Array(size);
  const offset = size - text.length / 2;
  for (let i = 0; i < text.length / 2; i++) {
    const hi = hexDigit(text.charCodeAt(2 * i));
    const lo = hexDigit(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[offset + i] = (hi << 4) | lo;
  }
  return out;
}

export function isZeroId(id: Uint8Array): boolean {
  for (const b of id) if (b !== 0) return false;
  return true;
}
