// Issue 15's figures, the headline of ingest: what a server does with the
// reference workload (200k spans, OTLP/HTTP protobuf, 512 spans a request, 4
// connections) once the block writes are counted, measured as Tempo 2.2.4 was
// beside it (bench/tempo-baseline.ts).
//
// - Sustained: spans per server CPU-second from the first request until the spans
//   are flushed into blocks (POST /flush) and the server is idle again; compaction
//   runs with its defaults, and whatever of it starts before the server is idle is
//   counted (bench/sustained-ingest.ts).
// - Receive only: the same run's CPU over the ingest window alone; and the wall-clock
//   rate of that window.
// - Both against the pure-decode ceiling measured in the same run.
// - Trace by ID on the flushed blocks: 200 distinct random ingested traces, one at a
//   time; p50, p99 and server CPU per lookup.
// - Disk per span after the flush (everything under blocks/), RSS after the flush
//   and at the end (after the lookups).
//
// With a baseline build (run.ts --baseline), its server runs the same rounds
// interleaved with this one's, the order alternating, and each figure is also
// reported for it and as this build over the baseline, per round.
import { makeFigure, type BenchContext } from '../figure.js';
import { blockUsage, walBytes, type BlockUsage } from '../disk-usage.js';
import { peakRssBytes, rssBytes } from '../proc-stats.js';
import { scrapeSum } from '../server-metrics.js';
import { withFreshServer, type ServerBuild } from '../server-under-test.js';
import { median, percentile, roundTo } from '../stats.js';
import { measureSustainedIngest, type SustainedIngest } from '../sustained-ingest.js';
import { TEMPO_2_2_4, TEMPO_SOURCE, tempoValue } from '../tempo-baseline.js';
import { lookupIds, lookupPass, type LookupPass } from '../trace-lookups.js';
import { referenceRequests } from '../workload-cache.js';
import { DEFAULT_SPANS_PER_REQUEST } from '../workload.js';
import { ceiling, type Ceiling } from './decode-ceiling.js';
import { CONNECTIONS } from './ingest.js';

const LOOKUP_SEED = 15;
const COMPACTIONS_METRIC = 'skein_compactions_total';
const MiB = 1024 * 1024;

interface Round {
  build: ServerBuild;
  ingest: SustainedIngest;
  disk: BlockUsage;
  walBytesAfterFlush: number;
  /** Compactions done by the end of the sustained measurement. */
  compactions: number;
  rssAfterFlush: number;
  lookups: LookupPass;
  rssAtEnd: number;
  peakRss: number;
}

/** One figure of the group: how to read it from a round, and what issue 15 asks of it. */
interface Measure {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  value(r: Round): number;
  target?: number;
  context?(rounds: readonly Round[], top: Ceiling): Record<string, unknown>;
}

const perCpu = (r: Round) => r.ingest.send.acceptedSpans / r.ingest.serverCpuSeconds;
const receivePerCpu = (r: Round) => r.ingest.send.acceptedSpans / r.ingest.receiveCpuSeconds;
const lookupContext = (rounds: readonly Round[]) => ({
  lookups: rounds[0]?.lookups.ms.length,
  where: 'flushed blocks, after the sustained measurement',
  distinctIds: true,
  sequential: true,
  accept: 'application/protobuf',
  failedLookups: rounds.map((r) => r.lookups.failed),
  medianSpansReturned: median(rounds.flatMap((r) => r.lookups.spans)),
});

