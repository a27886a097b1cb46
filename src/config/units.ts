// Human units used in configuration and query parameters: Go-style durations
// (Tempo's and the collector's syntax, plus `d` and `w` for retention) and byte sizes.

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_RE = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)/;

/** Milliseconds in a duration like `250ms`, `1m30s`, `14d`; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION_RE.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Go-style rendering of milliseconds (`90000` → `1m30s`), the inverse of parseDuration. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000 || !Number.isInteger(ms / 1000)) return `${ms}ms`;
  let s = ms / 1000;
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('');
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const BYTES_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** Bytes in a size like `4MiB`, `500MB`, `1024`; undefined when malformed. */
export function parseBytes(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.floor(text) : undefined;
  const m = BYTES_RE.exec(text.trim());
  if (!m) return undefined;
  const unit = BYTE_UNITS[(m[2] || 'b').toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/**
 * A disk watermark (storage.disk): a percentage of the filesystem used (`90%`), or a size of
 * free space (`10GiB`: at most that much left), as Elasticsearch's disk watermarks read.
 */
export type DiskWatermark = { usedPercent: number } | { freeBytes: number };

/** The watermark a text names; undefined when malformed. */
export function parseWatermark(text: string | number): DiskWatermark | undefined {
  if (typeof text === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
    if (m) {
      const usedPercent = Number(m[1]);
      return usedPercent <= 100 ? { usedPercent } : undefined;
    }
  }
  const freeBytes = parseBytes(text);
  return freeBytes === undefined ? undefined : { freeBytes };
}
