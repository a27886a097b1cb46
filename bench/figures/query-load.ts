// Ingest under query load (issue 9's target: ingest keeps at least 80 % of its rate
// while 50 searches run). Each round starts a fresh server and stores a prefill,
// flushed into a block (so searches read a block and the head), then sends the
// reference ingest in four windows, alone, loaded, loaded, alone: in the loaded ones
// 50 clients search back to back (a mix of queries the head and blocks can narrow with
// their pushed-down condition and queries only the evaluator can judge). Alternating on
// one server cancels the drift of a shared machine and of the growing head.
// Reported: ingest spans/s unloaded and loaded, their ratio, refusals, and search
// latency (p50, p99 of the searches answered within a loaded window; those still
// queued or running when it ends are counted as unfinished) and answers by status,
// medians over rounds.
import http from 'node:http';
import { makeFigure, type BenchContext } from '../figure.js';
import { postAll, type SendResult } from '../senders.js';
import { withFreshServer } from '../server-under-test.js';
import { median, percentile, roundTo } from '../stats.js';
import { generateRequests } from '../workload.js';
import { REFERENCE_SEED } from '../workload-cache.js';
import { CONNECTIONS } from './ingest.js';

export const SEARCH_CLIENTS = 50;
/** The ingest windows of a round, in order (ABBA). */
const WINDOWS = ['alone', 'loaded', 'loaded', 'alone'] as const;

/** What Grafana users type: some narrowed by the pushed-down condition, some judged span by span. */
const QUERIES = [
  { q: '{ resource.service.name = "payment" && status = error }', pushdown: true },
  { q: '{ duration > 500ms && kind = server }', pushdown: true },
  { q: '{ resource.service.name = "frontend" } >> { status = error }', pushdown: false },
  { q: '{ span.http.response.status_code >= 500 }', pushdown: false },
  { q: '{ span.rpc.method = "Login" && duration > 200ms }', pushdown: false },
  { q: '{ name = "no-such-operation" }', pushdown: false },
] as const;

interface Round {
  unloaded: SendResult;
  loaded: SendResult;
  searchMs: number[];
  /** Searches still waiting or running when their window ended (not in searchMs). */
  searchesUnfinished: number;
  searchStatuses: Record<string, number>;
  searchSamples: string[];
}

interface SearchLoad {
  ms: number[];
  unfinished: number;
  statuses: Record<string, number>;
  samples: string[];
}

