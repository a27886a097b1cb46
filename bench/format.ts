// Human-readable renderings of figure values, shared by the summary table
// and the Markdown report.

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'bytes') return (value / 1024 / 1024).toFixed(1);
  if (unit.startsWith('spans/')) return value >= 10_000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
  if (unit === 'µs/span' || unit === 'ratio') return value.toFixed(2);
  if (unit === 'ms') return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function displayUnit(unit: string): string {
  return unit === 'bytes' ? 'MiB' : unit;
}

/** Fixed-width text table (for the terminal). */
export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
