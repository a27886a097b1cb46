// Renders /api/search results as a table for the terminal (`skein search`).
import { formatTable } from './table.js';

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
  return [formatTable(header, rows, [4, 5]), '', `${traces.length} trace${traces.length === 1 ? '' : 's'}`].join('\n');
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
