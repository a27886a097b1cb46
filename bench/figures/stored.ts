// The figures that need a store holding many spans, measured on one such
// store per run: ingest the reference workload, record the WAL's size, flush
// it to blocks, record the blocks' size and the server's memory, then look
// traces up by ID. Split into trace-by-id, storage and memory figures.
import { makeFigure, type BenchContext } from '../figure.js';
import { blockUsage, walBytes } from '../disk-usage.js';
import { rssBytes, RssSampler } from '../proc-stats.js';
import { postAll } from '../senders.js';
import { scrapeSum } from '../server-metrics.js';
import { withFreshServer } from '../server-under-test.js';
import { median, percentile, roundTo } from '../stats.js';
import { lookupIds, lookupPass } from '../trace-lookups.js';
import { getTrace } from '../trace-response.js';
import { referenceRequests } from '../workload-cache.js';
import { CONNECTIONS } from './ingest.js';

export const STORED_GROUPS = ['trace-by-id', 'storage', 'memory'] as const;
export type StoredGroup = (typeof STORED_GROUPS)[number];

const LOOKUP_SEED = 3;
const HEAD_SPANS_METRIC = 'skein_head_spans';

interface StoredRun {
  acceptedSpans: number;
  refusedSpans: number;
  ingestSpansPerSecond: number;
  peakRssIngest: number;
  wal: WalSnapshot;
  blocksBeforeFlush: number;
  flushMs: number;
  blocks: ReturnType<typeof blockUsage>;
  rssAfterFlush: number;
  lookupMs: number[];
  failedLookups: number;
  lookupSpans: number[];
  serverCpuPerLookupMs: number;
  responseType: string;
}

interface WalSnapshot {
  bytes: number;
  /** Spans the WAL holds: those still in the head (earlier ones were cut into blocks and their WAL dropped). */
  spans: number;
  source: 'skein_head_spans' | 'accepted spans (no head gauge)';
}

/**
 * WAL size together with the number of spans it covers. The head is cut into
 * blocks as it fills, and the WAL behind a cut is deleted, so the WAL holds
 * only the head's spans; a cut running meanwhile changes both, so read until
 * the head's count is the same before and after.
 */
