// Tag names and values (the TraceQL editor's autocomplete) with the reference
// workload stored: first as ingested at full speed (blocks cut by size while
// ingesting, the rest in the head: what an editor asks of a busy server), then
// after POST /flush (everything in blocks, issue 10's "flushed" target). Each
// request is timed end to end, sequentially over one keep-alive connection.
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

const STATES = ['as-ingested', 'flushed'] as const;
type State = (typeof STATES)[number];

interface StateRun {
  blocks: number;
  /** Spans in the head when the requests began (the head may be cut by age while they run). */
  headSpans: number | undefined;
  /** figure → milliseconds of each request. */
  ms: Map<string, number[]>;
  /** figure → number of values or names in the answer (the same each run, or the answer changed). */
  answerSize: Map<string, number>;
}

interface TagRun {
  storedSpans: number;
  states: Map<State, StateRun>;
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

async function measure(baseUrl: string, dataDir: string, requests: number): Promise<StateRun> {
  const out: StateRun = { blocks: blockUsage(dataDir).blocks, headSpans: await scrapeSum(baseUrl, 'skein_head_spans'), ms: new Map(), answerSize: new Map() };
  for (const { figure, path } of REQUESTS) {
    const url = `${baseUrl}${path}`;
    // The first answer sets up the connection (and any lazy loading) outside the timing.
    out.answerSize.set(figure, (await timed(url)).size);
    const ms: number[] = [];
    for (let i = 0; i < requests; i++) ms.push((await timed(url)).ms);
    out.ms.set(figure, ms);
  }
  return out;
}

export async function runTagValues(ctx: BenchContext, spans: number, requests: number): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  const runs: TagRun[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const r = await withFreshServer(async ({ proc }) => {
      const sent = await postAll(`${proc.otlpHttpUrl}/v1/traces`, workload, 'protobuf', CONNECTIONS);
      if (sent.acceptedSpans === 0) throw new Error(`the server accepted no spans: ${sent.refusalSamples.join('; ')}`);
      const states = new Map<State, StateRun>();
      states.set('as-ingested', await measure(proc.url, proc.dataDir, requests));
      const flush = await fetch(`${proc.url}/flush`, { method: 'POST' });
      if (!flush.ok) throw new Error(`POST /flush answered ${flush.status}: ${(await flush.text()).slice(0, 300)}`);
      states.set('flushed', await measure(proc.url, proc.dataDir, requests));
      return { storedSpans: sent.acceptedSpans, states };
    });
    runs.push(r);
    for (const state of STATES) {
      const s = r.states.get(state)!;
      ctx.log(
        `tags ${spans} run ${run + 1}/${ctx.runs} ${state}: ${s.blocks} blocks and ${s.headSpans ?? '?'} spans in the head at the start; ` +
          REQUESTS.map(({ figure }) => `${figure} p50 ${percentile(s.ms.get(figure)!, 0.5).toFixed(1)} ms`).join(', '),
      );
    }
  }
  for (const state of STATES) {
    const context = {
      storedSpans: runs.map((r) => r.storedSpans),
      blocks: runs.map((r) => r.states.get(state)!.blocks),
      headSpans: runs.map((r) => r.states.get(state)!.headSpans),
      requests,
      sequential: true,
      where: state === 'flushed' ? 'flushed blocks (after POST /flush)' : 'as ingested: blocks cut by size while ingesting plus the head (no flush)',
    };
    for (const { figure, path } of REQUESTS) {
      const c = { ...context, path, answerSize: runs.map((r) => r.states.get(state)!.answerSize.get(figure)) };
      const ms = (q: number) => runs.map((r) => percentile(r.states.get(state)!.ms.get(figure)!, q));
      ctx.emit(makeFigure(ctx, `${figure}.${state}.p50`, 'ms', ms(0.5), c));
      ctx.emit(makeFigure(ctx, `${figure}.${state}.p99`, 'ms', ms(0.99), c));
    }
  }
}
