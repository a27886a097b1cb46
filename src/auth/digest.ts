// The SHA-256 every credential is looked up and compared by. Computed once per request
// (peer token, static tokens and the cache of verified credentials share it), with Node's
// one-shot crypto.hash where it exists (20.12+): the per-request cost of a repeated
// credential is mostly this hash.
import * as crypto from 'node:crypto';

const oneShot: ((algorithm: string, data: string, encoding: 'buffer') => Buffer) | undefined = typeof crypto.hash === 'function' ? crypto.hash : undefined;

export function sha256(text: string): Buffer {
  return oneShot ? oneShot('sha256', text, 'buffer') : crypto.createHash('sha256').update(text).digest();
}

/** A digest as a map key (latin1: one character per byte, the cheapest string of it). */
export function digestKey(digest: Buffer): string {
  return digest.toString('latin1');
}
