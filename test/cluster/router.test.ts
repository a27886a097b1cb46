// The router in a real pipeline, forwarding through real forwarders to two
// peers played by recording gRPC servers: each span reaches its trace's owner
// once, under its own resource and scope, marked forwarded and with its
// tenant; only this instance's share reaches the connectors and the store;
// a full forward queue refuses the batch (retryably) after every other share
// settled; and the queue of a peer that leaves is re-routed to the new owners.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { status as GrpcCode } from '@grpc/grpc-js';
import { parseYamlText, validateConfig } from '../../src/config/load.js';
import { OverloadError } from '../../src/lib/errors.js';
import { toHex, type KeyValue, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { wireFormOf, attachWireForm } from '../../src/otlp/wire-form.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { buildPipeline, type Pipeline } from '../../src/pipeline/build.js';
import type { TracesConsumer } from '../../src/pipeline/consumer.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { registry } from '../../src/telemetry/metrics.js';
import { Forwarders, peerQueueDir } from '../../src/cluster/forwarders.js';
import { Router } from '../../src/cluster/router.js';
import { Ring } from '../../src/cluster/ring.js';
import type { Peer } from '../../src/cluster/peer.js';
import { RecordingGrpcServer, tempDir } from '../pipeline/exporters/otlp/helpers.js';
import { newTraceId, span, str } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';

const SELF: Peer = { id: '127.0.0.1:1', otlpGrpc: '127.0.0.1:1', http: '127.0.0.1:2' };
const peer = (otlpGrpc: string): Peer => ({ id: otlpGrpc, otlpGrpc, http: '127.0.0.1:3' });

/** Sum of a metric's samples whose labels include `labels`. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  let sum = 0;
  for (const v of (await m.get()).values) {
    if (Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)) sum += v.value;
  }
  return sum;
}

/** Two services, two scopes in the first, spans of `traces` interleaved across all three groups. */
function mixedBatch(traces: readonly Uint8Array[]): ResourceSpans[] {
  const scope = (name: string, spans: Span[]) => ({ scope: { name, version: '1', attributes: [], droppedAttributesCount: 0 }, schemaUrl: `https://scope/${name}`, spans });
  const spansFor = (service: string) => traces.map((traceId) => span({ traceId, name: `${service}-op` }));
  return [
    { resource: { attributes: [str('service.name', 'web')], droppedAttributesCount: 0 }, schemaUrl: 'https://resource/web', scopeSpans: [scope('http', spansFor('web-http')), scope('db', spansFor('web-db'))] },
    { resource: { attributes: [str('service.name', 'api')], droppedAttributesCount: 0 }, schemaUrl: 'https://resource/api', scopeSpans: [scope('grpc', spansFor('api-grpc'))] },
  ];
}

interface Placed {
  service: string;
  scope: string;
  resourceSchema: string;
  scopeSchema: string;
  traceId: string;
  spanId: string;
}

function placed(batch: readonly ResourceSpans[]): Placed[] {
  return batch.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        service: String(stringAttr(rs.resource.attributes, 'service.name')),
        scope: ss.scope.name,
        resourceSchema: rs.schemaUrl,
        scopeSchema: ss.schemaUrl,
        traceId: toHex(s.traceId),
        spanId: toHex(s.spanId),
      })),
    ),
  );
}

function stringAttr(attrs: readonly KeyValue[], key: string): string | undefined {
  const v = attrs.find((a) => a.key === key)?.value;
  return v?.type === 'string' ? v.value : undefined;
}

const byId = (a: Placed, b: Placed) => (a.spanId < b.spanId ? -1 : 1);

interface Cluster {
  pipeline: Pipeline;
  router: Router;
  forwarders: Forwarders;
  stored: Array<{ tenant: string; batch: ResourceSpans[] }>;
  dataDir: string;
  close(): Promise<void>;
}

async function startCluster(peers: Peer[], queueBatches: number, dataDir = tempDir()): Promise<Cluster> {
  const config = validateConfig(
    parseYamlText(`
storage: { path: ${JSON.stringify(dataDir)} }
cluster: { forward_queue_batches: ${queueBatches} }
connectors: { spanmetrics: {} }
pipeline: { processors: [], connectors: [spanmetrics] }
`),
  );
  const stored: Cluster['stored'] = [];
  const forwarders = await Forwarders.start({ config, self: SELF.id, logger: silentLogger }, peers);
  let router: Router | undefined;
  const pipeline = buildPipeline({
    config,
    logger: silentLogger,
    store: { consume: async (tenant, batch) => void stored.push({ tenant, batch }) },
    route: (owned) => (router = new Router({ self: SELF.id, peers, owned, forwarders })),
  });
  await pipeline.start();
  forwarders.rerouteThrough(router!);
  return {
    pipeline,
    router: router!,
    forwarders,
    stored,
    dataDir,
    async close() {
      await forwarders.stopRerouting();
      await pipeline.shutdown();
      await forwarders.close();
    },
  };
}

