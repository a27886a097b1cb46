// Composition of a running Skein: which components a target runs and in what
// order they start and stop.
import type { FastifyInstance } from 'fastify';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { SkeinConfig } from './config/schema.js';
import type { Logger } from './telemetry/logger.js';
import { createApiServer } from './api/server.js';
import type { ApiContext } from './api/context.js';
import { Store } from './store/store.js';
import { createStoreExporter } from './pipeline/exporters/store.js';
import { Ingester } from './receivers/ingest.js';
import { createOtlpHttpReceiver } from './receivers/otlp-http.js';
import { closeGrpc, createOtlpGrpcReceiver, listenGrpc } from './receivers/otlp-grpc.js';
import { listenHttp, splitHostPort } from './net/http-server.js';

export const TARGETS = ['all', 'store', 'collector'] as const;
export type Target = (typeof TARGETS)[number];

export interface RunningSkein {
  addresses: { http: string; otlpGrpc: string; otlpHttp: string };
  close(): Promise<void>;
}

export async function startSkein(config: SkeinConfig, logger: Logger, target: Target): Promise<RunningSkein> {
  if (target === 'collector') {
    throw new Error('--target collector forwards spans to an exporter, and this build has only the store exporter: run with --target all or store');
  }
  const ctx: ApiContext = { config, logger, store: undefined };
  const api = createApiServer(ctx);
  const http = await listenHttp(api, config.server.http_listen_address);

  let store: Store;
  try {
    store = await Store.open({ storage: config.storage, limits: config.limits, logger });
  } catch (err) {
    await api.close();
    throw err;
  }
  ctx.store = store;
  store.start();

  const ingester = new Ingester({
    consumer: createStoreExporter(store),
    limits: {
      maxAttributeValueLength: config.limits.max_attribute_value_length,
      maxAttributesPerSpan: config.limits.max_attributes_per_span,
      maxEventsPerSpan: config.limits.max_events_per_span,
      maxRequestBytes: config.limits.max_request_bytes,
      retryAfterSeconds: config.limits.retry_after_seconds,
    },
    logger: logger.child({ component: 'receiver' }),
  });
  const otlpHttp = createOtlpHttpReceiver({ ingester, logger });
  const grpc = createOtlpGrpcReceiver({ ingester, logger });
  const otlpHttpAddr = await listenHttp(otlpHttp, config.receivers.otlp.protocols.http.endpoint);
  const grpcPort = await listenGrpc(grpc, config.receivers.otlp.protocols.grpc.endpoint);
  const grpcHost = splitHostPort(config.receivers.otlp.protocols.grpc.endpoint).host;

  return {
    addresses: { http, otlpGrpc: `${grpcHost}:${grpcPort}`, otlpHttp: otlpHttpAddr },
    close: () => shutdown({ api, otlpHttp, grpc, store, timeoutMs: config.server.shutdown_timeout }),
  };
}

async function shutdown(parts: { api: FastifyInstance; otlpHttp: FastifyInstance; grpc: GrpcServer; store: Store; timeoutMs: number }): Promise<void> {
  // Receivers first, so every request already accepted finishes before the last cut.
  await Promise.all([parts.otlpHttp.close(), closeGrpc(parts.grpc, parts.timeoutMs)]);
  await parts.store.close();
  await parts.api.close();
}