const MEASURES: readonly Measure[] = [
  {
    name: 'cpu-efficiency',
    unit: 'spans/server-CPU-s',
    better: 'higher',
    value: perCpu,
    target: 100_000,
    context: (rounds, top) => ({
      measured: 'server CPU (/proc, all threads) from the first request until every span was stored, POST /flush answered, and the server idle (under 5 % of a core for two 500 ms windows); compaction on, with its defaults',
      ratioToCeiling: roundTo(median(rounds.map(perCpu)) / top.spansPerCpuSecond, 3),
      serverCpuSeconds: rounds.map((r) => roundTo(r.ingest.serverCpuSeconds, 3)),
      receiveCpuSeconds: rounds.map((r) => roundTo(r.ingest.receiveCpuSeconds, 3)),
      flushMs: rounds.map((r) => Math.round(r.ingest.flushMs)),
      blocksAfterFlush: rounds.map((r) => r.disk.blocks),
      compactionsDone: rounds.map((r) => r.compactions),
    }),
  },
  {
    name: 'receive.cpu-efficiency',
    unit: 'spans/server-CPU-s',
    better: 'higher',
    value: receivePerCpu,
    target: 200_000,
    context: (rounds, top) => ({
      measured: 'server CPU from the first request until the last was answered (the ingest window only)',
      ratioToCeiling: roundTo(median(rounds.map(receivePerCpu)) / top.spansPerCpuSecond, 3),
      receiveCpuSeconds: rounds.map((r) => roundTo(r.ingest.receiveCpuSeconds, 3)),
    }),
  },
  {
    name: 'receive.throughput',
    unit: 'spans/s',
    better: 'higher',
    value: (r) => r.ingest.send.acceptedSpans / r.ingest.send.wallSeconds,
    context: (rounds) => ({ measured: 'accepted spans over the wall-clock ingest window (2 cores, the sender included)', wallSeconds: rounds.map((r) => roundTo(r.ingest.send.wallSeconds, 3)) }),
  },
  { name: 'trace-by-id.p50', unit: 'ms', better: 'lower', value: (r) => percentile(r.lookups.ms, 0.5), target: 5, context: lookupContext },
  { name: 'trace-by-id.p99', unit: 'ms', better: 'lower', value: (r) => percentile(r.lookups.ms, 0.99), target: 10, context: lookupContext },
  { name: 'trace-by-id.server-cpu-per-lookup', unit: 'ms', better: 'lower', value: (r) => r.lookups.serverCpuPerLookupMs, target: 5, context: lookupContext },
  {
    name: 'storage.bytes-per-span',
    unit: 'bytes/span',
    better: 'lower',
    value: (r) => r.disk.allBytes / r.ingest.send.acceptedSpans,
    target: 30,
    context: (rounds) => ({
      measured: 'every file under blocks/ after the flush (parts, bloom filters, indexes, meta), over the accepted spans',
      blocks: rounds.map((r) => r.disk.blocks),
      bytesByFile: rounds.map((r) => ({ ...r.disk.byFile, other: r.disk.allBytes - r.disk.blockFileBytes })),
      walBytesAfterFlush: rounds.map((r) => r.walBytesAfterFlush),
    }),
  },
  {
    name: 'memory.rss-after-flush',
    unit: 'bytes',
    better: 'lower',
    value: (r) => r.rssAfterFlush,
    context: () => ({ measured: 'VmRSS once the server was idle after POST /flush' }),
  },
  {
    name: 'memory.rss-at-end',
    unit: 'bytes',
    better: 'lower',
    value: (r) => r.rssAtEnd,
    context: (rounds) => ({ measured: 'VmRSS after the trace-by-ID lookups', kernelPeakRss: rounds.map((r) => r.peakRss) }),
  },
];

