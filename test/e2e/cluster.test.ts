// Three Skein processes sharing one S3-protocol bucket (s3rver on loopback), fed by
// the OpenTelemetry SDK's OTLP exporters, as a user of a cluster sees them
// (docs/scale-out.md):
//
// - spans sent to any instance are found by trace ID and by search on every
//   instance, first from their owner's head (nothing flushed yet), then from the
//   bucket alone once the instances that wrote them are gone;
// - an instance SIGKILLed during ingest loses no acknowledged span once it is back
//   (its WAL is local), and meanwhile the others answer, marked PARTIAL;
// - the bucket unreachable for a while: ingest buffers or refuses with retryable
//   codes, POST /flush does not claim a block it could not write, and everything
//   acknowledged is found once the bucket is back;
// - only the configured compactor compacts, and each span is stored once.
//
// Outcomes are waited for with generous deadlines (test/helpers/poll.ts), never timed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SpanKind, context, trace as otelTrace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex, type ResourceSpans } from '../../src/otlp/model.js';
import { scrapeSum } from '../../bench/server-metrics.js';
import { startCluster, type Cluster, type ClusterInstance } from '../helpers/cluster.js';
import type { S3Server } from '../helpers/s3.js';
import { expectedSpan } from '../helpers/sdk.js';
import { plainBatch, plainSpans } from '../helpers/compare.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';
import { inParallel } from '../helpers/parallel.js';

/** Each test's last-resort bound (its waits fail first, saying what they waited for): a missing piece never hangs the suite. */
const TEST_TIMEOUT_MS = 300_000;
const COMPACTIONS_METRIC = 'skein_compactions_total';

// ---------------------------------------------------------------------------
// Clients: the SDK's exporters, and traces made by its tracer.

type Protocol = 'grpc' | 'http-protobuf' | 'http-json';

interface SentTrace {
  id: string;
  spans: ReadableSpan[];
}

/** Traces made by the SDK's tracer (recorded in memory), for a service of the caller's. */
class TraceMaker {
  private readonly memory = new InMemorySpanExporter();
  private readonly provider: BasicTracerProvider;

  constructor(service: string) {
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'cluster-test' }),
      spanProcessors: [new SimpleSpanProcessor(this.memory)],
    });
  }

  /** `count` traces of `spans` spans: a server root and client children; `padding` bytes of attribute on each span make requests larger. */
  make(count: number, spans: number, padding = 0): SentTrace[] {
    const tracer = this.provider.getTracer('skein-e2e-cluster', '1.0.0');
    const ids: string[] = [];
    for (let t = 0; t < count; t++) {
      const root = tracer.startSpan(`GET /orders/${t}`, { kind: SpanKind.SERVER, attributes: { 'http.route': '/orders/:id', ...(padding > 0 && { pad: 'x'.repeat(padding) }) } });
      const ctx = otelTrace.setSpan(context.active(), root);
      for (let s = 1; s < spans; s++) {
        tracer.startSpan(`SELECT orders ${s}`, { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', ...(padding > 0 && { pad: 'y'.repeat(padding) }) } }, ctx).end();
      }
      root.end();
      ids.push(root.spanContext().traceId);
    }
    const byId = new Map(ids.map((id) => [id, [] as ReadableSpan[]]));
    for (const span of this.memory.getFinishedSpans()) byId.get(span.spanContext().traceId)?.push(span);
    this.memory.reset();
    return ids.map((id) => ({ id, spans: byId.get(id)! }));
  }
}

function exporterFor(inst: ClusterInstance, protocol: Protocol, timeoutMillis = 5000): SpanExporter {
  switch (protocol) {
    case 'grpc':
      return new GrpcExporter({ url: `http://${inst.grpcAddr}`, timeoutMillis });
    case 'http-protobuf':
      return new ProtoExporter({ url: `${inst.otlpHttpUrl}/v1/traces`, timeoutMillis });
    case 'http-json':
      return new JsonExporter({ url: `${inst.otlpHttpUrl}/v1/traces`, timeoutMillis });
  }
}

/** One export through the SDK exporter: true when the server acknowledged it. */
function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<boolean> {
  return new Promise((resolve) => exporter.export(spans, (result) => resolve(result.code === ExportResultCode.SUCCESS)));
}

/** What was sent and what of it was acknowledged, by trace, as span ID sets. */
class Ledger {
  readonly sent = new Map<string, Set<string>>();
  readonly acked = new Map<string, Set<string>>();

  record(traces: readonly SentTrace[], acknowledged: boolean): void {
    for (const t of traces) {
      const ids = t.spans.map((s) => s.spanContext().spanId);
      addAll(this.sent, t.id, ids);
      if (acknowledged) addAll(this.acked, t.id, ids);
    }
  }

  get ackedSpans(): number {
    let n = 0;
    for (const ids of this.acked.values()) n += ids.size;
    return n;
  }
}

function addAll(map: Map<string, Set<string>>, key: string, values: readonly string[]): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  for (const v of values) set.add(v);
}