describe('router and forwarders', () => {
  const b = new RecordingGrpcServer();
  const c = new RecordingGrpcServer();
  let peers: Peer[];

  before(async () => {
    peers = [SELF, peer(await b.start()), peer(await c.start())];
  });

  after(() => {
    b.stop();
    c.stop();
  });

  test('each span reaches its owner once, under its resource and scope; forwarded ones marked, with their tenant; only owned ones are observed', async () => {
    b.answer = () => ({ code: 0 });
    c.answer = () => ({ code: 0 });
    const cluster = await startCluster(peers, 100);
    try {
      const traces = Array.from({ length: 60 }, () => newTraceId());
      const batch = mixedBatch(traces);
      const sent = placed(batch);
      const callsBefore = await metric('traces_spanmetrics_calls_total');
      await cluster.pipeline.consumer.consume('acme', batch);

      const ring = new Ring(peers.map((p) => p.id));
      const expected = (id: string) => sent.filter((s) => ring.owner(Buffer.from(s.traceId, 'hex')) === id).sort(byId);
      const [atB, atC] = await Promise.all(
        [b, c].map((server, i) => waitFor(`the forwarded share of peer ${i + 1}`, () => (server.requests.length > 0 ? server.requests : undefined))),
      );
      assert.deepEqual(cluster.stored.map((s) => s.tenant), ['acme']);
      assert.deepEqual(placed(cluster.stored[0]!.batch).sort(byId), expected(SELF.id), 'this instance keeps its own share, resource and scope intact');
      assert.deepEqual(placed(atB!.flatMap((r) => r.batch)).sort(byId), expected(peers[1]!.id));
      assert.deepEqual(placed(atC!.flatMap((r) => r.batch)).sort(byId), expected(peers[2]!.id));
      for (const r of [...atB!, ...atC!]) {
        assert.deepEqual(r.metadata.get('x-skein-forwarded'), ['1'], 'marked forwarded');
        assert.deepEqual(r.metadata.get('x-scope-orgid'), ['acme'], 'the tenant travels');
      }
      for (const id of [SELF.id, peers[1]!.id, peers[2]!.id]) assert.ok(expected(id).length > 0, `the batch has spans of ${id}`);

      assert.equal(await metric('traces_spanmetrics_calls_total') - callsBefore, expected(SELF.id).length, 'connectors observe only the spans this instance owns');
      assert.equal(await metric('skein_cluster_routed_spans_total', { decision: 'owned', peer: SELF.id }), expected(SELF.id).length);
      assert.equal(await metric('skein_cluster_routed_spans_total', { decision: 'forwarded', peer: peers[1]!.id }), expected(peers[1]!.id).length);

      // A batch owned whole by one peer passes as it is: its wire form still stands for it.
      const own = traces.find((t) => ring.owner(t) === SELF.id)!;
      const whole = mixedBatch([own]);
      attachWireForm(whole, encodeTracesData(whole));
      await cluster.pipeline.consumer.consume('acme', whole);
      assert.equal(cluster.stored.at(-1)!.batch, whole);
      assert.ok(wireFormOf(whole));
    } finally {
      await cluster.close();
    }
  });

  test('a full forward queue refuses the batch retryably once the other shares settled; a peer that leaves has its queue re-routed', async () => {
    b.answer = () => ({ code: 0 });
    // Peer c is down: its forwarder keeps retrying the one batch its queue holds.
    c.answer = () => ({ code: GrpcCode.UNAVAILABLE, details: 'restarting' });
    const cluster = await startCluster(peers, 1);
    try {
      const ring = new Ring(peers.map((p) => p.id));
      const ownedBy = (id: string) => {
        for (;;) {
          const t = newTraceId();
          if (ring.owner(t) === id) return t;
        }
      };
      const first = mixedBatch([ownedBy(peers[2]!.id)]);
      await cluster.pipeline.consumer.consume('acme', first);
      await waitFor('the first batch to be tried at c', () => c.requests.length > 0);

      const mine = ownedBy(SELF.id);
      const second = mixedBatch([ownedBy(peers[2]!.id), mine]);
      await assert.rejects(cluster.pipeline.consumer.consume('acme', second), (err: unknown) => err instanceof OverloadError && /sending queue is full/.test(err.message));
      assert.ok(
        cluster.stored.some((s) => placed(s.batch).some((p) => p.traceId === toHex(mine))),
        'the owned share was delivered before the refusal was answered',
      );

      // c leaves: the batch queued for it goes to the owners of its traces under the new ring.
      const remaining = [peers[0]!, peers[1]!];
      cluster.forwarders.update(remaining);
      cluster.router.setPeers(remaining);
      const newRing = new Ring(remaining.map((p) => p.id));
      const firstSpans = placed(first);
      const newOwner = newRing.owner(Buffer.from(firstSpans[0]!.traceId, 'hex'));
      const arrived = () =>
        newOwner === SELF.id
          ? cluster.stored.flatMap((s) => placed(s.batch))
          : b.requests.flatMap((r) => placed(r.batch));
      await waitFor('the re-routed batch at its new owner', () => firstSpans.every((s) => arrived().some((a) => a.spanId === s.spanId)), 60_000);
      await waitFor('the queue folder of the peer that left to go', () => !existsSync(peerQueueDir(cluster.dataDir, peers[2]!.id)));
      assert.equal(cluster.forwarders.forwarderFor(peers[2]!.id), undefined);
    } finally {
      await cluster.close();
    }
  });
});

