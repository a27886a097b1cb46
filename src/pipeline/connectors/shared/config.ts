// Configuration pieces both connectors share: durations in the collector's
// syntax, the bucket list, and Skein's keys for tenants, cardinality and the
// UI aggregate.
import { z } from 'zod';
import { parseDuration } from '../../../config/units.js';

/** A Go-style duration (`2s`, `500ms`) or a number of milliseconds, parsed to milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === undefined || !(ms >= 0)) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (examples: 500ms, 2s, 1m)` });
    return z.NEVER;
  }
  return ms;
});

export const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');

/** Histogram bucket bounds as durations (`[100ms, 1s]`), parsed to seconds; strictly increasing. */
export const bucketList = z
  .array(positiveDuration)
  .min(1, 'name at least one bucket')
  .transform((ms) => ms.map((v) => v / 1000))
  .superRefine((bounds, ctx) => {
    for (let i = 1; i < bounds.length; i++) {
      if (bounds[i]! <= bounds[i - 1]!) {
        ctx.addIssue({ code: 'custom', path: [i], message: 'buckets must be in increasing order, without repeats' });
      }
    }
  });

/** Skein's keys common to both connectors. */
export const skeinConnectorKeys = {
  /** Tempo keeps one registry per tenant and adds no tenant label; Skein has one registry, so opt in. */
  include_tenant_label: z.boolean().default(false),
  /** Label sets per metric before new ones fold into the `__overflow__` series. */
  max_label_sets: z.number().int().positive().default(10_000),
  /** A series not observed for this long is dropped (Tempo's registry stale_duration); 0 keeps series forever. */
  metrics_expiration: duration.default(15 * 60_000),
  /** How far back the UI aggregate (edges(), nodes(), operations()) reaches. */
  ui_window_retention: positiveDuration.default(60 * 60_000),
  /** Width of one UI aggregate bucket. */
  ui_window_resolution: positiveDuration.default(60_000),
};

/** Issues for UI window settings that cannot work together. */
export function checkUiWindow(c: { ui_window_retention: number; ui_window_resolution: number }, ctx: z.RefinementCtx): void {
  if (c.ui_window_resolution > c.ui_window_retention) {
    ctx.addIssue({ code: 'custom', path: ['ui_window_resolution'], message: 'must not be longer than ui_window_retention' });
  } else if (c.ui_window_retention / c.ui_window_resolution > 10_080) {
    // The ring is allocated up front; a week at one-minute resolution is plenty.
    ctx.addIssue({ code: 'custom', path: ['ui_window_resolution'], message: 'too fine for ui_window_retention: at most 10080 buckets' });
  }
}

/**
 * The connector's schema: an empty entry (YAML null) means all defaults, and
 * collector keys Skein does not implement are refused with the reason rather
 * than zod's bare "unrecognized key".
 */
export function connectorSchema<T extends z.ZodType>(options: T, unsupported: Record<string, string>) {
  const known = z.unknown().superRefine((raw, ctx) => {
    if (typeof raw !== 'object' || raw === null) return;
    for (const key of Object.keys(raw)) {
      const reason = unsupported[key];
      if (reason !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `not supported by Skein: ${reason}` });
    }
  });
  return z.preprocess((v) => v ?? {}, known.pipe(options));
}
