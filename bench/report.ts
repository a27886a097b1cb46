// Turns bench/results/latest.json into the Markdown tables of
// docs/benchmarks.md: figures grouped by what they measure, each with its
// spread, the machine and command it came from, and Tempo's figure where one
// was measured the same way (bench/tempo-baseline.ts).
//
//   node dist/bench/report.js [results.json] > benchmarks-section.md
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayUnit, formatValue } from './format.js';
import { isFigureError, type Figure, type FigureError } from './figure.js';
import { REPO_ROOT } from './machine.js';
import { TEMPO_2_2_4, TEMPO_SOURCE, compareWithTempo } from './tempo-baseline.js';

const SECTIONS: ReadonlyArray<readonly [prefix: string, title: string]> = [
  ['sustained.', 'Ingest, sustained: receive + POST /flush until idle (the headline), with trace by ID, disk and RSS after the flush'],
  ['ingest.', 'Ingest throughput, receive window only, per protocol'],
  ['ceiling.', 'Decode ceiling (in-process, one core)'],
  ['visibility.', 'End-to-end visibility'],
  ['trace-by-id.', 'Trace by ID'],
  ['storage.', 'Storage'],
  ['memory.', 'Memory'],
  ['wire.', 'Workload on the wire'],
  ['pipeline.', 'Collector pipeline'],
];

/** The context worth a reader's attention, per figure family. */
function notes(f: Figure): string {
  const parts: string[] = [];
  const toCeiling = f['ratioToCeiling'];
  if (typeof toCeiling === 'number') parts.push(`${(toCeiling * 100).toFixed(toCeiling < 0.1 ? 1 : 0)}% of decode ceiling`);
  const refused = f['refusedSpans'];
  if (Array.isArray(refused) && refused.some((n) => n !== 0)) parts.push(`refused spans per run: ${refused.join(', ')}`);
  if (f.figure.startsWith('visibility.') && Array.isArray(f['p99PerRun'])) parts.push(`p99 per run: ${(f['p99PerRun'] as number[]).join(', ')} ms`);
  const stored = f['storedSpans'];
  if (Array.isArray(stored) && stored.length > 0) parts.push(`${formatCount(Number(stored[0]))} spans stored`);
  if (Array.isArray(f['failedLookups']) && (f['failedLookups'] as number[]).some((n) => n !== 0)) parts.push(`failed lookups: ${(f['failedLookups'] as number[]).join(', ')}`);
  if (typeof f['decoder'] === 'string') parts.push(f['decoder']);
  if (typeof f['baselineCommit'] === 'string' || typeof f['baselineDir'] === 'string') parts.push(`baseline ${String(f['baselineCommit'] ?? f['baselineDir'])}, ${String(f['better'])} is better`);
  if (f['build'] === 'baseline') parts.push(`baseline build ${String(f['buildCommit'] ?? f['buildDir'])}`);
  if (typeof f['ratioToDecode'] === 'number') parts.push(`${f['ratioToDecode'].toFixed(2)}× the decode cost`);
  if (Array.isArray(f['heapUsedPerSpan'])) {
    parts.push(`JS heap ${(f['heapUsedPerSpan'] as number[]).map((n) => n.toFixed(0)).join(', ')} B/span; held ${(f['heldBytesPerSpan'] as number[]).map((n) => n.toFixed(0)).join(', ')} B/span`);
  }
  if (typeof f['target'] === 'number' && typeof f['targetReached'] === 'boolean') parts.push(`target ${formatValue(f['target'], f.unit)}: ${f['targetReached'] ? 'reached' : 'missed'}`);
  return parts.join('; ');
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(n % 1e6 ? 1 : 0)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : String(n);
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(0)} GiB`;
}

export function renderReport(results: ReadonlyArray<Figure | FigureError>): string {
  const figures = results.filter((r): r is Figure => !isFigureError(r));
  const errors = results.filter(isFigureError);
  const first = results[0];
  const out: string[] = [];
  if (first === undefined) return 'No benchmark results.\n';
  out.push(
    `Measured at commit \`${first.commit}\` on ${first.nproc} × ${first.cpuModel}, ${gib(first.memTotalBytes)} RAM, Node ${first.node}, ` +
      `${first.startedAt.slice(0, 10)}, with \`${first.command}\`.`,
  );
  if (first.mode === 'quick') out.push('', '> **Quick run** (smoke-test sizes): not figures to publish.');
  if (figures.some((f) => TEMPO_2_2_4[f.figure] !== undefined)) out.push('', `The Tempo 2.2.4 column: ${TEMPO_SOURCE} (its two rounds; the ratio is to their middle).`);
  for (const [prefix, title] of SECTIONS) {
    const rows = figures.filter((f) => f.figure.startsWith(prefix));
    if (rows.length === 0) continue;
    const withTempo = rows.some((f) => TEMPO_2_2_4[f.figure] !== undefined);
    out.push('', `### ${title}`, '');
    const header = ['figure', 'median', 'min – max', 'unit', 'runs', ...(withTempo ? ['Tempo 2.2.4', 'vs Tempo'] : []), 'notes'];
    out.push(`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i >= 1 && i <= 2 ? '---:' : '---')).join(' | ')} |`);
    for (const f of rows) {
      const tempo = TEMPO_2_2_4[f.figure];
      const cells = [
        `\`${f.figure}\``,
        formatValue(f.median, f.unit),
        `${formatValue(f.min, f.unit)} – ${formatValue(f.max, f.unit)}`,
        displayUnit(f.unit),
        String(f.runs),
        ...(withTempo ? [tempo ? tempo.rounds.map((v) => formatValue(v, f.unit)).join(', ') : '', compareWithTempo(f.figure, f.median)] : []),
        notes(f).replace(/\|/g, '\\|'),
      ];
      out.push(`| ${cells.join(' | ')} |`);
    }
  }
  if (errors.length > 0) {
    out.push('', '### Not measured', '');
    for (const e of errors) out.push(`- \`${e.figure}\`: ${(e.error.split('\n')[0] ?? '').replace(/\|/g, '\\|')}`);
  }
  return out.join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? join(REPO_ROOT, 'bench', 'results', 'latest.json');
  const results = JSON.parse(readFileSync(file, 'utf8')) as Array<Figure | FigureError>;
  process.stdout.write(renderReport(results));
}
