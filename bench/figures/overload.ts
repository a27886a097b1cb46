// Overload on both protocols at once: 64 OTLP/HTTP and 32 OTLP/gRPC exporters
// push 1,000-span requests at a server with a memory_limiter for a bounded
// time, far beyond what it can store, and retry what it refuses as the SDK
// would. Reports the server's peak RSS against the limit, every answer by
// protocol and code (and whether each refusal was retryable by OTLP's rules),
// the latency of /metrics and /ready during the load, and, after a flush,
// how many acknowledged spans read back (none may be missing).
import { makeFigure, type BenchContext } from '../figure.js';
import { peakRssBytes, RssSampler } from '../proc-stats.js';
import { withFreshServer } from '../server-under-test.js';
import { percentile, roundTo } from '../stats.js';
import { getTrace } from '../trace-response.js';
import { LatencyProbe, nonRetryable, overload, requestBytes } from '../../test/helpers/overload.js';

const MiB = 1024 * 1024;
/** Concurrent trace lookups when reading the acknowledged spans back. */
const READERS = 4;
export const OVERLOAD = { httpClients: 64, grpcClients: 32, spansPerRequest: 1000, limitMib: 1024 } as const;

export async function runOverload(ctx: BenchContext): Promise<void> {
  const durationMs = ctx.quick ? 10_000 : 20_000;
  const { httpClients, grpcClients, spansPerRequest, limitMib } = OVERLOAD;
  const configYaml = `processors:\n  memory_limiter: {limit_mib: ${limitMib}}\n`;
  await withFreshServer(
    async ({ proc, pid }) => {
      const sampler = new RssSampler(pid, 20).start();
      const probe = new LatencyProbe(proc.url, ['/metrics', '/ready']);
      ctx.log(`overload: ${httpClients} HTTP + ${grpcClients} gRPC clients, ${spansPerRequest}-span requests, ${durationMs / 1000} s, limit_mib ${limitMib}`);
      const load = await overload({ otlpHttpUrl: proc.otlpHttpUrl, grpcAddr: proc.grpcAddr, httpClients, grpcClients, spansPerRequest, durationMs });
      await probe.stop();
      const peakSampled = sampler.stop();
      const peakKernel = peakRssBytes(pid);

      const flush = await fetch(`${proc.url}/flush`, { method: 'POST' });
      if (flush.status !== 204) throw new Error(`/flush answered ${flush.status}: ${await flush.text()}`);
      let readBack = 0;
      const missing: string[] = [];
      const queue = [...load.acknowledged];
      const reader = async () => {
        for (let traceId = queue.pop(); traceId !== undefined; traceId = queue.pop()) {
          const answer = await getTrace(proc.url, traceId, 'protobuf');
          readBack += Math.min(answer.spans, spansPerRequest);
          if (answer.spans < spansPerRequest) missing.push(`${traceId}: ${answer.spans}/${spansPerRequest} (HTTP ${answer.status})`);
        }
      };
      await Promise.all(Array.from({ length: READERS }, reader));

      const latency = (path: string) => {
        const values = probe.latencies.get(path) ?? [];
        return {
          samples: values.length,
          failed: probe.failures.get(path) ?? 0,
          p50Ms: roundTo(percentile(values, 0.5), 3),
          p99Ms: roundTo(percentile(values, 0.99), 3),
          maxMs: roundTo(Math.max(...values), 3),
        };
      };
      const context = {
        httpClients,
        grpcClients,
        spansPerRequest,
        requestBytes: requestBytes(spansPerRequest),
        durationSeconds: durationMs / 1000,
        limitMib,
        peakRssMib: roundTo(peakKernel / MiB, 4),
        peakRssSampledMib: roundTo(peakSampled / MiB, 4),
        requests: load.requests,
        acknowledgedSpans: load.acknowledgedSpans,
        readBackSpans: readBack,
        lostSpans: load.acknowledgedSpans - readBack,
        missingSample: missing.slice(0, 5),
        answers: load.answers,
        nonRetryableRefusals: nonRetryable(load),
        metricsLatency: latency('/metrics'),
        readyLatency: latency('/ready'),
      };
      ctx.log(
        `overload: peak RSS ${context.peakRssMib} MiB (limit ${limitMib}), acknowledged ${load.acknowledgedSpans} spans, read back ${readBack}, ` +
          `answers ${Object.entries(load.answers)
            .map(([k, a]) => `${k}${a.retryable ? '' : '!'} ${a.count}`)
            .join(', ')}; /metrics p99 ${context.metricsLatency.p99Ms} ms, /ready p99 ${context.readyLatency.p99Ms} ms`,
      );
      ctx.emit(makeFigure(ctx, 'overload.peak-rss', 'MiB', [context.peakRssMib], context));
      ctx.emit(makeFigure(ctx, 'overload.metrics-p99', 'ms', [context.metricsLatency.p99Ms], { path: '/metrics', ...context.metricsLatency }));
      ctx.emit(makeFigure(ctx, 'overload.ready-p99', 'ms', [context.readyLatency.p99Ms], { path: '/ready', ...context.readyLatency }));
      ctx.emit(makeFigure(ctx, 'overload.lost-spans', 'spans', [context.lostSpans], { acknowledgedSpans: load.acknowledgedSpans, readBackSpans: readBack }));
    },
    { configYaml },
  );
}
