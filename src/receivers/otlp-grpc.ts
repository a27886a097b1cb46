// OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export.
// Messages stay raw bytes through grpc-js (identity serializers) and are
// decoded by our own codec; grpc-js handles framing, compression and the
// message size limit.
import {
  Metadata,
  Server,
  ServerInterceptingCall,
  status as GrpcCode,
  type sendUnaryData,
  type ServerErrorResponse,
  type ServerInterceptor,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import type { Logger } from '../telemetry/logger.js';
import { decodeTracesDataKeepingWire, encodeExportTraceServiceResponse, encodeRetryableStatus } from '../otlp/protobuf.js';
import { authorizeExport } from '../auth/grpc.js';
import { REFUSAL_REASON } from '../auth/access.js';
import type { Authenticator } from '../auth/authenticator.js';
import { FORWARDED_HEADER, isForwarded } from '../lib/forwarded.js';
import type { IngestOutcome, Ingester } from './ingest.js';
import { rawTraceService } from '../otlp/grpc-service.js';
import { grpcServerCredentials } from '../net/grpc-credentials.js';
import type { ServerTls } from '../net/server-tls.js';

export interface OtlpGrpcOptions {
  ingester: Ingester;
  logger: Logger;
  authenticator: Authenticator;
}

export function createOtlpGrpcReceiver(opts: OtlpGrpcOptions): Server {
  const { ingester } = opts;
  const server = new Server({
    'grpc.max_receive_message_length': ingester.maxRequestBytes,
    'grpc.max_send_message_length': 1024 * 1024,
    interceptors: [refuseWhenOverloaded(ingester)],
  });
  server.addService(rawTraceService, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      void exportTraces(opts, call, callback);
    },
  });
  return server;
}

/** Metadata key the interceptor stamps with the time a call's metadata arrived (its place in line). */
const ARRIVED_AT = 'skein-arrived-at';

/**
 * Under overload a call is refused once its metadata has arrived, before its
 * message is read or decoded (see admission.ts): the handler never sees it,
 * and the client gets RESOURCE_EXHAUSTED with RetryInfo at once.
 */
function refuseWhenOverloaded(ingester: Ingester): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, passOn) => {
            const refused = ingester.refuseEarly('grpc', 0);
            if (refused) return call.sendStatus(errorStatus(refused));
            // Set here whatever the client sent, so no client can jump the queue with it.
            metadata.set(ARRIVED_AT, String(Date.now()));
            passOn(metadata);
          },
        }),
    });
}

async function exportTraces(opts: OtlpGrpcOptions, call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
  const { ingester } = opts;
  const access = await authorizeExport(opts.authenticator, call.metadata, opts.logger);
  if ('code' in access) {
    ingester.refusedRequest('grpc', REFUSAL_REASON[access.status]);
    return callback({ code: access.code, details: access.details });
  }
  const deadline = call.getDeadline();
  const outcome = await ingester.ingest(access.tenant, 'grpc', () => decodeTracesDataKeepingWire(call.request), {
    bytes: call.request.length,
    arrivedAt: Number(call.metadata.get(ARRIVED_AT)[0]) || undefined,
    deadline: deadline instanceof Date ? deadline.getTime() : deadline,
    forwarded: access.principal.peer && isForwarded(call.metadata.get(FORWARDED_HEADER).map(String)),
  });
  if (outcome.kind === 'accepted') {
    const partial = outcome.rejectedSpans > 0 ? { rejectedSpans: outcome.rejectedSpans, errorMessage: outcome.errorMessage } : undefined;
    return callback(null, Buffer.from(encodeExportTraceServiceResponse(partial)));
  }
  return callback(errorStatus(outcome));
}

function errorStatus(outcome: Exclude<IngestOutcome, { kind: 'accepted' }>): ServerErrorResponse & { code: number; details: string } {
  switch (outcome.kind) {
    case 'invalid':
    case 'too_large':
      return { name: 'InvalidArgument', message: outcome.message, code: GrpcCode.INVALID_ARGUMENT, details: outcome.message };
    case 'overloaded':
      // OTLP: RESOURCE_EXHAUSTED is retryable only when it carries RetryInfo.
      return {
        name: 'ResourceExhausted',
        message: outcome.message,
        code: GrpcCode.RESOURCE_EXHAUSTED,
        details: outcome.message,
        metadata: retryMetadata(GrpcCode.RESOURCE_EXHAUSTED, outcome.message, outcome.retryAfterSeconds),
      };
    case 'unavailable':
      return {
        name: 'Unavailable',
        message: outcome.message,
        code: GrpcCode.UNAVAILABLE,
        details: outcome.message,
        metadata: retryMetadata(GrpcCode.UNAVAILABLE, outcome.message, outcome.retryAfterSeconds),
      };
  }
}

function retryMetadata(code: number, message: string, retryAfterSeconds: number): Metadata {
  const md = new Metadata();
  md.set('grpc-status-details-bin', Buffer.from(encodeRetryableStatus(code, message, retryAfterSeconds)));
  return md;
}

/** Binds the server, over TLS when given its settings; resolves with the port actually bound (the config may ask for port 0). */
export function listenGrpc(server: Server, hostPort: string, tls?: ServerTls): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(hostPort, grpcServerCredentials(tls), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

export function closeGrpc(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
