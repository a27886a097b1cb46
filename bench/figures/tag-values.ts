// Tag names and values (the TraceQL editor's autocomplete) with the reference
// workload stored: ingested at full speed and left as the server keeps it
// (blocks cut by size while ingesting, the rest in the head), which is what an
// editor asks of a busy server. Each request is timed end to end, sequentially
// over one keep-alive connection.
import { makeFigure, type BenchContext } from '../figure.js';
import { blockUsage } from '../disk-usage.js';
import { postAll } from '../senders.js';
import { scrapeSum } from '../server-metrics.js';
import { withFreshServer } from '../server-under-test.js';
import { percentile } from '../stats.js';
import { referenceRequests } from '../workload-cache.js';
import { CONNECTIONS } from './ingest.js';

/** What Grafana asks: a resource value list, a span value list, and every tag name. */
const REQUESTS = [
  { figure: 'tag-values.service-name', path: '/api/v2/search/tag/resource.service.name/values' },
  { figure: 'tag-values.http-route', path: '/api/v2/search/tag/span.http.route/values' },
  { figure: 'tag-names.all', path: '/api/v2/search/tags' },
] as const;

interface TagRun {
  storedSpans: number;
  blocks: number;
  /** Spans in the head when the requests began (the head may be cut by age while they run). */
  headSpans: number | undefined;
  /** figure → milliseconds of each request. */
  ms: Map<string, number[]>;
  /** figure → number of values or names in the answer (the same each run, or the answer changed). */
  answerSize: Map<string, number>;
}

async function timed(url: string): Promise<{ ms: number; size: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { tagValues?: unknown[]; scopes?: Array<{ tags: unknown[] }> };
  const size = body.tagValues?.length ?? (body.scopes ?? []).reduce((n, s) => n + s.tags.length, 0);
  return { ms, size };
}

export async function runTagValues(ctx: BenchContext, spans: number, requests: number): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  const runs: TagRun[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const r = await withFreshServer(async ({ proc }) => {
      const sent = await postAll(`${proc.otlpHttpUrl}/v1/traces`, workload, 'protobuf', CONNECTIONS);
      if (sent.acceptedSpans === 0) throw new Error(`the server accepted no spans: ${sent.refusalSamples.join('; ')}`);
      const out: TagRun = {
        storedSpans: sent.acceptedSpans,
        blocks: blockUsage(proc.dataDir).blocks,
        headSpans: await scrapeSum(proc.url, 'skein_head_spans'),
        ms: new Map(),
        answerSize: new Map(),
      };
      for (const { figure, path } of REQUESTS) {
        const url = `${proc.url}${path}`;
        // The first answer sets up the connection (and any lazy loading) outside the timing.
        out.answerSize.set(figure, (await timed(url)).size);
        const ms: number[] = [];
        for (let i = 0; i < requests; i++) ms.push((await timed(url)).ms);
        out.ms.set(figure, ms);
      }
      return out;
    });
    runs.push(r);
    ctx.log(
      `tags ${spans} run ${run + 1}/${ctx.runs}: ${r.blocks} blocks and ${r.headSpans ?? '?'} spans in the head at the start; ` +
        REQUESTS.map(({ figure }) => `${figure} p50 ${percentile(r.ms.get(figure)!, 0.5).toFixed(1)} ms`).join(', '),
    );
  }
  const context = {
    storedSpans: runs.map((r) => r.storedSpans),
    blocks: runs.map((r) => r.blocks),
    headSpans: runs.map((r) => r.headSpans),
    requests,
    sequential: true,
    where: 'as ingested: blocks cut by size while ingesting plus the head (no flush)',
  };
  for (const { figure, path } of REQUESTS) {
    const c = { ...context, path, answerSize: runs.map((r) => r.answerSize.get(figure)) };
    ctx.emit(makeFigure(ctx, `${figure}.p50`, 'ms', runs.map((r) => percentile(r.ms.get(figure)!, 0.5)), c));
    ctx.emit(makeFigure(ctx, `${figure}.p99`, 'ms', runs.map((r) => percentile(r.ms.get(figure)!, 0.99)), c));
  }
}
