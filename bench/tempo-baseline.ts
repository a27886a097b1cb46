// Grafana Tempo 2.2.4 on the same workload and machine, as recorded in
// ../shared/design/BENCHMARK.md ("What to beat"), keyed by our figure names,
// so that reports quote ratios rather than bare numbers.

export interface Baseline {
  value: number;
  /** Which direction is better, to word the ratio. */
  better: 'higher' | 'lower';
  note?: string;
}

const MiB = 1024 * 1024;

export const TEMPO_2_2_4: Record<string, Baseline> = {
  'ingest.http-protobuf.throughput': { value: 92_600, better: 'higher', note: '2 cores' },
  'ingest.http-protobuf.cpu-efficiency': { value: 76_900, better: 'higher' },
  'visibility.ack-to-visible': { value: 19, better: 'lower' },
  'trace-by-id.flushed.p50': { value: 37, better: 'lower', note: 'flushed block' },
  'trace-by-id.flushed.p99': { value: 83, better: 'lower', note: 'flushed block' },
  'trace-by-id.flushed.server-cpu-per-lookup': { value: 64, better: 'lower', note: 'flushed block' },
  'storage.block-bytes-per-span': { value: 68.5, better: 'lower', note: 'Parquet + bloom' },
  'storage.wal-bytes-per-span': { value: 95, better: 'lower' },
  'memory.rss-after-store': { value: 245 * MiB, better: 'lower', note: '230–260 MiB after ingest' },
};

/** "3.1× better" / "0.8× (worse)": how a measured median compares with Tempo's. */
export function compareWithTempo(figure: string, median: number): string {
  const b = TEMPO_2_2_4[figure];
  if (b === undefined || !Number.isFinite(median) || median <= 0) return '';
  const factor = b.better === 'higher' ? median / b.value : b.value / median;
  const shown = factor >= 10 ? factor.toFixed(0) : factor.toFixed(2);
  return factor >= 1 ? `${shown}× better` : `${shown}× (worse)`;
}
