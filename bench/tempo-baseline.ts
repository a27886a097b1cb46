// Grafana Tempo 2.2.4 measured side by side with Skein on this 2-core machine and
// filed in issue 15 (2026-12): one server at a time, the same tool, two rounds each,
// interleaved. The reference workload (200k spans, OTLP/HTTP protobuf, 512 spans a
// request, 4 connections), then POST /flush and the CPU until the server was idle,
// then 200 trace-by-ID lookups on the flushed blocks; Tempo monolithic, local
// storage, limits lifted. Keyed by the names of our figures that measure the same
// thing the same way, so that reports quote ratios; no other Tempo figure is quoted.
import { median } from './stats.js';

export interface Baseline {
  /** Tempo's value in each round. */
  rounds: readonly number[];
  /** Which direction is better, to word the ratio. */
  better: 'higher' | 'lower';
  note?: string;
}

export const TEMPO_SOURCE = 'Tempo 2.2.4, measured side by side on this machine, filed in issue 15, 2026-12';

const MiB = 1024 * 1024;
const RECEIVE_CPU: Baseline = { rounds: [109_300, 103_600], better: 'higher', note: 'ingest window only' };
const RECEIVE_WALL: Baseline = { rounds: [125_800, 128_100], better: 'higher', note: '2 cores, sender included' };

export const TEMPO_2_2_4: Record<string, Baseline> = {
  'sustained.cpu-efficiency': { rounds: [52_600, 47_100], better: 'higher', note: 'ingest + POST /flush until idle' },
  'sustained.receive.cpu-efficiency': RECEIVE_CPU,
  'sustained.receive.throughput': RECEIVE_WALL,
  'sustained.trace-by-id.p50': { rounds: [25.2, 23.5], better: 'lower', note: 'flushed blocks' },
  'sustained.trace-by-id.p99': { rounds: [49.8, 50.6], better: 'lower', note: 'flushed blocks' },
  'sustained.trace-by-id.server-cpu-per-lookup': { rounds: [43, 40], better: 'lower', note: 'flushed blocks' },
  'sustained.storage.bytes-per-span': { rounds: [67], better: 'lower', note: 'blocks (Parquet, snappy); its WAL besides' },
  'sustained.memory.rss-after-flush': { rounds: [258 * MiB, 261 * MiB], better: 'lower' },
  'sustained.memory.rss-at-end': { rounds: [718 * MiB, 794 * MiB], better: 'lower', note: 'after the lookups read the blocks' },
  // The receive-only ingest figure of OTLP/HTTP protobuf is the same measurement on the same workload.
  'ingest.http-protobuf.cpu-efficiency': RECEIVE_CPU,
  'ingest.http-protobuf.throughput': RECEIVE_WALL,
};

/** The middle of Tempo's rounds, what a ratio is taken against. */
export function tempoValue(figure: string): number | undefined {
  const b = TEMPO_2_2_4[figure];
  return b === undefined ? undefined : median(b.rounds);
}

/** "3.1× better" / "0.8× (worse)": how a measured median compares with Tempo's. */
export function compareWithTempo(figure: string, measured: number): string {
  const b = TEMPO_2_2_4[figure];
  const tempo = tempoValue(figure);
  if (b === undefined || tempo === undefined || !Number.isFinite(measured) || measured <= 0) return '';
  const factor = b.better === 'higher' ? measured / tempo : tempo / measured;
  const shown = factor >= 10 ? factor.toFixed(0) : factor.toFixed(2);
  return factor >= 1 ? `${shown}× better` : `${shown}× (worse)`;
}