async function walSnapshot(baseUrl: string, dataDir: string, acceptedSpans: number): Promise<WalSnapshot> {
  for (let attempt = 0; ; attempt++) {
    const before = await scrapeSum(baseUrl, HEAD_SPANS_METRIC);
    const bytes = walBytes(dataDir);
    const after = await scrapeSum(baseUrl, HEAD_SPANS_METRIC);
    if (before === undefined || after === undefined) return { bytes, spans: acceptedSpans, source: 'accepted spans (no head gauge)' };
    if ((before === after && after > 0) || attempt >= 50) return { bytes, spans: after, source: HEAD_SPANS_METRIC };
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runStored(ctx: BenchContext, groups: ReadonlySet<StoredGroup>, spans: number, lookups: number): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  const runs: StoredRun[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const r = await withFreshServer(async ({ proc, pid }) => {
      const sampler = new RssSampler(pid).start();
      const sent = await postAll(`${proc.otlpHttpUrl}/v1/traces`, workload, 'protobuf', CONNECTIONS);
      const peakRssIngest = sampler.stop();
      if (sent.acceptedSpans === 0) throw new Error(`the server accepted no spans: ${sent.refusalSamples.join('; ')}`);
      const wal = await walSnapshot(proc.url, proc.dataDir, sent.acceptedSpans);
      const blocksBeforeFlush = blockUsage(proc.dataDir).blocks;

      const t0 = performance.now();
      const flush = await fetch(`${proc.url}/flush`, { method: 'POST' });
      const flushText = await flush.text();
      if (!flush.ok) throw new Error(`POST /flush answered ${flush.status}: ${flushText.slice(0, 300)}`);
      const flushMs = performance.now() - t0;
      const blocks = blockUsage(proc.dataDir);
      const rssAfterFlush = rssBytes(pid);

      // Random IDs among those stored, the same ones each run.
      const ids = lookupIds(workload.traceIds, lookups, LOOKUP_SEED);
      await getTrace(proc.url, ids[0]!, 'protobuf'); // connection set up outside the timing
      const pass = await lookupPass({ proc, pid }, ids);
      return {
        acceptedSpans: sent.acceptedSpans,
        refusedSpans: sent.refusedSpans,
        ingestSpansPerSecond: sent.acceptedSpans / sent.wallSeconds,
        peakRssIngest,
        wal,
        blocksBeforeFlush,
        flushMs,
        blocks,
        rssAfterFlush,
        lookupMs: pass.ms,
        failedLookups: pass.failed,
        lookupSpans: pass.spans,
        serverCpuPerLookupMs: pass.serverCpuPerLookupMs,
        responseType: pass.contentType,
      };
    });
    runs.push(r);
    ctx.log(
      `stored ${spans} run ${run + 1}/${ctx.runs}: ingest ${Math.round(r.ingestSpansPerSecond)} spans/s, flush ${Math.round(r.flushMs)} ms, ` +
        `${(r.blocks.blockFileBytes / r.acceptedSpans).toFixed(1)} B/span in blocks, lookup p50 ${percentile(r.lookupMs, 0.5).toFixed(2)} ms, ` +
        `p99 ${percentile(r.lookupMs, 0.99).toFixed(2)} ms, failed ${r.failedLookups}`,
    );
  }

  const common = {
    storedSpans: runs.map((r) => r.acceptedSpans),
    refusedSpans: runs.map((r) => r.refusedSpans),
    traces: workload.traceIds.length,
    ingestSpansPerSecond: runs.map((r) => Math.round(r.ingestSpansPerSecond)),
  };
  if (groups.has('trace-by-id')) {
    const lookupContext = {
      ...common,
      where: 'flushed blocks (after POST /flush)',
      lookups,
      distinctIds: true,
      sequential: true,
      keepAlive: true,
      accept: 'application/protobuf',
      responseContentType: runs[0]?.responseType,
      failedLookups: runs.map((r) => r.failedLookups),
      medianSpansReturned: median(runs.flatMap((r) => r.lookupSpans)),
      // What lookups may read besides the parts (the trace index among them) is on disk too.
      blockDirBytesPerSpan: runs.map((r) => roundTo(r.blocks.allBytes / r.acceptedSpans, 3)),
    };
    ctx.emit(makeFigure(ctx, 'trace-by-id.flushed.p50', 'ms', runs.map((r) => percentile(r.lookupMs, 0.5)), lookupContext));
    ctx.emit(makeFigure(ctx, 'trace-by-id.flushed.p99', 'ms', runs.map((r) => percentile(r.lookupMs, 0.99)), lookupContext));
    ctx.emit(makeFigure(ctx, 'trace-by-id.flushed.server-cpu-per-lookup', 'ms', runs.map((r) => r.serverCpuPerLookupMs), lookupContext));
  }
  if (groups.has('storage')) {
    ctx.emit(
      makeFigure(ctx, 'storage.block-bytes-per-span', 'bytes/span', runs.map((r) => r.blocks.blockFileBytes / r.acceptedSpans), {
        ...common,
        counted: 'data.parquet + bloom.bin + meta.json',
        blocks: runs.map((r) => r.blocks.blocks),
        bytesByFile: runs.map((r) => r.blocks.byFile),
        allBlockDirBytes: runs.map((r) => r.blocks.allBytes),
        flushMs: runs.map((r) => roundTo(r.flushMs, 3)),
      }),
    );
    ctx.emit(
      makeFigure(ctx, 'storage.wal-bytes-per-span', 'bytes/span', runs.map((r) => r.wal.bytes / r.wal.spans), {
        ...common,
        measured: 'all files under wal/ after the last acknowledgement, before the flush, over the spans still in the head',
        walBytes: runs.map((r) => r.wal.bytes),
        walSpans: runs.map((r) => r.wal.spans),
        walSpansFrom: runs[0]?.wal.source,
        blocksCutBeforeFlush: runs.map((r) => r.blocksBeforeFlush),
      }),
    );
  }
  if (groups.has('memory')) {
    ctx.emit(
      makeFigure(ctx, 'memory.rss-after-store', 'bytes', runs.map((r) => r.rssAfterFlush), {
        ...common,
        measured: 'VmRSS right after POST /flush returned',
      }),
    );
    ctx.emit(
      makeFigure(ctx, 'memory.peak-rss-during-ingest', 'bytes', runs.map((r) => r.peakRssIngest), {
        ...common,
        measured: 'VmRSS sampled every 100 ms while ingesting at full speed over 4 connections',
      }),
    );
  }
}
