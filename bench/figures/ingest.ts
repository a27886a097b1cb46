// Ingest throughput: the reference workload sent to a fresh server over four
// concurrent connections, per protocol. Reported three ways: accepted spans
// per wall second (what the machine does, client included), spans per server
// CPU-second (what a core of the server does), and the server's peak RSS.
import { makeFigure, type BenchContext } from '../figure.js';
import { cpuSeconds, peakRssBytes, RssSampler } from '../proc-stats.js';
import { exportAllGrpc, postAll, type SendResult } from '../senders.js';
import { withFreshServer } from '../server-under-test.js';
import { median, roundTo } from '../stats.js';
import { ceiling } from './decode-ceiling.js';
import { referenceRequests } from '../workload-cache.js';
import { DEFAULT_SPANS_PER_REQUEST } from '../workload.js';

export const INGEST_PROTOCOLS = ['http-protobuf', 'http-json', 'grpc'] as const;
export type IngestProtocol = (typeof INGEST_PROTOCOLS)[number];
export const CONNECTIONS = 4;

interface RunMeasure {
  send: SendResult;
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  peakRss: number;
  peakRssKernel: number;
}

export async function runIngest(ctx: BenchContext, protocol: IngestProtocol, spans: number): Promise<void> {
  const format = protocol === 'http-json' ? 'json' : 'protobuf';
  const workload = referenceRequests(spans, format, ctx.log);
  const top = await ceiling(ctx, spans);
  const runs: RunMeasure[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const m = await withFreshServer(async ({ proc, pid }) => {
      const sampler = new RssSampler(pid).start();
      const cpu0 = cpuSeconds(pid);
      const client0 = process.cpuUsage();
      const send =
        protocol === 'grpc'
          ? await exportAllGrpc(proc.grpcAddr, workload, CONNECTIONS)
          : await postAll(`${proc.otlpHttpUrl}/v1/traces`, workload, format, CONNECTIONS);
      const serverCpuSeconds = cpuSeconds(pid) - cpu0;
      const client = process.cpuUsage(client0);
      return {
        send,
        serverCpuSeconds,
        clientCpuSeconds: (client.user + client.system) / 1e6,
        peakRss: sampler.stop(),
        peakRssKernel: peakRssBytes(pid),
      };
    });
    runs.push(m);
    ctx.log(
      `ingest ${protocol} run ${run + 1}/${ctx.runs}: ${Math.round(m.send.acceptedSpans / m.send.wallSeconds)} spans/s, ` +
        `${Math.round(m.send.acceptedSpans / m.serverCpuSeconds)} spans/CPU-s, refused ${m.send.refusedSpans}`,
    );
  }

  const refusedSpans = runs.map((r) => r.send.refusedSpans);
  const refusals: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.send.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
  const common = {
    protocol,
    spansSent: workload.spanCount,
    requests: workload.bodies.length,
    spansPerRequest: DEFAULT_SPANS_PER_REQUEST,
    connections: CONNECTIONS,
    acceptedSpans: runs.map((r) => r.send.acceptedSpans),
    refusedSpans,
    refusedRequests: runs.map((r) => r.send.refusedRequests),
    refusals,
    refusalSamples: runs.flatMap((r) => r.send.refusalSamples).slice(0, 5),
    ceilingSpansPerCpuSecond: Math.round(top.spansPerCpuSecond),
    ceilingDecoder: top.decoder,
  };
  const wall = runs.map((r) => r.send.acceptedSpans / r.send.wallSeconds);
  const perCpu = runs.map((r) => r.send.acceptedSpans / r.serverCpuSeconds);
  const name = `ingest.${protocol}`;
  ctx.emit(
    makeFigure(ctx, `${name}.throughput`, 'spans/s', wall, {
      ...common,
      // Wall throughput uses every core (and the sender shares them); the ceiling is one core.
      ratioToCeiling: roundTo(median(wall) / top.spansPerCpuSecond, 3),
      wallSeconds: runs.map((r) => roundTo(r.send.wallSeconds, 3)),
      clientCpuSeconds: runs.map((r) => roundTo(r.clientCpuSeconds, 3)),
    }),
  );
  ctx.emit(
    makeFigure(ctx, `${name}.cpu-efficiency`, 'spans/server-CPU-s', perCpu, {
      ...common,
      ratioToCeiling: roundTo(median(perCpu) / top.spansPerCpuSecond, 3),
      serverCpuSeconds: runs.map((r) => roundTo(r.serverCpuSeconds, 3)),
    }),
  );
  ctx.emit(
    makeFigure(ctx, `${name}.peak-rss`, 'bytes', runs.map((r) => r.peakRss), {
      ...common,
      sampledEveryMs: 100,
      kernelPeakRss: runs.map((r) => r.peakRssKernel),
    }),
  );
}
