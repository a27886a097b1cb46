// Shapes and formatting shared by the service map and hot paths pages: the
// connectors' RED figures (/api/skein/service-graph, /api/skein/operations) and
// Skein's own ingest figures (/api/skein/ingest-stats), see docs/api.md.
import { useEffect, useState } from 'react';
import { getJson, qs } from './api';
import { formatDuration } from './format';

// The server's own declarations of these shapes: the UI's build fails if it stops following them.
export type { ServiceGraphNode as GraphNode, ServiceGraphEdge as GraphEdge, OperationStats as Operation, IngestStats } from '../../src/pipeline/connectors/shared/ui-shapes';
import type { OperationStats as Operation, ServiceGraphNode, ServiceGraphEdge } from '../../src/pipeline/connectors/shared/ui-shapes';

export interface ServiceGraph {
  start: number;
  end: number;
  nodes: ServiceGraphNode[];
  edges: ServiceGraphEdge[];
}
/** Windows the connectors keep figures for (ui_window_retention defaults to an hour). */
export const WINDOWS: Array<{ key: string; seconds: number }> = [
  { key: '5m', seconds: 300 },
  { key: '15m', seconds: 900 },
  { key: '1h', seconds: 3600 },
];

export function windowSeconds(key: string | null): number {
  return WINDOWS.find((w) => w.key === key)?.seconds ?? 900;
}

export function rangeQuery(seconds: number): string {
  const end = Math.floor(Date.now() / 1000);
  return qs({ start: end - seconds, end });
}

export const fetchGraph = (seconds: number): Promise<ServiceGraph> => getJson<ServiceGraph>(`/api/skein/service-graph${rangeQuery(seconds)}`);
export const fetchOperations = (seconds: number): Promise<Operation[]> =>
  getJson<{ operations: Operation[] }>(`/api/skein/operations${rangeQuery(seconds)}`).then((r) => r.operations ?? []);

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond === 0) return '0/s';
  if (perSecond >= 100) return `${perSecond.toFixed(0)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  // Slow endpoints read better per minute than as 0.003/s.
  const perMin = perSecond * 60;
  return perMin >= 10 ? `${perMin.toFixed(0)}/min` : `${perMin.toPrecision(2)}/min`;
}

export function formatErrorRate(failed: number, total: number): string {
  if (total === 0) return '–';
  const pct = (failed / total) * 100;
  return pct === 0 ? '0%' : pct < 0.1 ? '<0.1%' : `${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

export function formatSeconds(s: number | null): string {
  return s === null ? '–' : formatDuration(s * 1e9);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Calls `load` now and every `everyMs` while the page is open (and `deps` unchanged). */
export function usePolling<T>(load: () => Promise<T>, everyMs: number, deps: unknown[]): { data: T | undefined; error: string; refresh: () => void } {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = (): void => {
      load()
        .then((d) => {
          if (cancelled) return;
          setData(d);
          setError('');
        })
        .catch((e: unknown) => !cancelled && setError(e instanceof Error ? e.message : String(e)))
        .finally(() => {
          if (!cancelled) timer = setTimeout(run, everyMs);
        });
    };
    run();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}
