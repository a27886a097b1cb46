// Scale-out (issue 11): what a cluster sharing a bucket costs, each figure against a
// baseline measured in the same round on this machine.
//
// - Aggregate ingest, spans per server CPU-second: the reference workload sent
//   round-robin (OTLP/HTTP protobuf, 4 connections) to three instances sharing an
//   s3rver bucket, against one instance on the same kind of bucket (and, for context,
//   one on local disk). The CPU is every Skein process's (from /proc), from the first
//   request until every span is stored at its owner (forwarding included), flushed
//   with POST /flush into blocks in the bucket, and every process is idle again:
//   the sustained figure of BENCHMARK.md. s3rver runs in the bench process; its CPU
//   is not counted.
// - The same three instances, each span sent straight to its trace's owner, as a
//   collector's loadbalancing exporter (routing_key traceID, the same ring) in front
//   of the cluster sends them: each workload body split by owner before the clock
//   starts, each share encoded on its own. What the cluster costs without the
//   forwarding hop; the instances' router must have forwarded (next to) nothing.
// - Trace by ID from the bucket, p50 and p99 over random stored IDs, sequential:
//   cold (a fresh instance with an empty cache on the bucket the first one filled)
//   and warm (the same IDs again), against the same IDs on local disk (second pass).
// - Bytes read from the bucket per lookup, cold and warm, from the S3 backend's
//   counter on /metrics.
//
// Setups alternate order from round to round, so drift on a shared machine does not
// favour one. Every figure is the median of the rounds; ratios are per round.
import { rmSync } from 'node:fs';
import { makeFigure, type BenchContext } from '../figure.js';
import type { Batch } from '../senders.js';
import { scrapeSum } from '../server-metrics.js';
import { startFreshCluster, startFreshServer, stopCluster, stopServer, type ServerUnderTest } from '../server-under-test.js';
import { median, percentile, roundTo } from '../stats.js';
import { measureSustainedIngest, type SustainedIngest } from '../sustained-ingest.js';
import { lookupIds, lookupPass, type LookupPass } from '../trace-lookups.js';
import { referenceRequests } from '../workload-cache.js';
import type { GeneratedRequests } from '../workload.js';
import { CONNECTIONS } from './ingest.js';
import { Ring } from '../../src/cluster/ring.js';
import { splitByOwner } from '../../src/cluster/router.js';
import { countSpans } from '../../src/otlp/model.js';
import { decodeTracesData, encodeTracesData } from '../../src/otlp/protobuf.js';
import { metricsText, metricValue } from '../../test/helpers/metrics-text.js';
import { startS3Server, type S3Server } from '../../test/helpers/s3.js';

/** The S3 backend's counter of bytes read from the bucket. Change it here if the backend names it otherwise. */
export const BUCKET_READ_BYTES_METRIC = 'skein_s3_read_bytes_total';
const BLOCKS_METRIC = 'skein_blocks';
/** The router's count of spans it handed on, by `decision` (`owned` or `forwarded`). */
const ROUTED_SPANS_METRIC = 'skein_cluster_routed_spans_total';
/** Sent to their owners, at most this share of the spans may still be forwarded, or the setup is not what it says. */
const MAX_FORWARDED_BY_OWNER = 0.01;
const CLUSTER_SIZE = 3;
const LOOKUP_SEED = 11;
/** Issue 11's targets, quoted beside the figures. */
const TARGETS = { ingestRatio: 0.8, warmP99Ratio: 2, coldP99Ratio: 5 } as const;

const INGEST_SETUPS = ['one-local', 'one-s3', 'three-s3', 'three-s3-by-owner'] as const;
type IngestSetup = (typeof INGEST_SETUPS)[number];

interface IngestRun extends SustainedIngest {
  /** Spans the instances' routers forwarded to another (three-instance setups). */
  forwardedSpans?: number;
}

/** Bodies each bound for one instance: `targetOf[i]` is the index of body i's instance. */
interface RoutedBatch extends Batch {
  bodies: Uint8Array[];
  spansPerBody: number[];
  targetOf: number[];
}

