// The process's memory, read cheaply enough to be read per request (the
// memory_limiter checks at every export request). process.memoryUsage() reads
// /proc/self/stat, which the kernel assembles from every thread of the process
// (Node's, libuv's and DuckDB's): tens of microseconds under load, three times a
// request. /proc/self/statm holds the resident size alone, and V8 gives its heap
// and external memory without asking the kernel anything.
import { openSync, readSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

/** The open /proc/self/statm (null where there is none) and its page size, found on first use. */
let statm: { fd: number; pageBytes: number } | null | undefined;
const scratch = Buffer.alloc(128);

/** Resident pages as /proc/self/statm says ("size resident shared …"), or NaN. */
function residentPages(fd: number): number {
  const n = readSync(fd, scratch, 0, scratch.length, 0);
  const text = scratch.toString('latin1', 0, n);
  const from = text.indexOf(' ') + 1;
  return from > 0 ? Number(text.slice(from, text.indexOf(' ', from))) : NaN;
}

function openStatm(): { fd: number; pageBytes: number } | null {
  try {
    const fd = openSync('/proc/self/statm', 'r');
    const pages = residentPages(fd);
    // The page size, as the power of two that makes statm agree with process.memoryUsage.
    const pageBytes = 2 ** Math.round(Math.log2(process.memoryUsage.rss() / pages));
    return Number.isFinite(pageBytes) && pageBytes >= 1024 ? { fd, pageBytes } : null;
  } catch {
    return null;
  }
}

/** Resident set size in bytes: from /proc/self/statm where there is one, else from process.memoryUsage. */
export function residentSetBytes(): number {
  if (statm === undefined) statm = openStatm();
  if (statm !== null) {
    try {
      const pages = residentPages(statm.fd);
      if (Number.isFinite(pages)) return pages * statm.pageBytes;
    } catch {
      statm = null;
    }
  }
  return process.memoryUsage.rss();
}

/** What V8 accounts as in use: its used heap plus external memory (Buffers, ArrayBuffers), as process.memoryUsage() counts them. */
export function v8LiveBytes(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}
