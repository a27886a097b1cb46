// Renders a validated configuration back into YAML-ready values: durations and
// sizes as text (`14d`, `4MiB`) rather than the milliseconds and bytes the
// schema produces. Which leaves are durations or sizes is asked of the schema
// itself, so this never drifts from it.
import { configSchema } from './schema.js';
import { formatDuration } from './units.js';

export function renderConfig(config: unknown): unknown {
  return render(config, []);
}

function render(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => render(v, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, [...path, k])]));
  }
  if (typeof value === 'number') {
    if (accepts(path, '1s')) return formatDuration(value);
    if (accepts(path, '1KiB')) return formatBytes(value);
  }
  return value;
}

/** Whether the schema takes `text` at `path` (with every other key at its default). */
function accepts(path: string[], text: string): boolean {
  const doc: Record<string, unknown> = {};
  let node = doc;
  for (const key of path.slice(0, -1)) {
    node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = text;
  return configSchema.safeParse(doc).success;
}

export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  for (const [unit, size] of [['GB', 1e9], ['MB', 1e6], ['KB', 1e3]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}
