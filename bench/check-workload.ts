// Checks that the generated workload is the one BENCHMARK.md describes, by
// decoding the encoded bodies (not by trusting the generator): span counts,
// trace shapes, error and slow ratios, bytes per span on the wire.
// Run: node dist/bench/check-workload.js [spans] [--large]
import { countPbSpans, decodeWithProtobufjs, type PbSpan } from './otlp-proto.js';
import { generateRequests, totalBytes, traces } from './workload.js';

interface TraceShape {
  spans: number;
  roots: number;
  orphans: number;
  services: Set<string>;
  error: boolean;
  rootMs: number;
  depth: number;
}

function nanos(t: PbSpan['startTimeUnixNano']): number {
  return typeof t === 'number' ? t : t.toNumber();
}

export function checkWorkload(spans: number, largeTraces: boolean): Record<string, number | string | boolean> {
  const seed = 42;
  const startUnixMs = Date.UTC(2025, 0, 1);
  const pb = generateRequests({ seed, spans, startUnixMs, format: 'protobuf', largeTraces });
  const json = generateRequests({ seed, spans, startUnixMs, format: 'json', largeTraces });
  const again = generateRequests({ seed, spans, startUnixMs, format: 'protobuf', largeTraces });
  const deterministic =
    again.bodies.length === pb.bodies.length && again.bodies.every((b, i) => Buffer.from(b).equals(pb.bodies[i]!));

  const byTrace = new Map<string, { spans: PbSpan[]; services: Set<string> }>();
  let decoded = 0;
  for (const body of pb.bodies) {
    const data = decodeWithProtobufjs(body);
    decoded += countPbSpans(data);
    for (const rs of data.resourceSpans) {
      const service = String(rs.resource?.attributes.find((a) => a.key === 'service.name')?.value?.stringValue);
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          const id = Buffer.from(s.traceId).toString('hex');
          let t = byTrace.get(id);
          if (t === undefined) byTrace.set(id, (t = { spans: [], services: new Set() }));
          t.spans.push(s);
          t.services.add(service);
        }
      }
    }
  }
  let jsonSpans = 0;
  for (const body of json.bodies) {
    const data = JSON.parse(Buffer.from(body).toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
    for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) jsonSpans += ss.spans.length;
  }

  const shapes: TraceShape[] = [];
  for (const t of byTrace.values()) {
    const ids = new Set(t.spans.map((s) => Buffer.from(s.spanId).toString('hex')));
    const parentOf = new Map<string, string>();
    let roots = 0;
    let orphans = 0;
    let root: PbSpan | undefined;
    for (const s of t.spans) {
      const parent = Buffer.from(s.parentSpanId).toString('hex');
      if (parent === '') {
        roots++;
        root = s;
      } else if (!ids.has(parent)) orphans++;
      else parentOf.set(Buffer.from(s.spanId).toString('hex'), parent);
    }
    let depth = 0;
    for (const id of ids) {
      let d = 0;
      for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) d++;
      depth = Math.max(depth, d);
    }
    shapes.push({
      spans: t.spans.length,
      roots,
      orphans,
      services: t.services,
      error: root?.status?.code === 2,
      rootMs: root ? (nanos(root.endTimeUnixNano) - nanos(root.startTimeUnixNano)) / 1e6 : 0,
      depth,
    });
  }
  const sizes = shapes.map((s) => s.spans).sort((a, b) => a - b);
  const at = (q: number) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))] ?? 0;
  return {
    spansGenerated: pb.spanCount,
    spansDecodedProtobuf: decoded,
    spansDecodedJson: jsonSpans,
    requests: pb.bodies.length,
    traces: pb.traceIds.length,
    tracesDecoded: byTrace.size,
    deterministic,
    protobufBytesPerSpan: +(totalBytes(pb.bodies) / pb.spanCount).toFixed(1),
    jsonBytesPerSpan: +(totalBytes(json.bodies) / json.spanCount).toFixed(1),
    meanSpansPerTrace: +(pb.spanCount / pb.traceIds.length).toFixed(2),
    p5SpansPerTrace: at(0.05),
    p50SpansPerTrace: at(0.5),
    p95SpansPerTrace: at(0.95),
    maxSpansPerTrace: sizes[sizes.length - 1] ?? 0,
    tracesOver1000Spans: sizes.filter((n) => n >= 1000).length,
    maxDepth: Math.max(...shapes.map((s) => s.depth)),
    meanServicesPerTrace: +(shapes.reduce((a, s) => a + s.services.size, 0) / shapes.length).toFixed(2),
    tracesWithOneRoot: shapes.filter((s) => s.roots === 1).length,
    orphanSpans: shapes.reduce((a, s) => a + s.orphans, 0),
    errorTraceShare: +(shapes.filter((s) => s.error).length / shapes.length).toFixed(4),
    slowTraceShare: +(shapes.filter((s) => s.rootMs > 500).length / shapes.length).toFixed(4),
    medianRootMs: +(shapes.map((s) => s.rootMs).sort((a, b) => a - b)[Math.floor(shapes.length / 2)] ?? 0).toFixed(1),
  };
}

/** Generator-side tallies (independent of encoding), to cross-check the decoded ratios. */
export function generatorTallies(spans: number): Record<string, number> {
  let n = 0;
  let errors = 0;
  let slow = 0;
  for (const t of traces({ seed: 42, spans, startUnixMs: Date.UTC(2025, 0, 1) })) {
    n++;
    if (t.error) errors++;
    if (t.slow) slow++;
  }
  return { traces: n, errorShare: errors / n, slowShare: slow / n };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const spans = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
  const large = process.argv.includes('--large');
  const t0 = performance.now();
  const result = checkWorkload(spans, large);
  console.log(JSON.stringify({ ...result, generator: generatorTallies(spans), seconds: +((performance.now() - t0) / 1000).toFixed(1) }, null, 2));
}
