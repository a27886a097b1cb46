// Shared by the otlp exporter tests: exporters built from collector-style
// config, real peers (a downstream Skein, tiny HTTP and gRPC servers that
// record what they get and answer as told), and polling.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Metadata, Server as GrpcServer, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { decodeOtlpJson } from '../../../../src/otlp/json.js';
import { toHex, type ResourceSpans } from '../../../../src/otlp/model.js';
import { decodeTracesData } from '../../../../src/otlp/protobuf.js';
import { otlpExporterFactory, otlpHttpExporterFactory, type Exporter } from '../../../../src/pipeline/exporters/otlp/index.js';
import { exporterMetrics } from '../../../../src/pipeline/exporters/otlp/metrics.js';
import { silentLogger } from '../../../../src/telemetry/logger.js';
import type { SkeinProcess } from '../../../helpers/skein-process.js';
import { rawTraceService } from '../../../../src/otlp/grpc-service.js';

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skein-otlp-exporter-'));
  tempDirs.push(dir);
  return dir;
}

let exporterCount = 0;

/** A unique exporter name per test, so metric values do not mix. */
export function uniqueName(base = 'otlp'): string {
  return `${base}/t${++exporterCount}`;
}

/** Retry settings that keep tests fast. */
export const FAST_RETRY = { initial_interval: '20ms', max_interval: '100ms', max_elapsed_time: 0 };

export interface ExporterUnderTest {
  exporter: Exporter;
  name: string;
  dataDir: string;
}

export async function startExporter(
  raw: Record<string, unknown>,
  opts: { type?: 'otlp' | 'otlphttp'; name?: string; dataDir?: string } = {},
): Promise<ExporterUnderTest> {
  const factory = opts.type === 'otlphttp' ? otlpHttpExporterFactory : otlpExporterFactory;
  const name = opts.name ?? uniqueName(factory.type);
  const dataDir = opts.dataDir ?? tempDir();
  const exporter = factory.create(factory.schema.parse(raw), { name, logger: silentLogger, dataDir });
  await exporter.start();
  return { exporter, name, dataDir };
}

export { waitFor } from '../../../helpers/poll.js';

/** The trace as the downstream Skein's query API returns it, or undefined if it does not have it. */
export async function fetchTrace(skein: SkeinProcess, traceId: Uint8Array, tenant?: string): Promise<ResourceSpans[] | undefined> {
  const res = await fetch(`${skein.url}/api/traces/${toHex(traceId)}`, { headers: tenant ? { 'x-scope-orgid': tenant } : {} });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET trace: ${res.status} ${await res.text()}`);
  return decodeOtlpJson(await res.text(), { ids: 'base64' });
}

export function spanIds(batch: readonly ResourceSpans[]): string[] {
  return batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => toHex(s.spanId)))).sort();
}

/** Current value of an exporter metric for one exporter (and reason). */
export async function metricValue(metric: keyof typeof exporterMetrics, labels: Record<string, string>): Promise<number> {
  const data = await exporterMetrics[metric].get();
  let sum = 0;
  for (const v of data.values) {
    if (Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)) sum += v.value;
  }
  return sum;
}

export interface RecordedRequest {
  url: string;
  /** Common name of the client certificate, over mutual TLS. */
  clientCertCn: string | undefined;
  headers: IncomingHttpHeaders;
  /** Decompressed body. */
  body: Buffer;
  batch: ResourceSpans[];
}

export interface Answer {
  status: number;
  /** Reset the connection instead of answering. */
  reset?: boolean;
  /** Answer only after this long. */
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * A real OTLP/HTTP peer on a free loopback port: records every request
 * (decompressed and decoded) and answers with what `answer` returns for it.
 */
export class RecordingHttpServer {
  readonly requests: RecordedRequest[] = [];
  answer: (req: RecordedRequest, index: number) => Answer = () => ({ status: 200 });
  private server: HttpServer | undefined;

  /** Listens on a free loopback port; with `tls`, speaks HTTPS. Resolves to the base URL. */
  async start(tls?: HttpsOptions): Promise<string> {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const isJson = (req.headers['content-type'] ?? '').startsWith('application/json');
        const peer = tls ? (req.socket as TLSSocket).getPeerCertificate() : undefined;
        const recorded: RecordedRequest = {
          url: req.url ?? '',
          clientCertCn: peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : undefined,
          headers: req.headers,
          body,
          batch: isJson ? decodeOtlpJson(body) : decodeTracesData(body),
        };
        this.requests.push(recorded);
        const a = this.answer(recorded, this.requests.length - 1);
        if (a.reset) return req.socket.resetAndDestroy();
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(a.status, a.headers ?? {});
          res.end(a.body ?? '');
        };
        if (a.delayMs) setTimeout(send, a.delayMs);
        else send();
      });
    };
    this.server = tls ? createHttpsServer(tls, handle) : createServer(handle);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export interface GrpcAnswer {
  code: number;
  details?: string;
  /** A google.rpc.Status for grpc-status-details-bin. */
  statusDetails?: Uint8Array;
  /** The response message when code is OK. */
  response?: Uint8Array;
}

/** A real OTLP/gRPC peer (grpc-js, raw bytes): records requests and their metadata, answers as told. */
export class RecordingGrpcServer {
  readonly requests: Array<{ metadata: Metadata; batch: ResourceSpans[]; at: number }> = [];
  answer: (index: number) => GrpcAnswer = () => ({ code: 0 });
  private server: GrpcServer | undefined;

  /** Listens on a free loopback port (plaintext unless `credentials` say otherwise). Resolves to host:port. */
  async start(credentials: ServerCredentials = ServerCredentials.createInsecure()): Promise<string> {
    this.server = new GrpcServer();
    this.server.addService(
      rawTraceService,
      {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          this.requests.push({ metadata: call.metadata, batch: decodeTracesData(call.request), at: Date.now() });
          const a = this.answer(this.requests.length - 1);
          if (a.code === 0) return callback(null, Buffer.from(a.response ?? new Uint8Array(0)));
          const metadata = new Metadata();
          if (a.statusDetails) metadata.set('grpc-status-details-bin', Buffer.from(a.statusDetails));
          callback({ code: a.code, details: a.details ?? 'refused', metadata });
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      this.server!.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    return `127.0.0.1:${port}`;
  }

  stop(): void {
    this.server?.forceShutdown();
  }
}