describe('queues left by a previous run', () => {
  test('a queue kept on disk for a peer no longer in the cluster is re-routed at the next start', async () => {
    const b = new RecordingGrpcServer();
    const c = new RecordingGrpcServer();
    const peers = [SELF, peer(await b.start()), peer(await c.start())];
    c.answer = () => ({ code: GrpcCode.UNAVAILABLE, details: 'down' });
    try {
      const ring = new Ring(peers.map((p) => p.id));
      let traceId: Uint8Array;
      do traceId = newTraceId();
      while (ring.owner(traceId) !== peers[2]!.id);
      const batch = mixedBatch([traceId]);
      const first = await startCluster(peers, 10);
      await first.pipeline.consumer.consume('acme', batch);
      await first.close();
      assert.ok(existsSync(peerQueueDir(first.dataDir, peers[2]!.id)), 'the undelivered batch stays queued on disk');

      // The same data directory, c gone from the peers.
      const remaining = [SELF, peers[1]!];
      const second = await startCluster(remaining, 10, first.dataDir);
      try {
        const newOwner = new Ring(remaining.map((p) => p.id)).owner(traceId);
        const arrived = () => (newOwner === SELF.id ? second.stored.flatMap((s) => placed(s.batch)) : b.requests.flatMap((r) => placed(r.batch)));
        await waitFor('the queued batch at the trace\'s new owner', () => placed(batch).every((s) => arrived().some((a) => a.spanId === s.spanId)), 60_000);
        await waitFor('the old queue folder to go', () => !existsSync(peerQueueDir(first.dataDir, peers[2]!.id)));
      } finally {
        await second.close();
      }
    } finally {
      b.stop();
      c.stop();
    }
  });
});

describe('router placement', () => {
  test('right before the connectors, after redaction, before tail_sampling; ownedConsumer is what the router hands on to', async () => {
    const config = validateConfig(
      parseYamlText(`
processors: { redaction: {}, tail_sampling: { decision_wait: 50ms, policies: [{ name: all, type: always_sample }] } }
connectors: { spanmetrics: {} }
pipeline: { processors: [redaction, tail_sampling], connectors: [spanmetrics] }
storage: { path: ${JSON.stringify(tempDir())} }
`),
    );
    const seen: ResourceSpans[][] = [];
    let owned: TracesConsumer | undefined;
    let drop = false;
    const pipeline = buildPipeline({
      config,
      logger: silentLogger,
      store: { consume: async () => undefined },
      route: (next) => {
        owned = next;
        return { consume: async (tenant, batch) => (seen.push(batch), drop ? undefined : next.consume(tenant, batch)) };
      },
    });
    await pipeline.start();
    try {
      assert.equal(pipeline.ownedConsumer, owned);
      const card = '4111111111111111';
      const traceId = newTraceId();
      const before = await metric('traces_spanmetrics_calls_total');
      await pipeline.consumer.consume('acme', mixedBatch([traceId]).map((rs) => ({ ...rs, scopeSpans: rs.scopeSpans.map((ss) => ({ ...ss, spans: ss.spans.map((s) => ({ ...s, attributes: [str('card', card)] })) })) })));
      const value = stringAttr(seen[0]![0]!.scopeSpans[0]!.spans[0]!.attributes, 'card');
      assert.notEqual(value, card, 'redaction ran before the router');
      assert.equal(await metric('traces_spanmetrics_calls_total') - before, 3, 'connectors observe what the router hands on');
      assert.equal(await metric('skein_tail_sampling_buffered_traces'), 1, 'the sampler comes after the router');
      drop = true;
      await pipeline.consumer.consume('acme', mixedBatch([newTraceId()]));
      assert.equal(await metric('traces_spanmetrics_calls_total') - before, 3, 'nothing the router keeps back is observed');
    } finally {
      await pipeline.shutdown();
    }
  });

  test('without a router, ownedConsumer is consumer', () => {
    const pipeline = buildPipeline({ config: validateConfig(parseYamlText('{}')), logger: silentLogger, store: { consume: async () => undefined } });
    assert.equal(pipeline.ownedConsumer, pipeline.consumer);
  });
});