// ---------------------------------------------------------------------------
// Reading back, as a user of the API does.

interface TraceAnswer {
  status: number;
  /** The spans, when the answer was 200. */
  batch?: ResourceSpans[];
  /** v2 only: the answer's `status` and `message` fields. */
  partial?: { status: unknown; message: unknown };
  body: string;
}

async function getTrace(url: string, traceId: string, version: 'v1' | 'v2'): Promise<TraceAnswer> {
  const res = await fetch(`${url}/api/${version === 'v2' ? 'v2/' : ''}traces/${traceId}`);
  const body = await res.text();
  if (res.status !== 200) return { status: res.status, body };
  const json = JSON.parse(body) as Record<string, unknown>;
  const traceJson = version === 'v2' ? json['trace'] : json;
  return {
    status: 200,
    body,
    batch: decodeOtlpJson(JSON.stringify(traceJson ?? {}), { ids: 'base64' }),
    ...(version === 'v2' && { partial: { status: json['status'], message: json['message'] } }),
  };
}

function spanIdsOf(batch: readonly ResourceSpans[]): string[] {
  return batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => toHex(s.spanId))));
}

interface SearchAnswer {
  status: number;
  /** Trace IDs found, 32 hex digits (search answers trim leading zeros, as Tempo's). */
  ids: Set<string>;
  /** Traces listed (more than ids.size: a trace listed twice). */
  listed: number;
  json: Record<string, unknown>;
  body: string;
}

async function search(url: string, params: Record<string, string>): Promise<SearchAnswer> {
  const res = await fetch(`${url}/api/search?${new URLSearchParams(params)}`);
  const body = await res.text();
  if (res.status !== 200) return { status: res.status, ids: new Set(), listed: 0, json: {}, body };
  const json = JSON.parse(body) as Record<string, unknown>;
  const traces = (json['traces'] ?? []) as Array<{ traceID: string }>;
  return { status: 200, ids: new Set(traces.map((t) => t.traceID.padStart(32, '0'))), listed: traces.length, json, body };
}

/** Is every acknowledged span of the trace there, nothing twice, nothing never sent? undefined when so, else what is wrong. */
function checkSpans(traceId: string, got: readonly string[], acked: ReadonlySet<string>, sent: ReadonlySet<string>): string | undefined {
  const unique = new Set(got);
  if (unique.size !== got.length) return `trace ${traceId}: ${got.length - unique.size} span(s) returned twice`;
  const missing = [...acked].filter((id) => !unique.has(id));
  if (missing.length > 0) return `trace ${traceId}: ${missing.length} of ${acked.size} acknowledged spans missing`;
  const foreign = got.filter((id) => !sent.has(id));
  if (foreign.length > 0) return `trace ${traceId}: ${foreign.length} span(s) never sent`;
  return undefined;
}


/**
 * Waits until, on every given instance, every trace in the ledger's acknowledged set
 * comes back by ID (v1) with each acknowledged span exactly once (generous: a peer's forwarder
 * may be backing off when its owner comes back). Traces found whole
 * are not asked again.
 */