interface Round {
  ingest: Map<IngestSetup, IngestRun>;
  local: LookupPass;
  cold: LookupPass;
  warm: LookupPass;
  bucketMetric: string;
}

export async function runCluster(ctx: BenchContext, spans: number, lookups: number): Promise<void> {
  const workload = referenceRequests(spans, 'protobuf', ctx.log);
  // Distinct stored IDs, the same each round.
  const ids = lookupIds(workload.traceIds, lookups, LOOKUP_SEED);
  const rounds: Round[] = [];
  for (let round = 0; round < ctx.runs; round++) {
    const order = round % 2 === 0 ? INGEST_SETUPS : [...INGEST_SETUPS].reverse();
    const ingest = new Map<IngestSetup, IngestRun>();
    let local: LookupPass | undefined;
    let bucket: { cold: LookupPass; warm: LookupPass; metric: string } | undefined;
    for (const setup of order) {
      if (setup === 'one-local') {
        local = await withServer({}, async (server) => {
          ingest.set(setup, await measureIngest(ctx, [server], workload));
          await lookupPass(server, ids); // warms DuckDB and the page cache, as the bucket's warm pass is warmed
          return lookupPass(server, ids);
        });
      } else if (setup === 'one-s3') {
        bucket = await withBucket(async (s3) => {
          const blocks = await withServer({ configYaml: s3Config(s3) }, async (server) => {
            ingest.set(setup, await measureIngest(ctx, [server], workload));
            const written = (await scrapeSum(server.proc.url, BLOCKS_METRIC)) ?? 0;
            if (written === 0) throw new Error(`after POST /flush the instance reports no blocks (${BLOCKS_METRIC})`);
            return written;
          });
          // A fresh instance on the same bucket: its cache is empty.
          return withServer({ configYaml: s3Config(s3) }, async (server) => {
            await waitForBlocks(server, blocks);
            const metric = await bucketReadMetric(server.proc.url);
            const cold = await lookupPass(server, ids, metric);
            const warm = await lookupPass(server, ids, metric);
            return { cold, warm, metric };
          });
        });
      } else {
        await withBucket(async (s3) => {
          const cluster = await startFreshCluster({ size: CLUSTER_SIZE, s3, pollInterval: '15s' });
          try {
            const servers = cluster.instances.map((inst) => ({ proc: inst.proc!, pid: inst.proc!.child.pid! }));
            // The ring is over the instances' addresses, new each round: split before the clock starts.
            const byOwner = setup === 'three-s3-by-owner' ? bodiesByOwner(ctx, workload, cluster.instances.map((inst) => inst.grpcAddr)) : undefined;
            const run = await measureIngest(ctx, servers, byOwner ?? workload, byOwner?.targetOf);
            run.forwardedSpans = await forwardedSpans(servers);
            if (byOwner && run.forwardedSpans > run.send.acceptedSpans * MAX_FORWARDED_BY_OWNER) {
              throw new Error(
                `three-s3-by-owner: the instances forwarded ${run.forwardedSpans} of ${run.send.acceptedSpans} spans sent to their owners ` +
                  `(${ROUTED_SPANS_METRIC}{decision="forwarded"}), more than ${MAX_FORWARDED_BY_OWNER * 100} %: the bench's ring does not match the cluster's`,
              );
            }
            ingest.set(setup, run);
          } finally {
            await stopCluster(cluster);
          }
        });
      }
    }
    rounds.push({ ingest, local: local!, cold: bucket!.cold, warm: bucket!.warm, bucketMetric: bucket!.metric });
    const r = rounds[rounds.length - 1]!;
    ctx.log(
      `cluster round ${round + 1}/${ctx.runs}: ` +
        INGEST_SETUPS.map((s) => `${s} ${Math.round(perCpu(r.ingest.get(s)!))} spans/CPU-s`).join(', ') +
        `; trace by ID p99 local ${p99(r.local).toFixed(1)} ms, cold ${p99(r.cold).toFixed(1)} ms, warm ${p99(r.warm).toFixed(1)} ms; ` +
        `bucket bytes/lookup cold ${Math.round(r.cold.bucketBytes! / ids.length)}, warm ${Math.round(r.warm.bucketBytes! / ids.length)}`,
    );
  }
  emitFigures(ctx, rounds, workload, ids.length);
}

