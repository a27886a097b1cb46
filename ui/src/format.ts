// Formatting shared by the pages: durations, wall-clock times (local or UTC), IDs.
import type { TimeZoneMode } from './theme';

/** 1234567 ns → "1.23ms"; three significant digits, the largest unit that keeps the number ≥ 1. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  const abs = Math.abs(ns);
  const units: Array<[number, string]> = [
    [3_600e9, 'h'],
    [60e9, 'm'],
    [1e9, 's'],
    [1e6, 'ms'],
    [1e3, 'µs'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const v = ns / size;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${unit}`;
    }
  }
  return `${Math.round(ns)}ns`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** "2024-05-01 13:04:05.123" in the chosen zone (UTC gets a trailing Z). */
export function formatTime(ms: number, tz: TimeZoneMode, withMs = true): string {
  const d = new Date(ms);
  const utc = tz === 'utc';
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
  const da = utc ? d.getUTCDate() : d.getDate();
  const h = utc ? d.getUTCHours() : d.getHours();
  const mi = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  const frac = withMs ? `.${pad(d.getUTCMilliseconds(), 3)}` : '';
  return `${y}-${pad(mo)}-${pad(da)} ${pad(h)}:${pad(mi)}:${pad(s)}${frac}${utc ? 'Z' : ''}`;
}

/** Value for <input type="datetime-local"> showing `ms` in the chosen zone. */
export function toInputValue(ms: number, tz: TimeZoneMode): string {
  return formatTime(ms, tz, false).replace(' ', 'T').replace(/Z$/, '');
}

/** Reads an <input type="datetime-local"> value in the chosen zone; NaN when empty or invalid. */
export function fromInputValue(v: string, tz: TimeZoneMode): number {
  if (!v) return NaN;
  return tz === 'utc' ? Date.parse(`${v}Z`) : new Date(v).getTime();
}

export function relativeAgo(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function base64ToHex(b64: string): string {
  if (!b64) return '';
  const bin = atob(b64);
  let out = '';
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return out;
}

/** Nanosecond string → milliseconds, exact enough for display (double keeps µs at today's epoch). */
export function nanosToMs(nanos: string | undefined): number {
  if (!nanos) return 0;
  return Number(BigInt(nanos) / 1000n) / 1000;
}
