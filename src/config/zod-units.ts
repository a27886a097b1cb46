// Schema pieces for the units every configuration section uses, so each
// component's schema parses durations and sizes the same way.
import { z } from 'zod';
import { parseBytes, parseDuration, parseWatermark } from './units.js';

/** A duration (`30s`, `14d`, or milliseconds as a number) parsed to milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === undefined || ms < 0) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (examples: 500ms, 30s, 5m, 14d)` });
    return z.NEVER;
  }
  return ms;
});

/** A size (`4MiB`, `500MB`, or a number of bytes) parsed to bytes. */
export const byteSize = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseBytes(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(v)} (examples: 4MiB, 500MB, 1048576)` });
    return z.NEVER;
  }
  return n;
});

/**
 * A disk watermark (`90%` used, or `10GiB` free), kept as its text so the configuration
 * prints back as written; parseWatermark reads it where it is used.
 */
export const watermark = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (parseWatermark(v) === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid watermark ${JSON.stringify(v)} (a percentage of the disk used, e.g. 90%, or a size of free space, e.g. 10GiB)` });
    return z.NEVER;
  }
  return String(v).trim();
});
