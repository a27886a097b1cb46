// Trace-by-ID passes: random stored trace IDs looked up one at a time (keep-alive,
// application/protobuf), with each answer's latency and the server's CPU over the
// pass, as the trace-by-ID figures report them.
import { Rng } from './prng.js';
import { cpuSeconds } from './proc-stats.js';
import { scrapeSum } from './server-metrics.js';
import type { ServerUnderTest } from './server-under-test.js';
import { getTrace } from './trace-response.js';

export interface LookupPass {
  ms: number[];
  /** Spans each answer held. */
  spans: number[];
  failed: number;
  serverCpuPerLookupMs: number;
  /** The content type the server answered with (the last answer's). */
  contentType: string;
  /** Bytes a bucket served during the pass, by `bucketMetric` (undefined without one). */
  bucketBytes?: number;
}

/** `count` distinct IDs from `traceIds`, the first of a seeded shuffle: the same ones for the same seed. */
export function lookupIds(traceIds: readonly string[], count: number, seed: number): string[] {
  const rng = new Rng(seed);
  const pool = [...traceIds];
  const n = Math.min(count, pool.length);
  // Partial Fisher-Yates: the first n of a seeded shuffle.
  for (let i = 0; i < n; i++) {
    const j = rng.int(i, pool.length - 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

/**
 * Looks each ID up in turn. Fails when more than a tenth were not found: the
 * figure would describe errors, not lookups. With `bucketMetric`, also the bytes
 * the server's counter says it read from the bucket meanwhile.
 */
export async function lookupPass(server: ServerUnderTest, ids: readonly string[], bucketMetric?: string): Promise<LookupPass> {
  const bytes0 = bucketMetric ? await scrapeSum(server.proc.url, bucketMetric) : undefined;
  const cpu0 = cpuSeconds(server.pid);
  const ms: number[] = [];
  const spans: number[] = [];
  let failed = 0;
  let contentType = '';
  for (const id of ids) {
    const answer = await getTrace(server.proc.url, id, 'protobuf');
    ms.push(answer.ms);
    spans.push(answer.spans);
    contentType = answer.contentType;
    if (answer.status !== 200 || answer.spans === 0) failed++;
  }
  const serverCpuPerLookupMs = ((cpuSeconds(server.pid) - cpu0) / ids.length) * 1000;
  if (failed > ids.length / 10) throw new Error(`${failed} of ${ids.length} stored traces were not found by ID on ${server.proc.url}`);
  const pass: LookupPass = { ms, spans, failed, serverCpuPerLookupMs, contentType };
  if (bucketMetric) pass.bucketBytes = ((await scrapeSum(server.proc.url, bucketMetric)) ?? 0) - (bytes0 ?? 0);
  return pass;
}
