// Trace IDs as the hex strings the head keys its traces by, remembered by their
// bytes: a trace's spans arrive many to a request and over several requests,
// and making the hex string again for each of them cost more than the head's
// whole per-span bookkeeping. Direct-mapped, like the decoder's string cache
// (wire.ts): a slot holds the last ID whose bytes hash to it. The bytes are
// copied in, so no request buffer is held by the cache.
import { TRACE_ID_BYTES, toHex } from './model.js';

const SLOTS = 1024;
const ids = new Uint8Array(SLOTS * TRACE_ID_BYTES);
/** '' marks an empty slot. */
const hexes = new Array<string>(SLOTS).fill('');

/** toHex(id), the same string object for the same 16 bytes while they stay in the cache. */
export function traceIdHex(id: Uint8Array): string {
  if (id.length !== TRACE_ID_BYTES) return toHex(id);
  // FNV-1a over the bytes: test IDs (0…01, 0…02) spread as well as random ones.
  let h = 0x811c9dc5;
  for (let i = 0; i < TRACE_ID_BYTES; i++) h = Math.imul(h ^ id[i]!, 0x01000193);
  const slot = (h >>> 22) & (SLOTS - 1);
  const at = slot * TRACE_ID_BYTES;
  const known = hexes[slot]!;
  if (known !== '') {
    let i = 0;
    while (i < TRACE_ID_BYTES && ids[at + i] === id[i]) i++;
    if (i === TRACE_ID_BYTES) return known;
  }
  const hex = toHex(id);
  ids.set(id, at);
  hexes[slot] = hex;
  return hex;
}
