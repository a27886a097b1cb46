// End-to-end visibility: how long after the receiver acknowledges a trace
// the query API returns it whole. One trace per request, so that the
// acknowledgement is for exactly the spans we then look for; polled back to
// back, so the figure's resolution is one lookup's round trip.
import { makeFigure, type BenchContext } from '../figure.js';
import { withFreshServer } from '../server-under-test.js';
import { median, percentile, roundTo } from '../stats.js';
import { getTrace } from '../trace-response.js';
import { singleTraceRequests } from '../workload.js';

const VISIBILITY_SEED = 2;
const GIVE_UP_MS = 10_000;

export async function runVisibility(ctx: BenchContext, traces: number): Promise<void> {
  const requests = singleTraceRequests({ seed: VISIBILITY_SEED, traces, format: 'protobuf' });
  const runMedians: number[] = [];
  const runP99s: number[] = [];
  const polls: number[] = [];
  let timeouts = 0;
  let refused = 0;
  for (let run = 0; run < ctx.runs; run++) {
    const latencies = await withFreshServer(async ({ proc }) => {
      const out: number[] = [];
      for (const req of requests) {
        const ack = await fetch(`${proc.otlpHttpUrl}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: req.body,
        });
        await ack.arrayBuffer();
        if (ack.status !== 200) {
          refused++;
          continue;
        }
        const acked = performance.now();
        for (let n = 1; ; n++) {
          const answer = await getTrace(proc.url, req.traceId, 'protobuf');
          const elapsed = performance.now() - acked;
          if (answer.status === 200 && answer.spans >= req.spans) {
            out.push(elapsed);
            polls.push(n);
            break;
          }
          if (elapsed > GIVE_UP_MS) {
            timeouts++;
            break;
          }
        }
      }
      return out;
    });
    if (latencies.length === 0) throw new Error('no trace became visible (every request refused or timed out)');
    runMedians.push(median(latencies));
    runP99s.push(percentile(latencies, 0.99));
    ctx.log(`visibility run ${run + 1}/${ctx.runs}: median ${median(latencies).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`);
  }
  ctx.emit(
    makeFigure(ctx, 'visibility.ack-to-visible', 'ms', runMedians, {
      statistic: 'median over traces, per run',
      tracesPerRun: traces,
      p99PerRun: runP99s.map((v) => roundTo(v, 3)),
      medianPolls: median(polls),
      timeouts,
      refusedRequests: refused,
      giveUpMs: GIVE_UP_MS,
      lookupFormat: 'application/protobuf',
    }),
  );
}
