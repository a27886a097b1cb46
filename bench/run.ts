// `npm run bench`: measures the figures of ../shared/design/BENCHMARK.md.
// One JSON object per figure on stdout (machine-readable), progress and a
// summary table on stderr, and every figure in bench/results/latest.json.
//
//   node dist/bench/run.js [--quick] [--only name,name] [--runs N] [--out file] [--baseline dir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { displayUnit, formatValue, textTable } from './format.js';
import { isFigureError, type BenchContext, type Figure, type FigureError } from './figure.js';
import { runAuth } from './figures/auth.js';
import { runCluster } from './figures/cluster.js';
import { runDecodeCeiling } from './figures/decode-ceiling.js';
import { INGEST_PROTOCOLS, runIngest, type IngestProtocol } from './figures/ingest.js';
import { runOverload } from './figures/overload.js';
import { runSecuredIngest } from './figures/secured-ingest.js';
import { PIPELINE_GROUPS, runPipelineCpu, runPipelineIngest, runPipelineMemory } from './figures/pipeline.js';
import { runSearch } from './figures/search.js';
import { runQueryLoad } from './figures/query-load.js';
import { runStored, STORED_GROUPS, type StoredGroup } from './figures/stored.js';
import { runSustained } from './figures/sustained.js';
import { runTagValues } from './figures/tag-values.js';
import { runVisibility } from './figures/visibility.js';
import { runWireSize } from './figures/wire-size.js';
import { machineContext, REPO_ROOT } from './machine.js';
import { compareWithTempo, TEMPO_2_2_4 } from './tempo-baseline.js';
import { baselineBuild, currentBuild, killStartedServers, type ServerBuild } from './server-under-test.js';
import { forgetRequests } from './workload-cache.js';

const SIZES = {
  full: { ingestSpans: 200_000, sustainedLookups: 200, visibilityTraces: 200, storedSpans: 1_000_000, lookups: 1_000, queryLoadPrefill: 50_000, queryLoadIngest: 400_000 },
  quick: { ingestSpans: 50_000, sustainedLookups: 50, visibilityTraces: 50, storedSpans: 100_000, lookups: 200, queryLoadPrefill: 20_000, queryLoadIngest: 80_000 },
} as const;

const GROUPS = ['wire', 'ceiling', 'sustained', ...INGEST_PROTOCOLS.map((p) => `ingest-${p}` as const), ...PIPELINE_GROUPS, 'visibility', ...STORED_GROUPS, 'tags', 'search', 'query-load', 'overload', 'cluster', 'secured-ingest', 'auth'] as const;
type Group = (typeof GROUPS)[number];
const ALIASES: Record<string, readonly Group[]> = { ingest: INGEST_PROTOCOLS.map((p) => `ingest-${p}` as const), pipeline: PIPELINE_GROUPS };

interface Options {
  quick: boolean;
  runs: number;
  only: Set<Group>;
  out: string;
  /** Another build whose server the groups that take one (sustained) run interleaved with this one's. */
  baseline: ServerBuild | undefined;
}