function emitFigures(ctx: BenchContext, rounds: readonly Round[], workload: GeneratedRequests, lookups: number): void {
  const common = { spansSent: workload.spanCount, requests: workload.bodies.length, connections: CONNECTIONS, bucket: 's3rver on loopback, in the bench process (its CPU not counted)' };
  for (const setup of INGEST_SETUPS) {
    const runs = rounds.map((r) => r.ingest.get(setup)!);
    ctx.emit(
      makeFigure(ctx, `cluster.ingest.${setup}.cpu-efficiency`, 'spans/server-CPU-s', runs.map(perCpu), {
        ...common,
        instances: setup.startsWith('three-') ? CLUSTER_SIZE : 1,
        backend: setup === 'one-local' ? 'local' : 's3',
        sentRoundRobin: setup === 'three-s3',
        sentToOwner: setup === 'three-s3-by-owner',
        measured: 'CPU of every Skein process from the first request until every span was stored at its owner, POST /flush answered on each, and all were idle',
        acceptedSpans: runs.map((r) => r.send.acceptedSpans),
        refusedSpans: runs.map((r) => r.send.refusedSpans),
        refusals: runs.map((r) => r.send.refusals),
        storedSpans: runs.map((r) => r.storedSpans),
        serverCpuSeconds: runs.map((r) => roundTo(r.serverCpuSeconds, 3)),
        wallSecondsSending: runs.map((r) => roundTo(r.send.wallSeconds, 3)),
        ...(setup.startsWith('three-') ? { forwardedSpans: runs.map((r) => r.forwardedSpans) } : {}),
        // Split by owner, a body becomes one per owner among its spans: more, smaller requests.
        ...(setup === 'three-s3-by-owner' ? { requests: runs.map((r) => r.send.requests) } : {}),
      }),
    );
  }
  const ingestRatios = rounds.map((r) => perCpu(r.ingest.get('three-s3')!) / perCpu(r.ingest.get('one-s3')!));
  ctx.emit(
    makeFigure(ctx, 'cluster.ingest.three-vs-one-s3', 'ratio', ingestRatios, {
      ...common,
      measured: 'per round: spans per server CPU-second of three instances over one, both on a bucket',
      target: `>= ${TARGETS.ingestRatio} (within 20 % of one instance)`,
      reached: median(ingestRatios) >= TARGETS.ingestRatio,
      threeVsOneLocal: rounds.map((r) => roundTo(perCpu(r.ingest.get('three-s3')!) / perCpu(r.ingest.get('one-local')!), 3)),
    }),
  );
  const byOwnerRatios = rounds.map((r) => perCpu(r.ingest.get('three-s3-by-owner')!) / perCpu(r.ingest.get('one-s3')!));
  ctx.emit(
    makeFigure(ctx, 'cluster.ingest.three-by-owner-vs-one-s3', 'ratio', byOwnerRatios, {
      ...common,
      measured: "per round: spans per server CPU-second of three instances, each span sent to its trace's owner, over one instance, both on a bucket",
      target: `>= ${TARGETS.ingestRatio} (within 20 % of one instance)`,
      reached: median(byOwnerRatios) >= TARGETS.ingestRatio,
      byOwnerVsRoundRobin: rounds.map((r) => roundTo(perCpu(r.ingest.get('three-s3-by-owner')!) / perCpu(r.ingest.get('three-s3')!), 3)),
    }),
  );

  const lookupContext = {
    spansStored: workload.spanCount,
    lookups,
    distinctIds: true,
    sequential: true,
    accept: 'application/protobuf',
    failedLookups: { local: rounds.map((r) => r.local.failed), cold: rounds.map((r) => r.cold.failed), warm: rounds.map((r) => r.warm.failed) },
  };
  const passes = [
    ['local', (r: Round) => r.local, 'local disk, the second pass over the IDs'],
    ['s3-cold', (r: Round) => r.cold, 'a fresh instance on the bucket, empty cache, the first pass over the IDs (blocks known from the block list before the first lookup)'],
    ['s3-warm', (r: Round) => r.warm, 'the same instance, the same IDs again'],
  ] as const;
  for (const [name, pass, where] of passes) {
    for (const [q, label] of [[0.5, 'p50'], [0.99, 'p99']] as const) {
      ctx.emit(makeFigure(ctx, `cluster.trace-by-id.${name}.${label}`, 'ms', rounds.map((r) => percentile(pass(r).ms, q)), { ...lookupContext, where }));
    }
    ctx.emit(makeFigure(ctx, `cluster.trace-by-id.${name}.server-cpu-per-lookup`, 'ms', rounds.map((r) => pass(r).serverCpuPerLookupMs), { ...lookupContext, where }));
  }
  for (const [name, pass, target] of [['s3-warm', (r: Round) => r.warm, TARGETS.warmP99Ratio], ['s3-cold', (r: Round) => r.cold, TARGETS.coldP99Ratio]] as const) {
    const ratios = rounds.map((r) => p99(pass(r)) / p99(r.local));
    ctx.emit(
      makeFigure(ctx, `cluster.trace-by-id.${name}-vs-local.p99-ratio`, 'ratio', ratios, {
        ...lookupContext,
        target: `<= ${target}`,
        reached: median(ratios) <= target,
        p50Ratio: rounds.map((r) => roundTo(percentile(pass(r).ms, 0.5) / percentile(r.local.ms, 0.5), 3)),
      }),
    );
  }
  for (const [name, pass] of [['cold', (r: Round) => r.cold], ['warm', (r: Round) => r.warm]] as const) {
    ctx.emit(
      makeFigure(ctx, `cluster.bucket-bytes-per-lookup.${name}`, 'bytes', rounds.map((r) => pass(r).bucketBytes! / lookups), {
        ...lookupContext,
        metric: rounds[0]?.bucketMetric,
        aim: 'the footer once per part, then one row group\'s needed columns per lookup',
      }),
    );
  }
}

