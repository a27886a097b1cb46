// The collector pipeline's cost (issue 4, BENCHMARK.md "pipeline cost" and
// "RSS per span held by tail sampling"):
//   - CPU per span of the default redaction, of tail_sampling with the seed
//     policy, and of both, in this process, against the cost of decoding the
//     same spans measured in the same run;
//   - bytes of RSS per span waiting in tail_sampling, measured in a child
//     process (see pipeline-memory.ts) at two buffer sizes;
//   - ingest into a real Skein with the pipeline on vs off, interleaved.
// Every processor is built by src/pipeline/build.ts from a configuration the
// schema validated, with tail_sampling's settings taken from the production
// example, so what is measured is what a user configures.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import type { ResourceSpans } from '../../src/otlp/model.js';
import { decodeTracesDataKeepingWire } from '../../src/otlp/protobuf.js';
import { walkTracesData } from '../../src/otlp/traces-data-layout.js';
import { buildPipeline, type Pipeline } from '../../src/pipeline/build.js';
import type { TracesConsumer } from '../../src/pipeline/consumer.js';
import { registry } from '../../src/telemetry/metrics.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { makeFigure, type BenchContext } from '../figure.js';
import { REPO_ROOT } from '../machine.js';
import { cpuSeconds } from '../proc-stats.js';
import { postAll } from '../senders.js';
import { scrapeSum } from '../server-metrics.js';
import { withFreshServer } from '../server-under-test.js';
import { median, roundTo } from '../stats.js';
import { referenceRequests } from '../workload-cache.js';
import type { GeneratedRequests } from '../workload.js';
import { CONNECTIONS } from './ingest.js';

export const PIPELINE_GROUPS = ['pipeline-cpu', 'pipeline-memory', 'pipeline-ingest'] as const;

/** Issue 4's targets. */
export const TARGETS = { cpuMicrosPerSpan: 3, rssBytesPerBufferedSpan: 300, ingestRatio: 0.75 } as const;

export const PRODUCTION_EXAMPLE = join(REPO_ROOT, 'examples', 'skein.production.yaml');

/** A decision well inside a run, so that the CPU of deciding and handing over is counted, not left for later. */
const SHORT_DECISION_WAIT = '100ms';

/** The processors' sections of the production example (the seed tail_sampling policy, its batch settings). */
function productionProcessors(): Record<string, Record<string, unknown>> {
  const doc = parseYaml(readFileSync(PRODUCTION_EXAMPLE, 'utf8')) as { processors?: Record<string, Record<string, unknown>> };
  const processors = doc.processors ?? {};
  if (processors['tail_sampling'] === undefined) throw new Error(`${PRODUCTION_EXAMPLE} has no processors.tail_sampling section`);
  return processors;
}

/** tail_sampling as the production example configures it, with `decision_wait` replaced. */
export function seedTailSampling(decisionWait: string, numTraces?: number): Record<string, unknown> {
  const ts: Record<string, unknown> = { ...productionProcessors()['tail_sampling']!, decision_wait: decisionWait };
  if (numTraces !== undefined) ts['num_traces'] = numTraces;
  return ts;
}

/** The end of the pipe: takes a batch and keeps nothing (counts spans so the hand-over is checked). */
export class NoopConsumer implements TracesConsumer {
  spans = 0;
  async consume(_tenant: string, batch: ResourceSpans[]): Promise<void> {
    for (const rs of batch) for (const ss of rs.scopeSpans) this.spans += ss.spans.length;
  }
}

export interface InProcessPipeline {
  pipeline: Pipeline;
  sink: NoopConsumer;
  dataDir: string;
  /** What waits in tail_sampling buffers (zeros when there is none), from the processor's own gauges. */
  buffered(): Promise<{ spans: number; traces: number; bytes: number }>;
  close(): Promise<void>;
}

