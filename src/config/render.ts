// Renders a validated configuration back into YAML-ready values: durations and
// sizes as text (`14d`, `4MiB`) rather than the milliseconds and bytes the
// schema produces. Which leaves are durations or sizes is asked of the schema
// itself, so this never drifts from it. Secrets are never shown.
import { configSchema } from './schema.js';
import { formatDuration } from './units.js';

/** Leaves whose value is a credential: rendered as REDACTED when set. */
const SECRET_KEYS = new Set(['secret_access_key', 'token', 'peer_token', 'client_secret']);
export const REDACTED = '<redacted>';

export function renderConfig(config: unknown): unknown {
  return render(config, [], config);
}

function render(value: unknown, path: string[], root: unknown): unknown {
  if (SECRET_KEYS.has(path.at(-1) ?? '') && typeof value === 'string' && value !== '') return REDACTED;
  if (Array.isArray(value)) {
    // A list of durations is checked whole: its items may have to increase.
    if (value.length > 0 && value.every((v) => typeof v === 'number')) {
      for (const scale of [1, 1000]) {
        const texts = value.map((v: number) => formatDuration(v * scale));
        if (readsBackAs(root, path, texts, value)) return texts;
      }
    }
    return value.map((v, i) => render(v, [...path, String(i)], root));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, [...path, k], root)]));
  }
  if (typeof value === 'number') {
    // A number is shown as a duration or size when the schema takes that text in its place.
    // Durations come out of the schema in milliseconds, histogram buckets in seconds.
    for (const duration of [formatDuration(value), formatDuration(value * 1000)]) {
      if (readsBackAs(root, path, duration, value)) return duration;
    }
    const size = formatBytes(value);
    if (size !== String(value) && readsBackAs(root, path, size, value)) return size;
  }
  return value;
}

/**
 * Whether the schema takes `text` at `path`, with everything else as in `root`,
 * and turns it back into `value` (a bucket in seconds must not read as milliseconds).
 * Only the section holding the leaf is kept, so sections that depend on each
 * other (a component's required keys) stay valid.
 */
function readsBackAs(root: unknown, path: string[], text: unknown, value: unknown): boolean {
  const doc: Record<string, unknown> = {};
  let node = doc;
  let source = root as Record<string, unknown> | undefined;
  for (const [i, key] of path.slice(0, -1).entries()) {
    source = source?.[key] as Record<string, unknown> | undefined;
    // Below a component's name (processors.<name>), keep its siblings: they may be required.
    node[key] = i >= 1 && path[0] !== undefined && COMPONENT_SECTIONS.has(path[0]) && source && typeof source === 'object' && !Array.isArray(source) ? structuredClone(source) : {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = text;
  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) return false;
  let out: unknown = parsed.data;
  for (const key of path) out = (out as Record<string, unknown> | undefined)?.[key];
  return JSON.stringify(out) === JSON.stringify(value);
}

const COMPONENT_SECTIONS = new Set(['processors', 'exporters', 'connectors']);

export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  for (const [unit, size] of [['GB', 1e9], ['MB', 1e6], ['KB', 1e3]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}
