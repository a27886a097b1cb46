// Renders /api/search results as a table for the terminal (`skein search`).

export interface SearchTraceJson {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano?: string;
  durationMs?: number;
  spanSets?: Array<{ matched?: number }>;
}

export function renderSearchTable(traces: readonly SearchTraceJson[]): string {
  if (traces.length === 0) return 'no traces matched';
  const rows = traces.map((t) => [
    t.startTimeUnixNano ? new Date(Number(BigInt(t.startTimeUnixNano) / 1_000_000n)).toISOString() : '',
    t.traceID,
    t.rootServiceName ?? '',
    t.rootTraceName ?? '',
    formatMs(t.durationMs ?? 0),
    String((t.spanSets ?? []).reduce((n, s) => n + (s.matched ?? 0), 0)),
  ]);
  const header = ['START', 'TRACE ID', 'ROOT SERVICE', 'ROOT NAME', 'DURATION', 'MATCHED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 4 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line), '', `${traces.length} trace${traces.length === 1 ? '' : 's'}`].join('\n');
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
