// TraceService/Export as grpc-js sees it, with the message bytes passed through
// untouched: the receiver, the OTLP exporter, the tests and the benchmarks all
// encode and decode with Skein's own codec, so none needs grpc's serializers.
import type { ServiceDefinition } from '@grpc/grpc-js';

export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** The (de)serializer of raw message bytes. */
export const passBytes = (b: Buffer): Buffer => b;

export const rawTraceService = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
    originalName: 'export',
  },
} satisfies ServiceDefinition;