async function waitUntilComplete(what: string, instances: readonly ClusterInstance[], ledger: Ledger, timeoutMs = 90_000): Promise<void> {
  const pending = new Map<ClusterInstance, Set<string>>(instances.map((inst) => [inst, new Set(ledger.acked.keys())]));
  let lastProblem = '';
  await waitFor(
    what,
    async () => {
      for (const [inst, ids] of pending) {
        const results = await inParallel([...ids], async (id) => {
          const answer = await getTrace(inst.url, id, 'v1');
          if (answer.status !== 200) return { id, problem: `trace ${id}: ${answer.status} ${answer.body.slice(0, 200)}` };
          return { id, problem: checkSpans(id, spanIdsOf(answer.batch!), ledger.acked.get(id)!, ledger.sent.get(id)!) };
        });
        for (const r of results) {
          if (r.problem === undefined) ids.delete(r.id);
          else lastProblem = `instance ${inst.index}: ${r.problem}`;
        }
        if (ids.size === 0) pending.delete(inst);
      }
      return pending.size === 0;
    },
    timeoutMs,
    500,
  ).catch((err: Error) => {
    const left = [...pending].map(([inst, ids]) => `instance ${inst.index}: ${ids.size} trace(s)`).join(', ');
    throw new Error(`${err.message}; still incomplete: ${left}; last seen: ${lastProblem}`);
  });
}

/** Until no instance has a batch waiting in its queue to a peer (GET /api/skein/cluster). */
async function forwardingDrained(instances: readonly ClusterInstance[]): Promise<void> {
  await waitFor('every forward queue to empty', async () => {
    for (const inst of instances) {
      const res = await fetch(`${inst.url}/api/skein/cluster`);
      if (res.status !== 200) return false;
      const body = (await res.json()) as { peers: Array<{ forwardQueue: { batches: number } | null }> };
      if (body.peers.some((p) => (p.forwardQueue?.batches ?? 0) > 0)) return false;
    }
    return true;
  });
}

