// CPU per span of the redaction processor on the reference workload, with the built-in
// rules alone and with the built-ins plus users' patterns (blocked_values, a named rule,
// blocked_key_patterns), which run on the RE2 engine (src/regex/re2.ts). Redaction runs
// on every attribute value at ingest, so this is what a linear-time engine costs there.
// One JSON figure per line on stdout, as bench/run.ts prints them.
//   node dist/bench/redaction-patterns.js [--spans N] [--runs N]
import { decodeTracesData } from '../src/otlp/protobuf.js';
import { redactionConfigSchema } from '../src/pipeline/processors/redaction/config.js';
import { Redactor } from '../src/pipeline/processors/redaction/redaction.js';
import { makeFigure, type BenchContext } from './figure.js';
import { machineContext } from './machine.js';
import { median } from './stats.js';
import { referenceRequests } from './workload-cache.js';

const USER_PATTERNS = {
  blocked_values: ['itk_[0-9a-f]{32}', '(?i)password=[^&\\s]+', '[0-9]{3}-[0-9]{2}-[0-9]{4}'],
  rules: [{ name: 'session_cookie', pattern: 'sid=[A-Za-z0-9]{24,}' }],
  blocked_key_patterns: ['(?i).*(token|secret|passwd).*'],
};
const VARIANTS = [
  { name: 'builtins', options: {} },
  { name: 'builtins+user-patterns', options: USER_PATTERNS },
] as const;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const spans = arg('--spans', 50_000);
  const runs = arg('--runs', 5);
  const ctx: BenchContext = {
    quick: false,
    runs,
    machine: machineContext(),
    log: (m) => process.stderr.write(`[redaction-patterns] ${m}\n`),
    emit: (figure) => process.stdout.write(JSON.stringify(figure) + '\n'),
  };
  const w = referenceRequests(spans, 'protobuf', ctx.log);
  const redactors = VARIANTS.map((v) => new Redactor(redactionConfigSchema.parse(v.options)));
  const perSpan = VARIANTS.map((): number[] => []);
  // Run -1 warms the JIT up and is not reported.
  for (let run = -1; run < runs; run++) {
    for (let v = 0; v < VARIANTS.length; v++) {
      let micros = 0;
      let count = 0;
      for (const body of w.bodies) {
        // Redaction works in place: each run gets freshly decoded spans, decoded outside the clock.
        const batch = decodeTracesData(body);
        for (const rs of batch) for (const ss of rs.scopeSpans) count += ss.spans.length;
        const c = process.cpuUsage();
        redactors[v]!.redactBatch(batch);
        const used = process.cpuUsage(c);
        micros += used.user + used.system;
      }
      if (run >= 0) perSpan[v]!.push(micros / count);
    }
    if (run >= 0) ctx.log(`run ${run + 1}/${runs}: ${VARIANTS.map((v, i) => `${v.name} ${perSpan[i]!.at(-1)!.toFixed(3)} µs/span`).join(', ')}`);
  }
  VARIANTS.forEach((v, i) =>
    ctx.emit(
      makeFigure(ctx, `redaction.cpu.${v.name}`, 'µs/span', perSpan[i]!, {
        spans: w.spanCount,
        options: v.options,
        ratioToBuiltins: Number((median(perSpan[i]!) / median(perSpan[0]!)).toFixed(3)),
      }),
    ),
  );
}

await main();
