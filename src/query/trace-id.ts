// Trace IDs at the query edge: lowercase hex, up to 32 digits. Shorter IDs
// (64-bit IDs from Zipkin/Jaeger clients) are left-padded with zeros, as Tempo does.

const HEX_RE = /^[0-9a-fA-F]{1,32}$/;

export function parseTraceId(text: string): { traceId: string } | { error: string } {
  if (!HEX_RE.test(text)) {
    return { error: `invalid trace ID ${JSON.stringify(text.slice(0, 64))}: expected 1 to 32 hexadecimal digits` };
  }
  return { traceId: text.toLowerCase().padStart(32, '0') };
}
