// OTLP/gRPC client: TraceService/Export as raw bytes through a generic
// grpc-js client (identity serializers, as the receiver does on the server
// side): the request is encoded by our own codec, the response decoded by it.
import { Client, Metadata, compressionAlgorithms, credentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { SKEIN_VERSION } from '../../../version.js';
import { readTlsFiles, requestHeaders, type OtlpExporterConfig, type TlsSettings } from './config.js';
import { decodeExportResponse, type ExportClient, type ExportOutcome, type ExportRequest } from './responses.js';
import { classifyGrpcFailure, classifyTransportError } from './retry.js';
import { passBytes, TRACE_EXPORT_PATH } from '../../../otlp/grpc-service.js';


export interface GrpcClientOptions {
  /** host:port */
  address: string;
  secure: boolean;
  tls: TlsSettings;
  headers: Record<string, string>;
  compression: OtlpExporterConfig['compression'];
  timeoutMs: number;
  /** The exporter's retry schedule, which bounds how long the channel waits before reconnecting. */
  initialIntervalMs: number;
  maxIntervalMs: number;
}

export class GrpcExportClient implements ExportClient {
  private constructor(
    private readonly client: Client,
    private readonly opts: GrpcClientOptions,
  ) {}

  /** Reads the TLS files (if any) and creates the channel; connecting happens on the first call. */
  static async create(opts: GrpcClientOptions): Promise<GrpcExportClient> {
    const channelOptions: ChannelOptions = {
      'grpc.primary_user_agent': `skein/${SKEIN_VERSION}`,
      // grpc-js backs off reconnecting up to 120 s by default; the exporter's own
      // schedule decides how often to try, so a recovered downstream is found as
      // soon as the next retry is due.
      'grpc.initial_reconnect_backoff_ms': Math.max(10, Math.min(opts.initialIntervalMs, 1000)),
      'grpc.max_reconnect_backoff_ms': Math.max(10, opts.maxIntervalMs),
      // The receiver answers with little more than a Status.
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
    };
    if (opts.compression === 'gzip') channelOptions['grpc.default_compression_algorithm'] = compressionAlgorithms.gzip;
    const creds = opts.secure ? await secureCredentials(opts.tls) : credentials.createInsecure();
    return new GrpcExportClient(new Client(opts.address, creds, channelOptions), opts);
  }

  send(request: ExportRequest, signal: AbortSignal): Promise<ExportOutcome> {
    if (signal.aborted) return Promise.resolve({ kind: 'retryable', message: 'aborted', retryAfterMs: undefined });
    const metadata = new Metadata();
    for (const [name, value] of Object.entries(requestHeaders(this.opts.headers, request.tenant))) {
      // Binary metadata (-bin) travels base64-encoded; grpc-js takes the raw bytes.
      if (name.toLowerCase().endsWith('-bin')) metadata.set(name, Buffer.from(value, 'utf8'));
      else metadata.set(name, value);
    }
    const body = request.protobuf();
    return new Promise((resolve) => {
      const call = this.client.makeUnaryRequest<Buffer, Buffer>(
        TRACE_EXPORT_PATH,
        passBytes,
        passBytes,
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        metadata,
        { deadline: Date.now() + this.opts.timeoutMs },
        (err: ServiceError | null, response?: Buffer) => {
          signal.removeEventListener('abort', cancel);
          if (err) return resolve(outcomeOfError(err));
          const partial = response && response.length > 0 ? decodeExportResponse(response) : undefined;
          resolve({ kind: 'accepted', rejectedSpans: partial?.rejectedSpans ?? 0, message: partial?.message ?? '' });
        },
      );
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}

function outcomeOfError(err: ServiceError): ExportOutcome {
  if (typeof err.code !== 'number') return classifyTransportError(err);
  const details = err.metadata?.get('grpc-status-details-bin')[0];
  return classifyGrpcFailure(err.code, err.details || err.message, Buffer.isBuffer(details) ? details : undefined);
}

async function secureCredentials(tls: TlsSettings) {
  const { ca, cert, key } = await readTlsFiles(tls);
  return credentials.createSsl(ca ?? null, key ?? null, cert ?? null, tls.insecure_skip_verify ? { rejectUnauthorized: false } : {});
}