// ---------------------------------------------------------------------------

async function withServer<T>(opts: { configYaml?: string }, fn: (server: ServerUnderTest) => Promise<T>): Promise<T> {
  const server = await startFreshServer(opts);
  try {
    return await fn(server);
  } finally {
    await stopServer(server);
  }
}

async function withBucket<T>(fn: (s3: S3Server) => Promise<T>): Promise<T> {
  const s3 = await startS3Server();
  try {
    return await fn(s3);
  } finally {
    await s3.stop();
    rmSync(s3.directory, { recursive: true, force: true });
  }
}

/** One instance on the bucket; its cache is under its own fresh data directory (so a fresh instance starts cold). */
function s3Config(s3: S3Server): string {
  return `storage:\n${s3.storageYaml({ indent: 2 })}\n`;
}

/** The sustained ingest of `bodies` on the servers (bench/sustained-ingest.ts), logged. */
async function measureIngest(ctx: BenchContext, servers: readonly ServerUnderTest[], bodies: Batch, targetOf?: readonly number[]): Promise<IngestRun> {
  const run = await measureSustainedIngest(servers, bodies, targetOf);
  ctx.log(`  ${servers.length} instance(s): ${run.send.acceptedSpans} spans accepted, ${run.storedSpans} stored, ${run.serverCpuSeconds.toFixed(2)} server CPU-s`);
  return run;
}

/**
 * The workload as a loadbalancing exporter in front of the cluster sends it: each body's
 * spans split by their trace's owner on the ring of `peerIds` (the router's own split),
 * each share encoded as one body for that owner, in the workload's order.
 */
