// Request bodies by Content-Encoding, shared by the HTTP receivers. The size
// limit applies to the decompressed bytes too, so a small gzip body cannot
// expand into gigabytes in memory.
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** The body's bytes, or why it cannot be read: an HTTP status and a metrics reason. */
export type Decompressed = { bytes: Buffer } | { error: string; status: number; reason: string };

/** The body size a request declares (Content-Length), 0 when it does not (chunked). */
export function declaredBytes(headers: { 'content-length'?: string | undefined }): number {
  return Number(headers['content-length'] ?? 0) || 0;
}

export function tooLargeMessage(limit: number, when: string): string {
  return `request body exceeds limits.max_request_bytes (${limit} bytes) ${when}`;
}

export async function decompress(body: Buffer, contentEncoding: string | undefined, limit: number): Promise<Decompressed> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return { bytes: body };
  const inflater = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipAsync : encoding === 'deflate' ? inflateAsync : undefined;
  if (!inflater) {
    return { error: `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: use gzip, deflate or none`, status: 415, reason: 'unsupported_encoding' };
  }
  try {
    // maxOutputLength stops a decompression bomb as soon as it passes the limit.
    return { bytes: await inflater(body, { maxOutputLength: limit }) };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return { error: tooLargeMessage(limit, 'after decompression'), status: 413, reason: 'too_large' };
    }
    return { error: `invalid ${encoding} body: ${(err as Error).message}`, status: 400, reason: 'malformed' };
  }
}