async function flush(inst: ClusterInstance, timeoutMs = 30_000): Promise<number | 'no answer'> {
  try {
    const res = await fetch(`${inst.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
    await res.text();
    return res.status;
  } catch {
    return 'no answer';
  }
}

/** Keys of visible blocks' meta.json in the bucket: `<tenant>/<blockId>/meta.json` (names starting with ~ are the cluster's own). */
async function blockMetaKeys(s3: S3Server): Promise<string[]> {
  return (await s3.keys()).filter((k) => /(^|\/)[^/~][^/]*\/[0-9a-f-]{36}\/meta\.json$/.test(k));
}

async function metricSum(inst: ClusterInstance, name: string): Promise<number> {
  return (await scrapeSum(inst.url, name)) ?? 0;
}

async function withCluster(opts: Parameters<typeof startCluster>[0], fn: (cluster: Cluster) => Promise<void>): Promise<void> {
  const cluster = await startCluster(opts);
  try {
    await fn(cluster);
  } finally {
    await cluster.close();
  }
}

// ---------------------------------------------------------------------------

describe('a cluster of three instances sharing one bucket', () => {
  test('spans sent to any instance are found by trace ID and by search on every instance, from heads and then from the bucket', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withCluster({}, async (cluster) => {
      const run = randomBytes(3).toString('hex');
      const protocols: Protocol[] = ['grpc', 'http-protobuf', 'http-json'];
      // One service per receiving instance, each through another of the SDK's exporters.
      const sent = new Map<string, SentTrace[]>();
      for (const inst of cluster.instances) {
        const service = `cluster-a-${run}-${inst.index}`;
        const traces = new TraceMaker(service).make(4, 3);
        const exporter = exporterFor(inst, protocols[inst.index]!);
        try {
          assert.ok(await exportSpans(exporter, traces.flatMap((t) => t.spans)), `instance ${inst.index} acknowledged the export (${protocols[inst.index]})`);
        } finally {
          await exporter.shutdown();
        }
        sent.set(service, traces);
      }
      const all = [...sent.values()].flat();
      const expected = new Map(all.map((t) => [t.id, plainSpans(t.spans.map(expectedSpan))]));

      /** Every trace whole by ID (v1 and v2) and every service's traces by TraceQL and tags search, on instance `inst`. */
      const answersEverything = async (inst: ClusterInstance): Promise<string | true> => {
        for (const t of all) {
          for (const version of ['v1', 'v2'] as const) {
            const answer = await getTrace(inst.url, t.id, version);
            if (answer.status !== 200) return `${version} ${t.id}: ${answer.status} ${answer.body.slice(0, 200)}`;
            try {
              assert.deepEqual(plainBatch(answer.batch!), expected.get(t.id));
            } catch {
              return `${version} ${t.id}: spans differ from those sent (${spanIdsOf(answer.batch!).length} of ${t.spans.length} returned)`;
            }
          }
        }
        for (const [service, traces] of sent) {
          const want = new Set(traces.map((t) => t.id));
          for (const params of [{ q: `{ resource.service.name = "${service}" }` }, { tags: `service.name=${service}` }] as Array<Record<string, string>>) {
            const answer = await search(inst.url, { ...params, limit: '50' });
            if (answer.status !== 200) return `search ${JSON.stringify(params)}: ${answer.status} ${answer.body.slice(0, 200)}`;
            if (answer.listed !== answer.ids.size) return `search ${JSON.stringify(params)}: ${answer.listed - answer.ids.size} trace(s) listed twice`;
            const found = [...answer.ids].filter((id) => want.has(id)).length;
            if (found !== want.size || answer.ids.size !== want.size) return `search ${JSON.stringify(params)}: ${answer.ids.size} traces, ${found} of ${want.size} sent`;
          }
        }
        return true;
      };
      const waitEverywhere = async (when: string, instances: readonly ClusterInstance[]) => {
        for (const inst of instances) {
          let last: string | true = '';
          await waitFor(`instance ${inst.index} to answer every trace and search ${when}`, async () => (last = await answersEverything(inst)) === true, 30_000, 250).catch(
            (err: Error) => {
              throw new Error(`${err.message}; last seen: ${String(last)}`);
            },
          );
        }
      };

      // Nothing is flushed yet: each trace is in its owner's head only, and every instance finds it there.
      assert.deepEqual(await blockMetaKeys(cluster.s3), [], 'no block was written yet (the heads hold everything)');
      await waitEverywhere('from the heads (spans forwarded to their owner, queries fanned out to the peers\' heads)', cluster.instances);
      for (const inst of cluster.instances) {
        const v2 = await getTrace(inst.url, all[0]!.id, 'v2');
        assert.equal(v2.partial?.status, undefined, `instance ${inst.index}: every peer answered, so the trace is not PARTIAL`);
      }

      for (const inst of cluster.instances) assert.equal(await flush(inst), 204, `POST /flush on instance ${inst.index}`);
      const blocks = await blockMetaKeys(cluster.s3);
      assert.ok(blocks.length >= 1, `POST /flush on every instance wrote blocks to the bucket (keys: ${(await cluster.s3.keys()).slice(0, 20).join(', ')})`);
      await waitEverywhere('after POST /flush', cluster.instances);

      // The instances that wrote the blocks go away: the last one finds everything in the bucket,
      // once its block-list poll has seen their blocks.
      await Promise.all([cluster.stop(0), cluster.stop(1)]);
      await waitEverywhere('from the bucket alone (its peers stopped; their blocks found by the block-list poll)', [cluster.instances[2]!]);
    });
  });

  test('SIGKILL of one instance during ingest: the others answer, marked PARTIAL; once it restarts, no acknowledged span is lost', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withCluster({}, async (cluster) => {
      const service = `cluster-b-${randomBytes(3).toString('hex')}`;
      const maker = new TraceMaker(service);
      const ledger = new Ledger();
      const victim = 1;
      const protocols: Protocol[] = ['grpc', 'http-protobuf', 'http-protobuf'];
      let ackedRequests = 0;
      const stopped = new Set<number>();
      let stopAll = false;
      // One client per instance, sending whole traces back to back; ownership spreads them over all three.
      const client = async (inst: ClusterInstance) => {
        const exporter = exporterFor(inst, protocols[inst.index]!, 3000);
        try {
          while (!stopAll && !stopped.has(inst.index)) {
            const traces = maker.make(5, 4);
            const ok = await exportSpans(exporter, traces.flatMap((t) => t.spans));
            ledger.record(traces, ok);
            if (ok) ackedRequests++;
            else if (stopped.has(inst.index)) break; // its server is gone: that request was never acknowledged
          }
        } finally {
          await exporter.shutdown();
        }
      };
      const clients = cluster.instances.map((inst) => client(inst));
      try {
        await waitFor('40 acknowledged requests before the kill', () => ackedRequests >= 40);
        stopped.add(victim);
        await cluster.kill(victim);
        const atKill = ackedRequests;
        await waitFor('40 more acknowledged requests by the survivors', () => ackedRequests >= atKill + 40);
      } finally {
        stopAll = true;
        await Promise.all(clients);
      }
      assert.ok(ledger.acked.size >= 300, `enough acknowledged traces to mean something (${ledger.acked.size})`);

      // While it is down: answers, not errors, and marked partial.
      const sample = [...ledger.acked.keys()].slice(0, 60);
      for (const i of [0, 2]) {
        const url = cluster.instances[i]!.url;
        const found = await search(url, { q: `{ resource.service.name = "${service}" }`, limit: '20' });
        assert.equal(found.status, 200, `instance ${i}: search while instance ${victim} is down: ${found.body.slice(0, 300)}`);
        assert.equal(found.json['status'], 'PARTIAL', `instance ${i}: search JSON says status PARTIAL while a peer is down: ${found.body.slice(0, 300)}`);
        assert.equal(typeof found.json['message'], 'string', `instance ${i}: a PARTIAL search says why (message)`);
        const tagged = await search(url, { tags: `service.name=${service}` });
        assert.equal(tagged.status, 200, `instance ${i}: tags search while a peer is down`);
        assert.equal(tagged.json['status'], 'PARTIAL', `instance ${i}: tags search JSON says status PARTIAL`);

        let answered = 0;
        for (const id of sample) {
          const v2 = await getTrace(url, id, 'v2');
          assert.ok(v2.status === 200 || v2.status === 404, `instance ${i}: /api/v2/traces/${id} while a peer is down answers 200 or 404, not ${v2.status}: ${v2.body.slice(0, 300)}`);
          if (v2.status !== 200) continue;
          answered++;
          assert.equal(v2.partial?.status, 'PARTIAL', `instance ${i}: /api/v2/traces/${id} is marked PARTIAL while a peer is down`);
          assert.equal(typeof v2.partial?.message, 'string', `instance ${i}: a PARTIAL trace says why (message)`);
          const v1 = await getTrace(url, id, 'v1');
          assert.ok(v1.status === 200 || v1.status === 404, `instance ${i}: /api/traces/${id} answers 200 or 404 while a peer is down, not ${v1.status}`);
        }
        assert.ok(answered > 0, `instance ${i}: some of ${sample.length} acknowledged traces are found while one peer of three is down`);
      }

      await cluster.start(victim);
      await waitUntilComplete('every acknowledged trace whole on every instance after the restart', cluster.instances, ledger);
      for (const inst of cluster.instances) {
        const v2 = await getTrace(inst.url, sample[0]!, 'v2');
        assert.equal(v2.status, 200);
        assert.equal(v2.partial?.status, undefined, `instance ${inst.index}: with every peer back, answers are not PARTIAL`);
      }
    });
  });

  test('the bucket unreachable for a while: ingest buffers or refuses with retryable codes, and recovers without loss when it returns', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withCluster(
      {
        // Small heads and a small allowance for spans waiting on a block, so an outage reaches the limit quickly.
        config: { storage: { block: { max_head_bytes: '64KiB' } }, limits: { max_head_bytes_pending: '256KiB', retry_after_seconds: 1 } },
      },
      async (cluster) => {
        const service = `cluster-c-${randomBytes(3).toString('hex')}`;
        const maker = new TraceMaker(service);
        const ledger = new Ledger();
        const protocols: Protocol[] = ['grpc', 'http-protobuf', 'http-protobuf'];

        // Before: the bucket is there, everything is acknowledged.
        for (const inst of cluster.instances) {
          const exporter = exporterFor(inst, protocols[inst.index]!);
          try {
            for (let r = 0; r < 5; r++) {
              const traces = maker.make(5, 4, 200);
              const ok = await exportSpans(exporter, traces.flatMap((t) => t.spans));
              ledger.record(traces, ok);
              assert.ok(ok, `instance ${inst.index}: request ${r} acknowledged while the bucket is up`);
            }
          } finally {
            await exporter.shutdown();
          }
        }

        await cluster.s3.stop();
        // During: keep sending until each instance refuses (or a good amount is buffered).
        const refusedBy = new Set<number>();
        await Promise.all(
          cluster.instances.map(async (inst) => {
            const exporter = exporterFor(inst, protocols[inst.index]!, 2000);
            try {
              for (let r = 0; r < 40; r++) {
                const traces = maker.make(5, 4, 500);
                const ok = await exportSpans(exporter, traces.flatMap((t) => t.spans));
                ledger.record(traces, ok);
                if (!ok) {
                  refusedBy.add(inst.index);
                  break;
                }
              }
            } finally {
              await exporter.shutdown();
            }
          }),
        );
        // A refusal is one OTLP clients retry: 429 or 503 with Retry-After, never 500 or 400.
        for (const inst of cluster.instances) {
          const probe = simpleTrace(3, { service });
          const res = await postProtobuf(inst.otlpHttpUrl, probe.batch);
          const text = await res.text();
          assert.ok(
            res.status === 200 || ((res.status === 429 || res.status === 503) && res.headers.get('retry-after') !== null),
            `instance ${inst.index}: ingest while the bucket is unreachable answers 200 or a retryable 429/503 with Retry-After, not ${res.status}: ${text.slice(0, 300)}`,
          );
        }
        // A flush cannot write a block to an unreachable bucket, and must not say it did.
        const duringOutage = await flush(cluster.instances[0]!, 20_000);
        assert.notEqual(duringOutage, 204, 'POST /flush while the bucket is unreachable does not answer 204 (no block could be written)');

        await cluster.s3.start();
        // After: flushes succeed again (the cuts retried), ingest accepts, nothing acknowledged is lost.
        for (const inst of cluster.instances) {
          let last: number | string = '';
          await waitFor(`POST /flush on instance ${inst.index} to succeed once the bucket is back`, async () => (last = await flush(inst)) === 204, 60_000, 500).catch(
            (err: Error) => {
              throw new Error(`${err.message}; last answer: ${last}`);
            },
          );
        }
        for (const inst of cluster.instances) {
          await waitFor(`instance ${inst.index} to acknowledge ingest again`, async () => {
            const traces = maker.make(2, 2);
            const exporter = exporterFor(inst, 'http-protobuf', 3000);
            try {
              const ok = await exportSpans(exporter, traces.flatMap((t) => t.spans));
              ledger.record(traces, ok);
              return ok;
            } finally {
              await exporter.shutdown();
            }
          }, 60_000, 500);
        }
        await waitUntilComplete('every span acknowledged before, during and after the outage, on every instance', cluster.instances, ledger);
        assert.ok((await blockMetaKeys(cluster.s3)).length > 0, 'blocks reached the bucket after it came back');
        // Whether the instances refused or buffered on disk, say which, for whoever reads the log.
        t.diagnostic(`refused during the outage: instances [${[...refusedBy].join(', ')}]; acknowledged spans: ${ledger.ackedSpans}`);
      },
    );
  });

  test('two instances never compact the same blocks: only the configured compactor compacts, and each span is stored once', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withCluster({ compactor: 0, config: { storage: { compaction: { interval: '1s', min_input_blocks: 2 } } } }, async (cluster) => {
      const service = `cluster-d-${randomBytes(3).toString('hex')}`;
      const maker = new TraceMaker(service);
      const ledger = new Ledger();
      const exporters = cluster.instances.map((inst) => exporterFor(inst, 'http-protobuf'));
      // Every block seen in the bucket, compacted away since or not.
      const written = new Set<string>();
      try {
        // Many small blocks from every instance, while the compactor runs every second.
        for (let round = 0; round < 5; round++) {
          for (const [i, exporter] of exporters.entries()) {
            const traces = maker.make(6, 3);
            const ok = await exportSpans(exporter, traces.flatMap((t) => t.spans));
            ledger.record(traces, ok);
            assert.ok(ok, `round ${round}: instance ${i} acknowledged`);
          }
          for (const inst of cluster.instances) assert.equal(await flush(inst), 204, `round ${round}: POST /flush on instance ${inst.index}`);
          for (const key of await blockMetaKeys(cluster.s3)) written.add(key);
        }
        // Spans an instance forwarded reach their owner's head after its flush may have run:
        // once every forward queue is empty, one more flush puts all of them in blocks.
        await forwardingDrained(cluster.instances);
        for (const inst of cluster.instances) assert.equal(await flush(inst), 204, `final POST /flush on instance ${inst.index}`);
        for (const key of await blockMetaKeys(cluster.s3)) written.add(key);
      } finally {
        await Promise.all(exporters.map((e) => e.shutdown()));
      }
      assert.ok(written.size >= 6, `many small blocks were written to the bucket (${written.size} seen; none means storage.backend s3 is not in effect)`);

      const sentSpans = ledger.ackedSpans;
      let last = '';
      await waitFor(
        'compaction to merge the blocks into ones holding each span once',
        async () => {
          const compactions = await metricSum(cluster.instances[0]!, COMPACTIONS_METRIC);
          const live = await liveBlocks(cluster.s3);
          const spans = live.reduce((n, b) => n + b.spanCount, 0);
          last = `${compactions} compactions; ${live.length} live blocks holding ${spans} spans for ${sentSpans} sent`;
          return compactions > 0 && spans === sentSpans && live.length < written.size;
        },
        60_000,
        500,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${last} (more spans than sent: the same blocks were compacted twice)`);
      });

      await waitUntilComplete('every span exactly once on every instance after compaction', cluster.instances, ledger);
      const counts = await Promise.all(cluster.instances.map((inst) => metricSum(inst, COMPACTIONS_METRIC)));
      assert.ok(counts[0]! > 0, `the configured compactor compacted (${COMPACTIONS_METRIC} ${counts[0]})`);
      assert.deepEqual(counts.slice(1), [0, 0], `only the configured compactor compacts (${COMPACTIONS_METRIC} per instance: ${counts.join(', ')})`);
    });
  });
});

/** Blocks in the bucket that are visible and not marked compacted (their meta.json's spanCount). */
async function liveBlocks(s3: S3Server): Promise<Array<{ key: string; spanCount: number }>> {
  const keys = await s3.keys();
  const compacted = new Set(keys.filter((k) => k.endsWith('/compacted.json')).map((k) => k.slice(0, -'compacted.json'.length)));
  const metas = (await blockMetaKeys(s3)).filter((k) => !compacted.has(k.slice(0, -'meta.json'.length)));
  const out: Array<{ key: string; spanCount: number }> = [];
  for (const key of metas) {
    const body = await readObject(s3, key).catch(() => undefined); // deleted since the listing
    if (body === undefined) continue;
    out.push({ key, spanCount: Number((JSON.parse(body) as { spanCount: number }).spanCount) });
  }
  return out;
}

async function readObject(s3: S3Server, key: string): Promise<string> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return (await res.Body?.transformToString('utf8')) ?? '';
}