const USAGE = `usage: node dist/bench/run.js [--quick] [--only name,name] [--runs N] [--out file] [--baseline dir]
  --quick     smaller sizes, for a smoke run
  --only      groups to run: ${GROUPS.join(', ')} (ingest = all three ingest groups, pipeline = the three pipeline groups)
  --runs      runs per figure, reported as median, min and max (default 3)
  --out       results file (default bench/results/latest.json)
  --baseline  the top of another commit's built tree (dist/ and node_modules/ there): the sustained group runs
              its server interleaved with this one's and reports both and their ratios`;

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { quick: false, runs: 3, only: new Set(GROUPS), out: join(REPO_ROOT, 'bench', 'results', 'latest.json'), baseline: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        opts.quick = true;
        break;
      case '--runs':
        opts.runs = Number(value());
        if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error('--runs must be a positive integer');
        break;
      case '--only':
        opts.only = new Set(
          value()
            .split(',')
            .filter(Boolean)
            .flatMap((name) => {
              const groups = ALIASES[name] ?? (GROUPS.includes(name as Group) ? [name as Group] : undefined);
              if (groups === undefined) throw new Error(`unknown figure group "${name}"; groups: ${GROUPS.join(', ')}`);
              return groups;
            }),
        );
        break;
      case '--out':
        opts.out = resolve(value());
        break;
      case '--baseline':
        opts.baseline = baselineBuild(value());
        break;
      case '--help':
      case '-h':
        process.stderr.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}\n${USAGE}`);
    }
  }
  if (opts.baseline && !opts.only.has('sustained')) throw new Error('--baseline is measured by the sustained group only; add it to --only');
  return opts;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const sizes = opts.quick ? SIZES.quick : SIZES.full;
  const results: Array<Figure | FigureError> = [];
  const started = performance.now();
  const ctx: BenchContext = {
    quick: opts.quick,
    runs: opts.runs,
    machine: machineContext(),
    log: (m) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`),
    emit(figure) {
      results.push(figure);
      process.stdout.write(JSON.stringify(figure) + '\n');
    },
  };
  const attempt = async (group: string, fn: () => Promise<void>) => {
    ctx.log(`${group}: start`);
    try {
      await fn();
    } catch (err) {
      const error: FigureError = { figure: group, error: (err as Error).stack ?? String(err), mode: opts.quick ? 'quick' : 'full', ...ctx.machine };
      results.push(error);
      process.stdout.write(JSON.stringify(error) + '\n');
      ctx.log(`${group}: FAILED: ${(err as Error).message}`);
    }
  };

  if (opts.only.has('wire')) await attempt('wire', () => runWireSize(ctx, sizes.ingestSpans));
  if (opts.only.has('ceiling')) await attempt('ceiling', async () => void (await runDecodeCeiling(ctx, sizes.ingestSpans)));
  if (opts.only.has('sustained')) {
    const builds = opts.baseline ? [currentBuild(), opts.baseline] : [currentBuild()];
    await attempt('sustained', () => runSustained(ctx, sizes.ingestSpans, sizes.sustainedLookups, builds));
  }
  for (const protocol of INGEST_PROTOCOLS) {
    const group = `ingest-${protocol}` as const;
    if (opts.only.has(group)) await attempt(group, () => runIngest(ctx, protocol as IngestProtocol, sizes.ingestSpans));
  }
  forgetRequests(sizes.ingestSpans, 'json');
  if (opts.only.has('pipeline-cpu')) await attempt('pipeline-cpu', () => runPipelineCpu(ctx, sizes.ingestSpans));
  if (opts.only.has('pipeline-memory')) await attempt('pipeline-memory', () => runPipelineMemory(ctx, sizes.ingestSpans));
  if (opts.only.has('pipeline-ingest')) await attempt('pipeline-ingest', () => runPipelineIngest(ctx, sizes.ingestSpans));
  if (opts.only.has('visibility')) await attempt('visibility', () => runVisibility(ctx, sizes.visibilityTraces));
  const stored = new Set(STORED_GROUPS.filter((g) => opts.only.has(g))) as Set<StoredGroup>;
  if (stored.size > 0) await attempt([...stored].join('+'), () => runStored(ctx, stored, sizes.storedSpans, sizes.lookups));
  if (opts.only.has('tags')) await attempt('tags', () => runTagValues(ctx, sizes.storedSpans, opts.quick ? 20 : 100));
  if (opts.only.has('search')) await attempt('search', () => runSearch(ctx, sizes.storedSpans, opts.quick ? 5 : 20));
  if (opts.only.has('query-load')) await attempt('query-load', () => runQueryLoad(ctx, sizes.queryLoadPrefill, sizes.queryLoadIngest));
  if (opts.only.has('overload')) await attempt('overload', () => runOverload(ctx));
  if (opts.only.has('cluster')) await attempt('cluster', () => runCluster(ctx, sizes.ingestSpans, sizes.lookups));
  if (opts.only.has('secured-ingest')) await attempt('secured-ingest', () => runSecuredIngest(ctx, sizes.ingestSpans));
  if (opts.only.has('auth')) await attempt('auth', () => runAuth(ctx));

  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  process.stderr.write('\n' + summary(results) + '\n');
  ctx.log(`done; results in ${opts.out}`);
  return results.some(isFigureError) ? 1 : 0;
}

function summary(results: ReadonlyArray<Figure | FigureError>): string {
  const figures = results.filter((r): r is Figure => !isFigureError(r));
  const rows = figures.map((r) => [r.figure, formatValue(r.median, r.unit), formatValue(r.min, r.unit), formatValue(r.max, r.unit), displayUnit(r.unit), String(r.runs)]);
  const failed = results.filter(isFigureError).map((e) => `FAILED ${e.figure}: ${(e.error.split('\n')[0] ?? '').slice(0, 200)}`);
  return [...headline(figures), textTable(['figure', 'median', 'min', 'max', 'unit', 'runs'], rows), ...failed].join('\n');
}

/** The ingest figure that counts, first: sustained, beside receive-only, the decode ceiling, Tempo's and the baseline's. */
function headline(figures: readonly Figure[]): string[] {
  const byName = new Map(figures.map((f) => [f.figure, f]));
  const sustained = byName.get('sustained.cpu-efficiency');
  if (sustained === undefined) return [];
  const line = (label: string, name: string) => {
    const f = byName.get(name);
    if (f === undefined) return [];
    const ceiling = typeof f['ratioToCeiling'] === 'number' ? `${(f['ratioToCeiling'] * 100).toFixed(1)} % of the decode ceiling` : undefined;
    const tempo = TEMPO_2_2_4[name] ? `Tempo 2.2.4 ${TEMPO_2_2_4[name]!.rounds.map((v) => formatValue(v, f.unit)).join(', ')}: ${compareWithTempo(name, f.median)}` : undefined;
    const vs = byName.get(name.replace(/^sustained\./, 'sustained.vs-baseline.'));
    const base = vs ? `${vs.median.toFixed(2)}× the baseline (${vs.values.map((v) => v.toFixed(2)).join(', ')} per round)` : undefined;
    const notes = [ceiling, tempo, base].filter(Boolean).join('; ');
    return [`  ${label.padEnd(13)} ${formatValue(f.median, f.unit).padStart(7)} ${f.unit}${notes ? `  (${notes})` : ''}`];
  };
  const top = Number(sustained['ceilingSpansPerCpuSecond']);
  return [
    `Ingest, the headline: ${formatValue(Number(sustained['spansSent']), 'spans/')} spans over OTLP/HTTP protobuf, then POST /flush until the server is idle (medians of ${sustained.runs}):`,
    ...line('sustained', 'sustained.cpu-efficiency'),
    ...line('receive only', 'sustained.receive.cpu-efficiency'),
    ...line('wall clock', 'sustained.receive.throughput'),
    `  decode ceiling ${formatValue(top, 'spans/CPU-s')} spans/CPU-s (${String(sustained['ceilingDecoder'])}, one core, this run)`,
    '',
  ];
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killStartedServers();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killStartedServers();
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  },
);
