// Giving memory back once a head has been cut into a block. A head of 64 MiB of
// spans is, with its index, trace objects and the garbage of writing the block,
// a few hundred MiB of the process; after the cut all of it is garbage, but V8
// collects only when later allocation asks for it, and a server that has just
// written a block is often idle. Measured at 1M spans stored on 2 cores: RSS right
// after a flush was ~600 MiB without this and ~400 MiB with it; one collection
// costs tens of milliseconds, once per cut of a large head.
import { gcFunction } from '../telemetry/gc.js';

/** Heads smaller than this are not worth a collection (age cuts of quiet tenants). */
export const COLLECT_AFTER_CUT_BYTES = 16 * 1024 * 1024;
/** At most one collection per interval, however many tenants cut at once. */
const MIN_INTERVAL_MS = 1_000;

let lastCollectedAt = 0;

/** Collects garbage after a head of `headBytes` was dropped, when it is worth it and not too soon after the last time. */
export function collectAfterCut(headBytes: number, now = Date.now()): boolean {
  if (headBytes < COLLECT_AFTER_CUT_BYTES || now - lastCollectedAt < MIN_INTERVAL_MS) return false;
  const collect = gcFunction();
  if (!collect) return false;
  lastCollectedAt = now;
  collect();
  return true;
}