/** A pipeline of `processors` (in order) built by build.ts, ending in a no-op consumer, no connectors. */
export async function inProcessPipeline(processors: readonly string[], tailSampling: Record<string, unknown>): Promise<InProcessPipeline> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skein-bench-pipeline-'));
  const config = validateConfig({
    storage: { path: dataDir },
    processors: { redaction: {}, tail_sampling: tailSampling },
    pipeline: { processors, exporters: ['store'], connectors: [] },
  });
  const sink = new NoopConsumer();
  const pipeline = buildPipeline({ config, logger: silentLogger, store: sink });
  await pipeline.start();
  return {
    pipeline,
    sink,
    dataDir,
    buffered: async () => ({
      spans: await gauge('skein_tail_sampling_buffered_spans'),
      traces: await gauge('skein_tail_sampling_buffered_traces'),
      bytes: await gauge('skein_tail_sampling_buffered_bytes'),
    }),
    close: async () => {
      try {
        await pipeline.shutdown();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

async function gauge(name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/**
 * A copy of a request body in which every trace has a new ID (bytes 12–15
 * become `generation`; the first 12 random bytes keep traces apart), so that
 * each variant's tail_sampling sees traces no run decided before. The bytes
 * are renamed rather than the decoded spans so that, as from the receiver,
 * the batch comes with the bytes it was decoded from (src/otlp/wire-form.ts).
 */
function renamedBody(body: Uint8Array, generation: number): { bytes: Uint8Array; spans: number } {
  const bytes = Uint8Array.from(body);
  let spans = 0;
  walkTracesData(bytes, {
    resource() {},
    scope() {},
    span(offset) {
      // The SDK writes trace_id (field 1, 16 bytes) first.
      if (bytes[offset] !== 0x0a || bytes[offset + 1] !== 16) throw new Error('a span that does not start with its trace ID');
      const id = offset + 2;
      bytes[id + 12] = generation >>> 24;
      bytes[id + 13] = (generation >>> 16) & 0xff;
      bytes[id + 14] = (generation >>> 8) & 0xff;
      bytes[id + 15] = generation & 0xff;
      spans++;
    },
  });
  return { bytes, spans };
}

async function waitUntil(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const VARIANTS = [
  { name: 'redaction', processors: ['redaction'] },
  { name: 'tail-sampling', processors: ['tail_sampling'] },
  { name: 'redaction+tail-sampling', processors: ['redaction', 'tail_sampling'] },
] as const;

/**
 * CPU of one variant over the whole workload, then until tail_sampling has
 * decided every trace and handed the kept ones to the no-op end; and, apart,
 * the CPU of decoding each request just before it goes in (as a receiver
 * does). Requests are decoded as they are sent rather than once up front: a
 * process holding even 16 decoded requests (8k spans) decodes 4–5× slower
 * (4.6 vs 1.1 µs a span here), while the pipeline's own cost is the same
 * either way (6.2–6.6 vs 5.5–6.2 µs for both processors), so only this way
 * is the baseline the decoder's real cost. tail_sampling's WAL appends (its
 * durability) are part of the pipeline's CPU; building and shutting the
 * pipeline down are not.
 */
async function measureVariant(
  processors: readonly string[],
  bodies: readonly Uint8Array[],
  generation: number,
): Promise<{ micros: number; decodeMicros: number; spans: number; handedOver: number }> {
  const p = await inProcessPipeline(processors, seedTailSampling(SHORT_DECISION_WAIT));
  try {
    let micros = 0;
    let decodeMicros = 0;
    let spans = 0;
    for (const body of bodies) {
      // Synchronous, so no pipeline work runs (and is left out) meanwhile.
      const renamed = renamedBody(body, generation);
      spans += renamed.spans;
      const d = process.cpuUsage();
      const batch = decodeTracesDataKeepingWire(renamed.bytes);
      decodeMicros += cpuMicros(d);
      const c = process.cpuUsage();
      await p.pipeline.consumer.consume('single-tenant', batch);
      micros += cpuMicros(c);
    }
    const c = process.cpuUsage();
    await waitUntil('tail_sampling to decide every trace', async () => (await p.buffered()).spans === 0);
    // Deliveries start synchronously with the decision; let their continuations run.
    await new Promise((resolve) => setImmediate(resolve));
    micros += cpuMicros(c);
    return { micros, decodeMicros, spans, handedOver: p.sink.spans };
  } finally {
    await p.close();
  }
}

export async function runPipelineCpu(ctx: BenchContext, spans: number): Promise<void> {
  const w = referenceRequests(spans, 'protobuf', ctx.log);
  // In-process runs are cheap and short: more of them steady the median.
  const runs = Math.max(ctx.runs, 5);
  const decode: number[] = [];
  const byVariant = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  const handedOver = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  let generation = 0;
  for (let run = -1; run < runs; run++) {
    // Run -1 warms the JIT up and is not reported.
    const line: string[] = [];
    let decodeMicros = 0;
    let decodedSpans = 0;
    for (const v of VARIANTS) {
      const m = await measureVariant(v.processors, w.bodies, ++generation);
      if (m.spans !== w.spanCount) throw new Error(`decoded ${m.spans} spans, expected ${w.spanCount}`);
      decodeMicros += m.decodeMicros;
      decodedSpans += m.spans;
      if (run >= 0) {
        byVariant.get(v.name)!.push(m.micros / m.spans);
        handedOver.get(v.name)!.push(m.handedOver);
      }
      line.push(`${v.name} ${(m.micros / m.spans).toFixed(2)}`);
    }
    if (run >= 0) decode.push(decodeMicros / decodedSpans);
    ctx.log(`pipeline cpu ${run < 0 ? 'warm-up' : `run ${run + 1}/${runs}`}: µs/span decode ${(decodeMicros / decodedSpans).toFixed(2)}, ${line.join(', ')}`);
  }

  const common = { spans: w.spanCount, requests: w.bodies.length, decisionWait: SHORT_DECISION_WAIT, policy: 'examples/skein.production.yaml processors.tail_sampling' };
  const decodeMedian = median(decode);
  ctx.emit(makeFigure(ctx, 'pipeline.cpu.decode', 'µs/span', decode, { ...common, what: 'decodeTracesDataKeepingWire of each request before it enters the pipeline, as the receiver does (the baseline)' }));
  for (const v of VARIANTS) {
    const values = byVariant.get(v.name)!;
    ctx.emit(
      makeFigure(ctx, `pipeline.cpu.${v.name}`, 'µs/span', values, {
        ...common,
        processors: v.processors,
        ratioToDecode: roundTo(median(values) / decodeMedian, 3),
        ...(v.name === 'redaction+tail-sampling' ? { target: TARGETS.cpuMicrosPerSpan, targetReached: median(values) < TARGETS.cpuMicrosPerSpan } : {}),
        spansHandedOver: handedOver.get(v.name),
      }),
    );
  }
}

// ---- memory held by tail_sampling -----------------------------------------------

const execFileP = promisify(execFile);

export interface MemoryChildResult {
  spans: number;
  traces: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** What the sampler counts as held: encoded spans in their records, indexes, resources, scopes. */
  heldBytes: number;
}

/** Writes the bodies as one file of length-prefixed records, for the child to read without generating anything. */
function writeBodies(w: GeneratedRequests): string {
  const dir = mkdtempSync(join(tmpdir(), 'skein-bench-bodies-'));
  const file = join(dir, 'bodies.bin');
  const parts: Uint8Array[] = [];
  for (const body of w.bodies) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.byteLength);
    parts.push(len, body);
  }
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

export async function runPipelineMemory(ctx: BenchContext, spans: number): Promise<void> {
  const w = referenceRequests(spans, 'protobuf', ctx.log);
  const file = writeBodies(w);
  const sizes = [Math.round(spans / 2), spans];
  const child = join(REPO_ROOT, 'dist', 'bench', 'pipeline-memory.js');
  const results = new Map<number, MemoryChildResult[]>(sizes.map((n) => [n, []]));
  try {
    for (let run = 0; run < ctx.runs; run++) {
      // Alternated, so that a drift of the machine during the runs touches both sizes alike.
      for (const n of run % 2 === 0 ? sizes : [...sizes].reverse()) {
        const { stdout } = await execFileP(process.execPath, ['--expose-gc', child, file, String(n)], { cwd: REPO_ROOT, maxBuffer: 1 << 20 });
        const r = JSON.parse(stdout.trim().split('\n').pop()!) as MemoryChildResult;
        results.get(n)!.push(r);
        ctx.log(
          `pipeline memory run ${run + 1}/${ctx.runs}, ${r.spans} spans buffered: RSS ${(r.rss / r.spans).toFixed(0)} B/span, ` +
            `heap ${(r.heapUsed / r.spans).toFixed(0)}, array buffers ${(r.arrayBuffers / r.spans).toFixed(0)}, held ${(r.heldBytes / r.spans).toFixed(0)}`,
        );
      }
    }
  } finally {
    rmSync(join(file, '..'), { recursive: true, force: true });
  }
  const wireBytesPerSpan = w.bodies.reduce((sum, b) => sum + b.byteLength, 0) / w.spanCount;
  for (const n of sizes) {
    const rs = results.get(n)!;
    const per = (k: keyof MemoryChildResult) => rs.map((r) => roundTo(r[k] / r.spans, 3));
    const rss = per('rss');
    ctx.emit(
      makeFigure(ctx, `pipeline.memory.tail-sampling.rss-per-buffered-span.${Math.round(n / 1000)}k`, 'bytes/span', rss, {
        bufferedSpans: rs.map((r) => r.spans),
        bufferedTraces: rs.map((r) => r.traces),
        heapUsedPerSpan: per('heapUsed'),
        externalPerSpan: per('external'),
        arrayBuffersPerSpan: per('arrayBuffers'),
        heldBytesPerSpan: per('heldBytes'),
        wireBytesPerSpan: roundTo(wireBytesPerSpan, 3),
        decisionWait: '1h (nothing decided)',
        measuredIn: 'a child process started with --expose-gc: deltas after full GCs, filled vs empty sampler',
        target: TARGETS.rssBytesPerBufferedSpan,
        targetReached: median(rss) < TARGETS.rssBytesPerBufferedSpan,
      }),
    );
  }
}

// ---- end-to-end ingest, pipeline on vs off -----------------------------------------

/** The default pipeline plus tail_sampling (seed policy) and batch, as the production example runs it. */
export function pipelineOnYaml(): string {
  const prod = productionProcessors();
  return stringifyYaml({
    processors: { tail_sampling: seedTailSampling(E2E_DECISION_WAIT), batch: prod['batch'] ?? {} },
    pipeline: { processors: ['memory_limiter', 'redaction', 'tail_sampling', 'batch'] },
  });
}

export const PIPELINE_OFF_YAML = stringifyYaml({ pipeline: { processors: [], connectors: [] } });

/** Short enough that the server decides (and stores the kept traces) within the measured run. */
const E2E_DECISION_WAIT = '1s';

/** First look after the last acknowledgement: decision_wait, a decision tick, batch's 200 ms timeout, and margin. */
const SETTLE_FIRST_MS = 2_000;
const SETTLE_STEP_MS = 500;

/**
 * Server CPU seconds once it has decided every waiting trace and stored what
 * it kept. The CPU is read before each look at /metrics: a scrape renders every
 * connector series, and polling often would bill the pipeline for the polling.
 */
async function settledCpu(url: string, pid: number): Promise<{ cpu: number; stored: number }> {
  const deadline = Date.now() + 120_000;
  await sleep(SETTLE_FIRST_MS);
  let stored = -1;
  for (;;) {
    const cpu = cpuSeconds(pid);
    const buffered = (await scrapeSum(url, 'skein_tail_sampling_buffered_spans')) ?? 0;
    const now = (await scrapeSum(url, 'skein_spans_stored_total')) ?? 0;
    if (buffered === 0 && now === stored) return { cpu, stored };
    if (Date.now() > deadline) throw new Error(`the server did not settle: ${buffered} spans still waiting for a decision`);
    stored = buffered === 0 ? now : -1;
    await sleep(SETTLE_STEP_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface IngestRun {
  accepted: number;
  refused: number;
  stored: number;
  serverCpuSeconds: number;
}

async function ingestOnce(w: GeneratedRequests, configYaml: string): Promise<IngestRun> {
  return withFreshServer(
    async ({ proc, pid }) => {
      const cpu0 = cpuSeconds(pid);
      const send = await postAll(`${proc.otlpHttpUrl}/v1/traces`, w, 'protobuf', CONNECTIONS);
      const { cpu, stored } = await settledCpu(proc.url, pid);
      return { accepted: send.acceptedSpans, refused: send.refusedSpans, stored, serverCpuSeconds: cpu - cpu0 };
    },
    { configYaml },
  );
}

/** The three sides of the ingest figure: the pipeline off, on, and on without its connectors (to tell where the cost is). */
function ingestSides(): Array<{ side: 'off' | 'on' | 'on-without-connectors'; yaml: string }> {
  const on = parseYaml(pipelineOnYaml()) as { pipeline: Record<string, unknown> };
  on.pipeline['connectors'] = [];
  return [
    { side: 'off', yaml: PIPELINE_OFF_YAML },
    { side: 'on', yaml: pipelineOnYaml() },
    { side: 'on-without-connectors', yaml: stringifyYaml(on) },
  ];
}

export async function runPipelineIngest(ctx: BenchContext, spans: number): Promise<void> {
  const w = referenceRequests(spans, 'protobuf', ctx.log);
  const sides = ingestSides();
  const results = new Map<string, IngestRun[]>(sides.map((s) => [s.side, []]));
  for (let run = 0; run < ctx.runs; run++) {
    // Interleaved, the order rotated each run, so no side always meets a warmer or busier machine.
    const order = sides.map((_, i) => sides[(i + run) % sides.length]!);
    for (const { side, yaml } of order) {
      const r = await ingestOnce(w, yaml);
      results.get(side)!.push(r);
      ctx.log(
        `pipeline ingest run ${run + 1}/${ctx.runs}, pipeline ${side}: ${Math.round(r.accepted / r.serverCpuSeconds)} spans/server-CPU-s, ` +
          `accepted ${r.accepted}, refused ${r.refused}, stored ${r.stored}`,
      );
    }
  }
  const perCpu = (rs: IngestRun[]) => rs.map((r) => r.accepted / r.serverCpuSeconds);
  const common = {
    protocol: 'http-protobuf',
    spansSent: w.spanCount,
    connections: CONNECTIONS,
    measured: 'server CPU from the first request until tail_sampling has decided everything and the store count is steady',
  };
  for (const { side, yaml } of sides) {
    const rs = results.get(side)!;
    ctx.emit(
      makeFigure(ctx, `pipeline.ingest.${side}.cpu-efficiency`, 'spans/server-CPU-s', perCpu(rs), {
        ...common,
        config: yaml,
        acceptedSpans: rs.map((r) => r.accepted),
        refusedSpans: rs.map((r) => r.refused),
        storedSpans: rs.map((r) => r.stored),
        serverCpuSeconds: rs.map((r) => roundTo(r.serverCpuSeconds, 3)),
      }),
    );
  }
  // Per run: each side against the off side of the same round.
  const off = perCpu(results.get('off')!);
  for (const side of ['on', 'on-without-connectors'] as const) {
    const ratios = perCpu(results.get(side)!).map((v, i) => v / off[i]!);
    ctx.emit(
      makeFigure(ctx, `pipeline.ingest.${side}-vs-off`, 'ratio', ratios, {
        ...common,
        what: `spans per server CPU-second with the pipeline ${side}, divided by the same with it off, per round of interleaved runs`,
        ...(side === 'on' ? { target: TARGETS.ingestRatio, targetReached: median(ratios) >= TARGETS.ingestRatio } : {}),
      }),
    );
  }
}
