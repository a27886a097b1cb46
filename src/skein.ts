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
//
// In a cluster (cluster.peers, cluster.dns), an instance that takes spans in
// routes them by trace to their owner (src/cluster/router.ts, before the
// connectors) and forwards the others' shares; it closes receivers, then
// re-routing, pipeline, forwarders, membership, store and API, in that order.
// An instance that answers queries asks the other peers for their part of each
// (src/cluster/peer-queries.ts).
import type { FastifyInstance } from 'fastify';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { SkeinConfig } from './config/schema.js';
import type { Logger } from './telemetry/logger.js';
import { apiRoutes, createApiServer, type ApiRoute } from './api/server.js';
import { createAuth } from './auth/index.js';
import { Overrides } from './config/overrides.js';
import type { ApiContext } from './api/context.js';
import type { Store, StoreOptions } from './store/store.js';
import { buildPipeline, type Pipeline } from './pipeline/build.js';
import { createStoreExporter } from './pipeline/exporters/store.js';
import { Ingester } from './receivers/ingest.js';
import { Admission, CONCURRENT_REQUESTS } from './receivers/admission.js';
import { createOtlpHttpReceiver } from './receivers/otlp-http.js';
import { closeGrpc, createOtlpGrpcReceiver, listenGrpc } from './receivers/otlp-grpc.js';
import { createZipkinReceiver } from './receivers/zipkin.js';
import { listenHttp, splitHostPort } from './net/http-server.js';
import { openServerTls, type ServerTls } from './net/server-tls.js';
import type { TlsConfig } from './config/security-schema.js';
import { readTlsFiles } from './pipeline/exporters/otlp/config.js';
import type { Target } from './config/targets.js';
import { clusterConfigured, type Peer } from './cluster/peer.js';
import type { Forwarders } from './cluster/forwarders.js';
import type { Router } from './cluster/router.js';
import type { TracesConsumer } from './pipeline/consumer.js';
import type { PeerQueries } from './cluster/peer-queries.js';
import type { RemoteSources } from './store/fetch/remote.js';

/** The collector's work that a store behind a collector leaves to it. */
const LEFT_TO_THE_COLLECTOR = new Set(['tail_sampling', 'batch']);
/** Targets that take spans into a cluster, and so route them by trace to their owners. */
const ROUTING_TARGETS: ReadonlySet<Target> = new Set(['all', 'ingester', 'store']);

/** A listener by its name in RunningSkein.addresses. */
export type ListenerName = 'http' | 'otlpGrpc' | 'otlpHttp' | 'zipkin';

export interface RunningSkein {
  /** `host:port` of each listener; `tls` names those that speak TLS (absent when none does). */
  addresses: { http: string; otlpGrpc: string; otlpHttp: string; zipkin?: string; tls?: ListenerName[] };
  close(): Promise<void>;
  /** Spans not yet written to a block (0 without a store): what the WAL replays if the process stops now. */
  unwrittenSpans(): Promise<number>;
  /** Every route of the query API's router (the tenant-isolation test calls each). */
  apiRoutes(): readonly ApiRoute[];
}