export async function runQueryLoad(ctx: BenchContext, prefillSpans: number, ingestSpans: number): Promise<void> {
  const t0 = performance.now();
  const startUnixMs = Date.now() - 15 * 60_000;
  // One workload, cut up: what is stored before the clock starts, and the timed windows.
  const all = generateRequests({ seed: REFERENCE_SEED, spans: prefillSpans + ingestSpans, format: 'protobuf', startUnixMs });
  let cut = 0;
  for (let n = 0; cut < all.bodies.length && n < prefillSpans; cut++) n += all.spansPerBody[cut]!;
  const prefill = { bodies: all.bodies.slice(0, cut), spansPerBody: all.spansPerBody.slice(0, cut) };
  const timedBodies = all.bodies.length - cut;
  const windows = Array.from({ length: WINDOWS.length }, (_, w) => {
    const from = cut + Math.floor((w * timedBodies) / WINDOWS.length);
    const to = cut + Math.floor(((w + 1) * timedBodies) / WINDOWS.length);
    return { bodies: all.bodies.slice(from, to), spansPerBody: all.spansPerBody.slice(from, to) };
  });
  ctx.log(`query-load: generated ${all.spanCount} spans in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const rounds: Round[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const round = await withFreshServer(async ({ proc }) => {
      const filled = await postAll(`${proc.otlpHttpUrl}/v1/traces`, prefill, 'protobuf', CONNECTIONS);
      if (filled.refusedSpans > 0) throw new Error(`prefill refused ${filled.refusedSpans} spans: ${filled.refusalSamples.join('; ')}`);
      const res = await fetch(`${proc.url}/flush`, { method: 'POST' });
      if (res.status !== 204) throw new Error(`/flush answered ${res.status}`);
      const unloaded: SendResult[] = [];
      const loaded: SendResult[] = [];
      const searches: SearchLoad = { ms: [], unfinished: 0, statuses: {}, samples: [] };
      for (const [w, kind] of WINDOWS.entries()) {
        const url = `${proc.otlpHttpUrl}/v1/traces`;
        if (kind === 'alone') {
          unloaded.push(await postAll(url, windows[w]!, 'protobuf', CONNECTIONS));
          continue;
        }
        const load = searchLoad(proc.url);
        loaded.push(await postAll(url, windows[w]!, 'protobuf', CONNECTIONS));
        const s = await load.stop();
        searches.ms.push(...s.ms);
        searches.unfinished += s.unfinished;
        for (const [k, v] of Object.entries(s.statuses)) searches.statuses[k] = (searches.statuses[k] ?? 0) + v;
        searches.samples.push(...s.samples.slice(0, 5 - searches.samples.length));
      }
      return {
        unloaded: combined(unloaded),
        loaded: combined(loaded),
        searchMs: searches.ms,
        searchesUnfinished: searches.unfinished,
        searchStatuses: searches.statuses,
        searchSamples: searches.samples,
      };
    });
    rounds.push(round);
    const { unloaded, loaded } = round;
    const searches = { ms: round.searchMs, statuses: round.searchStatuses, unfinished: round.searchesUnfinished };
    const rate = (r: SendResult) => Math.round(r.acceptedSpans / r.wallSeconds);
    ctx.log(
      `query-load run ${run + 1}/${ctx.runs}: ingest ${rate(unloaded)} spans/s alone, ${rate(loaded)} with ${SEARCH_CLIENTS} searching ` +
        `(${roundTo(rate(loaded) / rate(unloaded), 3)}), refused ${loaded.refusedSpans}; ${searches.ms.length} searches answered ` +
        `(${searches.unfinished} unfinished at the windows' ends), ` +
        `p50 ${Math.round(percentile(searches.ms, 0.5))} ms, p99 ${Math.round(percentile(searches.ms, 0.99))} ms, ${JSON.stringify(searches.statuses)}`,
    );
  }

  const unloadedRates = rounds.map((r) => r.unloaded.acceptedSpans / r.unloaded.wallSeconds);
  const loadedRates = rounds.map((r) => r.loaded.acceptedSpans / r.loaded.wallSeconds);
  const refusals: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.loaded.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
  const searchStatuses: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.searchStatuses)) searchStatuses[k] = (searchStatuses[k] ?? 0) + v;
  const common = {
    prefillSpans: prefill.spansPerBody.reduce((a, b) => a + b, 0),
    ingestSpans: all.spansPerBody.slice(cut).reduce((a, b) => a + b, 0),
    windows: WINDOWS,
    connections: CONNECTIONS,
    searchClients: SEARCH_CLIENTS,
    queries: QUERIES,
  };
  ctx.emit(makeFigure(ctx, 'query-load.ingest-unloaded', 'spans/s', unloadedRates, { ...common, refusedSpans: rounds.map((r) => r.unloaded.refusedSpans) }));
  ctx.emit(
    makeFigure(ctx, 'query-load.ingest-loaded', 'spans/s', loadedRates, {
      ...common,
      refusedSpans: rounds.map((r) => r.loaded.refusedSpans),
      refusedRequests: rounds.map((r) => r.loaded.refusedRequests),
      refusals,
      refusalSamples: rounds.flatMap((r) => r.loaded.refusalSamples).slice(0, 5),
    }),
  );
  ctx.emit(
    makeFigure(
      ctx,
      'query-load.ingest-ratio',
      'ratio',
      rounds.map((_, i) => loadedRates[i]! / unloadedRates[i]!),
      { ...common, target: 0.8, ratioOfMedians: roundTo(median(loadedRates) / median(unloadedRates), 3) },
    ),
  );
  const searchContext = {
    ...common,
    searches: rounds.map((r) => r.searchMs.length),
    searchesUnfinished: rounds.map((r) => r.searchesUnfinished),
    searchStatuses,
    searchSamples: rounds.flatMap((r) => r.searchSamples).slice(0, 5),
  };
  ctx.emit(makeFigure(ctx, 'query-load.search-p50', 'ms', rounds.map((r) => percentile(r.searchMs, 0.5)), searchContext));
  ctx.emit(makeFigure(ctx, 'query-load.search-p99', 'ms', rounds.map((r) => percentile(r.searchMs, 0.99)), searchContext));
}

/** Windows of one kind as one send: their spans over their summed time. */
function combined(results: readonly SendResult[]): SendResult {
  const refusals: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
  const sum = (f: (r: SendResult) => number) => results.reduce((n, r) => n + f(r), 0);
  return {
    wallSeconds: sum((r) => r.wallSeconds),
    requests: sum((r) => r.requests),
    acceptedSpans: sum((r) => r.acceptedSpans),
    refusedSpans: sum((r) => r.refusedSpans),
    refusedRequests: sum((r) => r.refusedRequests),
    refusals,
    refusalSamples: results.flatMap((r) => r.refusalSamples).slice(0, 5),
  };
}

/**
 * SEARCH_CLIENTS clients, each searching back to back (over the last hour, limit 20) until
 * `stop()`, which abandons the searches still waiting (they are not counted: they would
 * only measure the queue draining once the ingest is over).
 */
function searchLoad(baseUrl: string): { stop(): Promise<SearchLoad> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SEARCH_CLIENTS });
  const out: SearchLoad = { ms: [], unfinished: 0, statuses: {}, samples: [] };
  let stopped = false;
  const clients = Promise.all(
    Array.from({ length: SEARCH_CLIENTS }, async (_, client) => {
      for (let i = client; !stopped; i++) {
        const nowSec = Math.floor(Date.now() / 1000);
        const params = new URLSearchParams({ q: QUERIES[i % QUERIES.length]!.q, limit: '20', start: String(nowSec - 3600), end: String(nowSec) });
        const target = new URL(`${baseUrl}/api/search?${params}`);
        const t0 = performance.now();
        let status: string;
        let body = '';
        try {
          const res = await get(agent, target);
          status = String(res.status);
          body = res.body;
        } catch (err) {
          status = 'network';
          body = (err as Error).message;
        }
        if (stopped) {
          out.unfinished++;
          return;
        }
        out.ms.push(performance.now() - t0);
        out.statuses[status] = (out.statuses[status] ?? 0) + 1;
        if (status !== '200' && out.samples.length < 5) out.samples.push(`${status}: ${body.slice(0, 200)}`);
      }
    }),
  );
  return {
    async stop() {
      stopped = true;
      agent.destroy();
      await clients;
      return out;
    },
  };
}

function get(agent: http.Agent, target: URL): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ agent, hostname: target.hostname, port: target.port, path: target.pathname + target.search }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
