// Bytes per span on the wire: a property of the workload, recorded so that
// the other figures can be read against it (BENCHMARK.md expects ≈ 240 as protobuf).
import { makeFigure, type BenchContext } from '../figure.js';
import { totalBytes } from '../workload.js';
import { referenceRequests } from '../workload-cache.js';

export async function runWireSize(ctx: BenchContext, spans: number): Promise<void> {
  for (const format of ['protobuf', 'json'] as const) {
    const w = referenceRequests(spans, format, ctx.log);
    const bytes = totalBytes(w.bodies);
    ctx.emit(
      makeFigure(ctx, `wire.${format}.bytes-per-span`, 'bytes/span', [bytes / w.spanCount], {
        spans: w.spanCount,
        traces: w.traceIds.length,
        requests: w.bodies.length,
        meanRequestBytes: Math.round(bytes / w.bodies.length),
      }),
    );
  }
}