export async function startSkein(config: SkeinConfig, logger: Logger, target: Target): Promise<RunningSkein> {
  // First: a bad per-tenant overrides file or certificate stops start-up before anything listens.
  const overrides = Overrides.open(config, logger.child({ component: 'overrides' }));
  let tls: ListenersTls | undefined;
  let auth: Awaited<ReturnType<typeof createAuth>>;
  try {
    tls = openListenersTls(config, target, logger);
    auth = await createAuth(config, logger);
  } catch (err) {
    tls?.close();
    overrides.close();
    throw err;
  }
  const listenersTls = tls;
  const ctx: ApiContext = { config, logger, target, auth, overrides, store: undefined, ready: false, serviceGraph: undefined, spanMetrics: undefined };
  const api = createApiServer(ctx, listenersTls.http);
  const routes = (): readonly ApiRoute[] => apiRoutes(api);
  const http = await listenHttp(api, config.server.http_listen_address);
  const closers: Array<() => Promise<unknown>> = [async () => overrides.close(), async () => listenersTls.close(), () => auth.close(), () => api.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };

  // This instance as its peers name it; the port is the one listened on once known.
  const grpcEndpoint = splitHostPort(config.receivers.otlp.protocols.grpc.endpoint);
  const advertised = config.cluster.advertise_host || grpcEndpoint.host;
  let self = `${advertised}:${grpcEndpoint.port}`;

  try {
    let store: Store | undefined;
    // The other peers' parts of queries, for a store that answers queries in a cluster (an
    // ingester's answers only its peers, and asks none). The store opens before the cluster
    // is joined: until then it has no peer to ask.
    let peerQueries: PeerQueries | undefined;
    const remote: RemoteSources | undefined =
      clusterConfigured(config.cluster) && target !== 'ingester' && target !== 'collector' ? { peers: () => peerQueries?.peers() ?? [] } : undefined;
    if (target !== 'collector') {
      // Loaded only here: a collector never opens the storage engine.
      const { Store } = await import('./store/store.js');
      store = await Store.open({
        storage: config.storage,
        limits: config.limits,
        overrides,
        logger,
        remote,
        ...(target === 'querier' && { role: 'querier' }),
        ...compactorChoice(config, () => self),
      });
      const opened = store;
      closers.push(() => opened.close());
      ctx.store = store;
      store.start();
    }
    const cluster = clusterConfigured(config.cluster) && target !== 'collector' ? await joinCluster(config, http, target, logger) : undefined;
    if (cluster) {
      closers.push(() => cluster.close());
      ctx.cluster = cluster.api;
      if (remote) {
        const { PeerQueries } = await import('./cluster/peer-queries.js');
        const peerTls = config.cluster.tls;
        const asked = (peerQueries = new PeerQueries({
          membership: cluster.api.membership,
          timeoutMs: config.cluster.peer_query_timeout,
          peerToken: config.auth.peer_token,
          logger: logger.child({ component: 'cluster' }),
          tls: peerTls.insecure ? undefined : { ...(await readTlsFiles(peerTls, 'cluster.tls')), skipVerify: peerTls.insecure_skip_verify },
        }));
        closers.push(async () => asked.close());
      }
    }
    if (target === 'querier') {
      // No receivers nor pipeline: a querier takes no spans in.
      ctx.ready = true;
      return { addresses: { http, otlpGrpc: '', otlpHttp: '', ...listenersTls.names() }, close: closeAll, unwrittenSpans: async () => 0, apiRoutes: routes };
    }
    const pipeline: Pipeline = buildPipeline({
      config,
      logger: logger.child({ component: 'pipeline' }),
      store: store && createStoreExporter(store),
      ...(target === 'store' ? { skipProcessorTypes: LEFT_TO_THE_COLLECTOR } : {}),
      ...(cluster?.route ? { route: cluster.route } : {}),
    });
    await pipeline.start();
    closers.push(() => pipeline.shutdown());
    ctx.serviceGraph = pipeline.serviceGraph;
    ctx.spanMetrics = pipeline.spanMetrics;
    // Closed before the pipeline shuts down: re-routing hands batches to it.
    if (cluster) closers.push(cluster.followMembership());

    const ingester = new Ingester({
      consumer: pipeline.consumer,
      ownedConsumer: pipeline.ownedConsumer,
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
      overrides,
      logger: logger.child({ component: 'receiver' }),
    });
    const addresses: RunningSkein['addresses'] = { http, otlpGrpc: '', otlpHttp: '' };
    const otlpHttp = createOtlpHttpReceiver({ ingester, logger, authenticator: auth.forListener('otlp_http'), tls: listenersTls.otlpHttp });
    addresses.otlpHttp = await listenHttp(otlpHttp, config.receivers.otlp.protocols.http.endpoint);
    closers.push(() => otlpHttp.close());
    const grpc: GrpcServer = createOtlpGrpcReceiver({ ingester, logger, authenticator: auth.forListener('otlp_grpc') });
    const grpcPort = await listenGrpc(grpc, config.receivers.otlp.protocols.grpc.endpoint, listenersTls.otlpGrpc);
    closers.push(() => closeGrpc(grpc, config.server.shutdown_timeout));
    addresses.otlpGrpc = `${grpcEndpoint.host}:${grpcPort}`;
    self = `${advertised}:${grpcPort}`;
    const zipkinConfig = config.receivers.zipkin;
    if (zipkinConfig.enabled) {
      const zipkin: FastifyInstance = createZipkinReceiver({
        ingester,
        logger,
        authenticator: auth.forListener('zipkin'),
        parseStringTags: zipkinConfig.parse_string_tags,
        tls: listenersTls.zipkin,
      });
      addresses.zipkin = await listenHttp(zipkin, zipkinConfig.endpoint);
      closers.push(() => zipkin.close());
    }
    Object.assign(addresses, listenersTls.names());
    ctx.ready = true;
    // Closed in reverse: receivers first, so every request already accepted
    // goes through the pipeline before the store makes its last cut.
    return { addresses, close: closeAll, unwrittenSpans: async () => (store ? store.unwrittenSpans() : 0), apiRoutes: routes };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}

interface ListenersTls extends Partial<Record<ListenerName, ServerTls>> {
  /** `{ tls: [names] }` for RunningSkein.addresses, or nothing when no listener speaks TLS (the ready line stays as it was). */
  names(): { tls?: ListenerName[] };
  close(): void;
}

/**
 * The TLS settings of the listeners this target runs, read and checked before anything starts,
 * so a bad certificate file stops start-up at once, naming its key.
 */
function openListenersTls(config: SkeinConfig, target: Target, logger: Logger): ListenersTls {
  const receivers = target !== 'querier';
  const wanted: Array<[ListenerName, TlsConfig | undefined, string]> = [
    ['http', config.server.tls, 'server.tls'],
    ['otlpGrpc', receivers ? config.receivers.otlp.protocols.grpc.tls : undefined, 'receivers.otlp.protocols.grpc.tls'],
    ['otlpHttp', receivers ? config.receivers.otlp.protocols.http.tls : undefined, 'receivers.otlp.protocols.http.tls'],
    ['zipkin', receivers && config.receivers.zipkin.enabled ? config.receivers.zipkin.tls : undefined, 'receivers.zipkin.tls'],
  ];
  const opened: Partial<Record<ListenerName, ServerTls>> = {};
  const close = () => Object.values(opened).forEach((t) => t.close());
  try {
    for (const [name, settings, key] of wanted) if (settings) opened[name] = openServerTls(settings, key, logger);
  } catch (err) {
    close();
    throw err;
  }
  const names = Object.keys(opened) as ListenerName[];
  return { ...opened, names: () => (names.length > 0 ? { tls: names } : {}), close };
}

interface JoinedCluster {
  api: NonNullable<ApiContext['cluster']>;
  /** The router's place in the pipeline, on an instance that takes spans in. */
  route: ((owned: TracesConsumer) => TracesConsumer) | undefined;
  /** Once the pipeline runs: forwarders and ring follow the membership, queues of peers that left are re-routed. Returns the stop. */
  followMembership(): () => Promise<void>;
  /** After the pipeline: forwarders stop (their queues keep the rest on disk), then membership. */
  close(): Promise<void>;
}

/**
 * A cluster (docs/scale-out.md): the peers, and on an instance that takes spans
 * in, a forwarder per other peer and the router the pipeline places before its
 * connectors. A querier knows the peers but is none of them.
 */
async function joinCluster(config: SkeinConfig, http: string, target: Target, logger: Logger): Promise<JoinedCluster> {
  // Loaded only here: an instance outside a cluster never loads the cluster's modules.
  const [{ ClusterMembership, selfPeer }, { Forwarders }, { Router }] = await Promise.all([
    import('./cluster/membership.js'),
    import('./cluster/forwarders.js'),
    import('./cluster/router.js'),
  ]);
  const routes = ROUTING_TARGETS.has(target);
  const membership = await ClusterMembership.start({ cluster: config.cluster, self: selfPeer(config, http, routes), selfIsPeer: routes, logger });
  let forwarders: Forwarders | undefined;
  try {
    if (routes) forwarders = await Forwarders.start({ config, self: membership.self.id, logger }, membership.peers());
  } catch (err) {
    await membership.close();
    throw err;
  }
  logger.info({ self: membership.self.id, peers: membership.peers().map((p) => p.id), routing: routes }, 'cluster membership resolved');
  let router: Router | undefined;
  const f = forwarders;
  return {
    api: { membership, ...(f ? { forwardQueues: () => f.queues() } : {}) },
    route: f && ((owned) => (router = new Router({ self: membership.self.id, peers: membership.peers(), owned, forwarders: f }))),
    followMembership() {
      const r = router;
      if (!f || !r) return async () => undefined;
      f.rerouteThrough(r);
      const follow = (peers: readonly Peer[]) => {
        // Forwarders first, so a peer that joined has one by the time the ring names it.
        f.update(peers);
        r.setPeers(peers);
      };
      const unsubscribe = membership.onChange(follow);
      // A change while the pipeline started had no listener yet.
      follow(membership.peers());
      return async () => {
        unsubscribe();
        await f.stopRerouting();
      };
    },
    async close() {
      await f?.close();
      await membership.close();
    },
  };
}

/**
 * Who runs compaction and retention (cluster.compactor): a lone instance always; in a
 * cluster the one whose OTLP gRPC address is named, or whoever holds the lease.
 */
function compactorChoice(config: SkeinConfig, self: () => string): Pick<StoreOptions, 'isCompactor' | 'compactionLease'> {
  const { cluster } = config;
  if (cluster.peers.length === 0 && cluster.dns.name === '') return {};
  if (cluster.compactor === 'lease') return { compactionLease: { holder: self(), durationMs: cluster.lease_duration } };
  return { isCompactor: () => self() === cluster.compactor };
}