export async function runSustained(ctx: BenchContext, spans: number, lookups: number, builds: readonly ServerBuild[]): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  const top = await ceiling(ctx, spans);
  const ids = lookupIds(workload.traceIds, lookups, LOOKUP_SEED);
  const rounds = new Map<ServerBuild, Round[]>(builds.map((b) => [b, []]));
  for (let run = 0; run < ctx.runs; run++) {
    // Alternating order, so that drift on a shared machine favours neither build.
    for (const build of run % 2 === 0 ? builds : [...builds].reverse()) {
      const r = await withFreshServer(async (server) => {
        const ingest = await measureSustainedIngest([server], workload);
        const rssAfterFlush = rssBytes(server.pid);
        const disk = blockUsage(server.proc.dataDir);
        const walBytesAfterFlush = walBytes(server.proc.dataDir);
        // A labelled counter has no series until the first compaction.
        const compactions = (await scrapeSum(server.proc.url, COMPACTIONS_METRIC)) ?? 0;
        const pass = await lookupPass(server, ids);
        return { build, ingest, disk, walBytesAfterFlush, compactions, rssAfterFlush, lookups: pass, rssAtEnd: rssBytes(server.pid), peakRss: peakRssBytes(server.pid) };
      }, { cliPath: build.cliPath });
      rounds.get(build)!.push(r);
      ctx.log(
        `sustained run ${run + 1}/${ctx.runs} (${build.name} ${build.commit ?? build.dir}): ${Math.round(perCpu(r))} spans/CPU-s sustained, ` +
          `${Math.round(receivePerCpu(r))} receive only, ${Math.round(r.ingest.send.acceptedSpans / r.ingest.send.wallSeconds)} spans/s; ` +
          `flush ${Math.round(r.ingest.flushMs)} ms; trace by ID p50 ${percentile(r.lookups.ms, 0.5).toFixed(1)} / p99 ${percentile(r.lookups.ms, 0.99).toFixed(1)} ms, ` +
          `${r.lookups.serverCpuPerLookupMs.toFixed(1)} ms CPU; ${(r.disk.allBytes / r.ingest.send.acceptedSpans).toFixed(1)} B/span; ` +
          `RSS ${(r.rssAfterFlush / MiB).toFixed(0)} / ${(r.rssAtEnd / MiB).toFixed(0)} MiB; refused ${r.ingest.send.refusedSpans}`,
      );
    }
  }
  emitFigures(ctx, rounds, top, workload.spanCount, workload.bodies.length);
}

function emitFigures(ctx: BenchContext, rounds: ReadonlyMap<ServerBuild, readonly Round[]>, top: Ceiling, spans: number, requests: number): void {
  const [current, baseline] = [...rounds.keys()];
  const common = (rs: readonly Round[]) => ({
    protocol: 'http-protobuf',
    spansSent: spans,
    requests,
    spansPerRequest: DEFAULT_SPANS_PER_REQUEST,
    connections: CONNECTIONS,
    acceptedSpans: rs.map((r) => r.ingest.send.acceptedSpans),
    refusedSpans: rs.map((r) => r.ingest.send.refusedSpans),
    ceilingSpansPerCpuSecond: Math.round(top.spansPerCpuSecond),
    ceilingDecoder: top.decoder,
  });
  const targetContext = (m: Measure, values: readonly number[]) =>
    m.target === undefined ? {} : { target: m.target, targetReached: m.better === 'higher' ? median(values) >= m.target : median(values) <= m.target, targetFrom: 'issue 15' };
  const tempoContext = (name: string) => {
    const tempo = TEMPO_2_2_4[name];
    return tempo === undefined ? {} : { tempo: { rounds: tempo.rounds, median: tempoValue(name), source: TEMPO_SOURCE, ...(tempo.note ? { note: tempo.note } : {}) } };
  };
  for (const [build, prefix] of [[current, 'sustained'], [baseline, 'sustained.baseline']] as const) {
    if (build === undefined) continue;
    const rs = rounds.get(build)!;
    for (const m of MEASURES) {
      const values = rs.map(m.value);
      const name = `${prefix}.${m.name}`;
      ctx.emit(
        makeFigure(ctx, name, m.unit, values, {
          ...common(rs),
          build: build.name,
          buildCommit: build.commit,
          buildDir: build.dir,
          ...m.context?.(rs, top),
          ...targetContext(m, values),
          ...tempoContext(name),
        }),
      );
    }
  }
  if (baseline === undefined) return;
  const ours = rounds.get(current!)!;
  const theirs = rounds.get(baseline)!;
  for (const m of MEASURES) {
    ctx.emit(
      makeFigure(ctx, `sustained.vs-baseline.${m.name}`, 'ratio', ours.map((r, i) => m.value(r) / m.value(theirs[i]!)), {
        what: `this build's ${m.name} over the baseline's, per round of interleaved runs (${m.better} is better)`,
        better: m.better,
        baselineCommit: baseline.commit,
        baselineDir: baseline.dir,
      }),
    );
  }
}
