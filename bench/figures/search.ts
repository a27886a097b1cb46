// TraceQL search latency (issue 3's targets) with the reference workload
// stored: first as ingested at full speed (blocks cut by size while ingesting,
// the rest in the head: what a busy server searches), then after POST /flush
// (everything in blocks). Each request asks Grafana's way (the last hour,
// limit 20) and is timed end to end, sequentially over one keep-alive
// connection.
import { makeFigure, type BenchContext } from '../figure.js';
import { blockUsage } from '../disk-usage.js';
import { postAll } from '../senders.js';
import { scrapeSum } from '../server-metrics.js';
import { withFreshServer } from '../server-under-test.js';
import { percentile } from '../stats.js';
import { referenceRequests } from '../workload-cache.js';
import { CONNECTIONS } from './ingest.js';

/** The workload's services are named as the queries expect (frontend roots, payment among the backends). */
const QUERIES = [
  { figure: 'search.payment-errors', q: '{ resource.service.name = "payment" && status = error }' },
  { figure: 'search.slow-server', q: '{ duration > 500ms && kind = server }' },
  { figure: 'search.structural', q: '{ resource.service.name = "frontend" } >> { status = error }' },
  // Issue 10's "hard" queries: a regex on an attribute of either scope, a second pass that needs
  // attribute values, a per-trace aggregate, and two spanset filters that must both hold.
  { figure: 'search.regex-attribute', q: '{ .db.namespace =~ "pay.*" }' },
  { figure: 'search.select', q: '{ name = "POST /api/login" } | select(span.http.route, resource.service.version)' },
  { figure: 'search.aggregate', q: '{ kind = server } | avg(duration) > 100ms' },
  { figure: 'search.two-filters', q: '{ resource.service.name = "checkout" } && { resource.service.name = "cart" && status = error }' },
] as const;

const LIMIT = 20;
const STATES = ['as-ingested', 'flushed'] as const;
type State = (typeof STATES)[number];

interface StateRun {
  blocks: number;
  headSpans: number | undefined;
  /** figure → milliseconds of each request. */
  ms: Map<string, number[]>;
  /** figure → traces in the answer (the same each request, or the answer changed). */
  traces: Map<string, number>;
}

interface SearchRun {
  storedSpans: number;
  states: Map<State, StateRun>;
}

async function timed(url: string): Promise<{ ms: number; traces: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { traces?: unknown[] };
  return { ms, traces: body.traces?.length ?? 0 };
}

async function measure(baseUrl: string, dataDir: string, requests: number): Promise<StateRun> {
  const out: StateRun = { blocks: blockUsage(dataDir).blocks, headSpans: await scrapeSum(baseUrl, 'skein_head_spans'), ms: new Map(), traces: new Map() };
  const end = Math.ceil(Date.now() / 1000);
  for (const { figure, q } of QUERIES) {
    const params = new URLSearchParams({ q, limit: String(LIMIT), start: String(end - 3600), end: String(end) });
    const url = `${baseUrl}/api/search?${params}`;
    // The first answer sets up the connection (and any lazy loading) outside the timing.
    const first = await timed(url);
    out.traces.set(figure, first.traces);
    const ms: number[] = [];
    for (let i = 0; i < requests; i++) {
      const r = await timed(url);
      if (r.traces !== first.traces) throw new Error(`${figure}: ${r.traces} traces in one answer, ${first.traces} in the first`);
      ms.push(r.ms);
    }
    out.ms.set(figure, ms);
  }
  return out;
}

export async function runSearch(ctx: BenchContext, spans: number, requests: number): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  const runs: SearchRun[] = [];
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
      // A slow search is a figure to report, not a refusal (query.timeout is 30s by default).
    }, { configYaml: 'query:\n  timeout: 10m\n' });
    runs.push(r);
    for (const state of STATES) {
      const s = r.states.get(state)!;
      ctx.log(
        `search ${spans} run ${run + 1}/${ctx.runs} ${state}: ${s.blocks} blocks, ${s.headSpans ?? '?'} spans in the head; ` +
          QUERIES.map(({ figure }) => `${figure} p50 ${percentile(s.ms.get(figure)!, 0.5).toFixed(1)} ms`).join(', '),
      );
    }
  }
  for (const state of STATES) {
    const context = {
      storedSpans: runs.map((r) => r.storedSpans),
      blocks: runs.map((r) => r.states.get(state)!.blocks),
      headSpans: runs.map((r) => r.states.get(state)!.headSpans),
      requests,
      limit: LIMIT,
      range: 'the last hour (start/end in seconds, as Grafana sends)',
      sequential: true,
      where: state === 'flushed' ? 'flushed blocks (after POST /flush)' : 'as ingested: blocks cut by size while ingesting plus the head (no flush)',
    };
    for (const { figure, q } of QUERIES) {
      const c = { ...context, q, traces: runs.map((r) => r.states.get(state)!.traces.get(figure)) };
      const ms = (q: number) => runs.map((r) => percentile(r.states.get(state)!.ms.get(figure)!, q));
      ctx.emit(makeFigure(ctx, `${figure}.${state}.p50`, 'ms', ms(0.5), c));
      ctx.emit(makeFigure(ctx, `${figure}.${state}.p99`, 'ms', ms(0.99), c));
    }
  }
}