function bodiesByOwner(ctx: BenchContext, workload: GeneratedRequests, peerIds: readonly string[]): RoutedBatch {
  const t0 = performance.now();
  const ring = new Ring(peerIds);
  const out: RoutedBatch = { bodies: [], spansPerBody: [], targetOf: [] };
  for (const body of workload.bodies) {
    for (const [owner, share] of splitByOwner(decodeTracesData(body), ring, peerIds[0]!)) {
      out.bodies.push(encodeTracesData(share));
      out.spansPerBody.push(countSpans(share));
      out.targetOf.push(peerIds.indexOf(owner));
    }
  }
  const spans = out.spansPerBody.reduce((a, b) => a + b, 0);
  if (spans !== workload.spanCount) throw new Error(`split by owner, the workload's ${workload.spanCount} spans became ${spans}`);
  const perOwner = peerIds.map((_, i) => out.spansPerBody.reduce((sum, n, j) => (out.targetOf[j] === i ? sum + n : sum), 0));
  ctx.log(`  split ${workload.bodies.length} bodies into ${out.bodies.length} by owner (spans per owner ${perOwner.join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

/** Spans the servers' routers forwarded to another instance, summed; fails when the metric is missing. */
async function forwardedSpans(servers: readonly ServerUnderTest[]): Promise<number> {
  const texts = await Promise.all(servers.map((s) => metricsText(s.proc)));
  if (!texts.some((t) => t.includes(`${ROUTED_SPANS_METRIC}{`))) {
    throw new Error(`no instance reports ${ROUTED_SPANS_METRIC} on /metrics (bench/figures/cluster.ts ROUTED_SPANS_METRIC): cannot tell what was forwarded`);
  }
  return texts.reduce((sum, t) => sum + metricValue(t, ROUTED_SPANS_METRIC, { decision: 'forwarded' }), 0);
}

/** Waits until a fresh instance knows the blocks its predecessor wrote (so lookups do not race its first block-list poll). */
async function waitForBlocks(server: ServerUnderTest, blocks: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const known = (await scrapeSum(server.proc.url, BLOCKS_METRIC)) ?? 0;
    if (known >= blocks) return;
    if (Date.now() > deadline) throw new Error(`a fresh instance on the bucket knew ${known} of ${blocks} blocks (${BLOCKS_METRIC}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The metric counting bytes read from the bucket: BUCKET_READ_BYTES_METRIC, or else
 * the one metric whose name has `s3` and `bytes` (reads preferred over writes, a
 * counter or a summary's _sum). Fails naming what it found otherwise.
 */
async function bucketReadMetric(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    names.add(line.split(/[{ ]/, 1)[0]!);
  }
  if (names.has(BUCKET_READ_BYTES_METRIC)) return BUCKET_READ_BYTES_METRIC;
  const candidates = [...names].filter((n) => /s3/i.test(n) && /bytes/i.test(n) && !/_(bucket|count)$/.test(n) && !/writ|put|upload|sent/i.test(n));
  const reads = candidates.filter((n) => /read|get|download|fetch|received/i.test(n));
  const pick = reads.length === 1 ? reads : candidates;
  if (pick.length === 1) return pick[0]!;
  const s3Names = [...names].filter((n) => /s3/i.test(n));
  throw new Error(
    `no single metric of bytes read from the bucket on ${url}/metrics: expected ${BUCKET_READ_BYTES_METRIC} (bench/figures/cluster.ts BUCKET_READ_BYTES_METRIC); ` +
      `metrics with s3 and bytes in their name: [${candidates.join(', ')}]; all s3 metrics: [${s3Names.join(', ')}]`,
  );
}

function perCpu(r: IngestRun): number {
  return r.send.acceptedSpans / r.serverCpuSeconds;
}

function p99(pass: LookupPass): number {
  return percentile(pass.ms, 0.99);
}
