// Composition of a running Skein: which components a target runs and in what
// order they start and stop.
//
//   all        receivers → pipeline → store and/or forwarding exporters; query API
//   collector  receivers → pipeline → forwarding exporters; no store (a gateway)
//   store      receivers → memory_limiter and redaction only → store; query API
//              (behind a collector that already sampled and batched)
//   ingester   receivers → pipeline → store; the routes its peers ask, no query API or UI
//   querier    a store that only reads (blocks, and the peers' heads); query API and UI;
//              no receivers, pipeline or WAL
// In a cluster (cluster.peers), the stores that answer queries ask the other peers for
// their part of each (cluster/peer-queries.ts).
import type { FastifyInstance } from 'fastify';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { SkeinConfig } from './config/schema.js';
import type { Logger } from './telemetry/logger.js';
import { createApiServer } from './api/server.js';
import type { ApiContext } from './api/context.js';
import type { Store } from './store/store.js';
import { buildPipeline, type Pipeline } from './pipeline/build.js';
import { createStoreExporter } from './pipeline/exporters/store.js';
import { Ingester } from './receivers/ingest.js';
import { Admission, CONCURRENT_REQUESTS } from './receivers/admission.js';
import { createOtlpHttpReceiver } from './receivers/otlp-http.js';
import { closeGrpc, createOtlpGrpcReceiver, listenGrpc } from './receivers/otlp-grpc.js';
import { createZipkinReceiver } from './receivers/zipkin.js';
import { listenHttp, splitHostPort } from './net/http-server.js';
import type { Target } from './config/targets.js';
import { PeerQueries } from './cluster/peer-queries.js';
import { staticMembership } from './cluster/static-membership.js';

/** The collector's work that a store behind a collector leaves to it. */
const LEFT_TO_THE_COLLECTOR = new Set(['tail_sampling', 'batch']);

export interface RunningSkein {
  addresses: { http: string; otlpGrpc: string; otlpHttp: string; zipkin?: string };
  close(): Promise<void>;
  /** Spans not yet written to a block (0 without a store): what the WAL replays if the process stops now. */
  unwrittenSpans(): Promise<number>;
}

export async function startSkein(config: SkeinConfig, logger: Logger, target: Target): Promise<RunningSkein> {
  const ctx: ApiContext = { config, logger, target, store: undefined, ready: false, serviceGraph: undefined, spanMetrics: undefined };
  const api = createApiServer(ctx);
  const http = await listenHttp(api, config.server.http_listen_address);
  const closers: Array<() => Promise<unknown>> = [() => api.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };

  try {
    let store: Store | undefined;
    if (target !== 'collector') {
      // Loaded only here: a collector never opens the storage engine.
      const { Store } = await import('./store/store.js');
      const remote = peerQueries(config, logger, target);
      if (remote) closers.push(async () => remote.close());
      store = await Store.open({ storage: config.storage, limits: config.limits, logger, remote, ...(target === 'querier' && { role: 'querier' as const }) });
      const opened = store;
      closers.push(() => opened.close());
      ctx.store = store;
      store.start();
    }
    if (target === 'querier') {
      ctx.ready = true;
      return { addresses: { http, otlpGrpc: '', otlpHttp: '' }, close: closeAll, unwrittenSpans: async () => 0 };
    }
    const pipeline: Pipeline = buildPipeline({
      config,
      logger: logger.child({ component: 'pipeline' }),
      store: store && createStoreExporter(store),
      ...(target === 'store' ? { skipProcessorTypes: LEFT_TO_THE_COLLECTOR } : {}),
    });
    await pipeline.start();
    closers.push(() => pipeline.shutdown());
    ctx.serviceGraph = pipeline.serviceGraph;
    ctx.spanMetrics = pipeline.spanMetrics;

    const ingester = new Ingester({
      consumer: pipeline.consumer,
      admission: new Admission({
        pressure: () => pipeline.refusal(),
        maxInFlightBytes: pipeline.inFlightBudget,
        concurrency: CONCURRENT_REQUESTS,
        retryAfterSeconds: config.limits.retry_after_seconds,
      }),
      limits: {
        maxAttributeValueLength: config.limits.max_attribute_value_length,
        maxAttributesPerSpan: config.limits.max_attributes_per_span,
        maxEventsPerSpan: config.limits.max_events_per_span,
        maxSpanEndAheadMs: config.limits.max_span_end_ahead,
        maxRequestBytes: config.limits.max_request_bytes,
        retryAfterSeconds: config.limits.retry_after_seconds,
      },
      logger: logger.child({ component: 'receiver' }),
    });
    const addresses: RunningSkein['addresses'] = { http, otlpGrpc: '', otlpHttp: '' };
    const otlpHttp = createOtlpHttpReceiver({ ingester, logger });
    addresses.otlpHttp = await listenHttp(otlpHttp, config.receivers.otlp.protocols.http.endpoint);
    closers.push(() => otlpHttp.close());
    const grpc: GrpcServer = createOtlpGrpcReceiver({ ingester, logger });
    const grpcPort = await listenGrpc(grpc, config.receivers.otlp.protocols.grpc.endpoint);
    closers.push(() => closeGrpc(grpc, config.server.shutdown_timeout));
    addresses.otlpGrpc = `${splitHostPort(config.receivers.otlp.protocols.grpc.endpoint).host}:${grpcPort}`;
    const zipkinConfig = config.receivers.zipkin;
    if (zipkinConfig.enabled) {
      const zipkin: FastifyInstance = createZipkinReceiver({ ingester, logger, parseStringTags: zipkinConfig.parse_string_tags });
      addresses.zipkin = await listenHttp(zipkin, zipkinConfig.endpoint);
      closers.push(() => zipkin.close());
    }
    ctx.ready = true;
    // Closed in reverse: receivers first, so every request already accepted
    // goes through the pipeline before the store makes its last cut.
    return { addresses, close: closeAll, unwrittenSpans: async () => (store ? store.unwrittenSpans() : 0) };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}

/**
 * The other peers' parts of queries, for a store that answers queries in a cluster (an
 * ingester's store answers only its peers, so it asks none).
 */
function peerQueries(config: SkeinConfig, logger: Logger, target: Target): PeerQueries | undefined {
  if (config.cluster.peers.length === 0 || target === 'ingester') return undefined;
  const membership = staticMembership(config);
  if (target !== 'querier' && !membership.peers().some((p) => p.id === membership.self.id)) {
    logger.warn(
      { self: membership.self.id, peers: membership.peers().map((p) => p.id) },
      'cluster.peers does not list this instance by its name: set cluster.advertise_host so that it does not ask itself for its part of queries',
    );
  }
  return new PeerQueries({ membership, timeoutMs: config.cluster.peer_query_timeout, logger: logger.child({ component: 'cluster' }) });
}
