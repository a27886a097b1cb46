// OTLP/HTTP client: POST of an ExportTraceServiceRequest, protobuf or JSON,
// gzip-compressed by default, over keep-alive connections. node:http rather
// than fetch so that TLS files and timeouts are plain agent and request options.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { encodeOtlpJson } from '../../../otlp/json.js';
import { SKEIN_VERSION } from '../../../version.js';
import { readTlsFiles, requestHeaders, type OtlpExporterConfig, type TlsSettings } from './config.js';
import {
  decodeExportResponse,
  decodeExportResponseJson,
  decodeRpcStatus,
  decodeRpcStatusJson,
  type ExportClient,
  type ExportOutcome,
  type ExportRequest,
  type PartialSuccess,
  type RpcStatus,
} from './responses.js';
import { classifyHttpFailure, classifyTransportError } from './retry.js';

const gzipAsync = promisify(gzip);

/** Answers are a Status or an ExportTraceServiceResponse; read no more than this of them. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface HttpClientOptions {
  url: URL;
  encoding: 'protobuf' | 'json';
  tls: TlsSettings;
  headers: Record<string, string>;
  compression: OtlpExporterConfig['compression'];
  timeoutMs: number;
}

export class HttpExportClient implements ExportClient {
  private constructor(
    private readonly agent: HttpAgent,
    private readonly opts: HttpClientOptions,
  ) {}

  /** Reads the TLS files (if any) and creates the connection pool. */
  static async create(opts: HttpClientOptions): Promise<HttpExportClient> {
    let agent: HttpAgent;
    if (opts.url.protocol === 'https:') {
      const files = await readTlsFiles(opts.tls);
      agent = new HttpsAgent({ keepAlive: true, ...files, rejectUnauthorized: !opts.tls.insecure_skip_verify });
    } else {
      agent = new HttpAgent({ keepAlive: true });
    }
    return new HttpExportClient(agent, opts);
  }

  async send(request: ExportRequest, signal: AbortSignal): Promise<ExportOutcome> {
    const json = this.opts.encoding === 'json';
    let body: Uint8Array = json ? Buffer.from(JSON.stringify(encodeOtlpJson(request.batch, { ids: 'hex' }))) : request.protobuf();
    const headers: Record<string, string> = {
      'user-agent': `skein/${SKEIN_VERSION}`,
      ...requestHeaders(this.opts.headers, request.tenant),
      'content-type': json ? 'application/json' : 'application/x-protobuf',
    };
    if (this.opts.compression === 'gzip') {
      body = await gzipAsync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.byteLength);
    try {
      const res = await this.post(body, headers, signal);
      return outcomeOfResponse(res);
    } catch (err) {
      return classifyTransportError(err);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private post(body: Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> {
    const url = this.opts.url;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      // One bound for the whole attempt, connecting and reading the answer included.
      const timeout = AbortSignal.timeout(this.opts.timeoutMs);
      const req = send(url, { method: 'POST', headers, agent: this.agent, signal: AbortSignal.any([signal, timeout]) }, (res) => {
        readAnswer(res).then(resolve, reject);
      });
      req.on('error', (err) => {
        if (timeout.aborted && !signal.aborted) reject(new Error(`no answer within the timeout (${this.opts.timeoutMs} ms)`, { cause: err }));
        else reject(err);
      });
      req.end(body);
    });
  }
}

interface Answer {
  status: number;
  contentType: string;
  retryAfter: string | undefined;
  body: Buffer;
}

function readAnswer(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      // Keep reading (so the connection can be reused) but keep only the start.
      if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
      size += chunk.length;
    });
    res.on('error', reject);
    res.on('end', () =>
      resolve({
        status: res.statusCode ?? 0,
        contentType: (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
        retryAfter: res.headers['retry-after'],
        body: Buffer.concat(chunks),
      }),
    );
    // A connection cut mid-answer (or the attempt's timeout) must not leave the attempt hanging.
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
    });
  });
}

function outcomeOfResponse(a: Answer): ExportOutcome {
  const isJson = a.contentType === 'application/json';
  if (a.status >= 200 && a.status < 300) {
    let partial: PartialSuccess | undefined;
    if (a.body.length > 0) partial = isJson ? decodeExportResponseJson(a.body.toString('utf8')) : decodeExportResponse(a.body);
    // A 2xx is an acceptance even if its body cannot be read: resending would duplicate.
    return { kind: 'accepted', rejectedSpans: partial?.rejectedSpans ?? 0, message: partial?.message ?? '' };
  }
  let status: RpcStatus | undefined;
  if (a.body.length > 0) {
    if (isJson) status = decodeRpcStatusJson(a.body.toString('utf8'));
    else if (a.contentType.includes('protobuf')) status = decodeRpcStatus(a.body);
  }
  const message = status?.message || (isJson || a.contentType.startsWith('text/') ? a.body.toString('utf8', 0, 512).trim() : '');
  return classifyHttpFailure(a.status, message, a.retryAfter, status?.retryDelayMs);
}
