// A fleet of OTLP exporters pushing more than a server can take, over both
// protocols at once (raw HTTP/1.1 and raw grpc-js, one connection per client),
// behaving as the OpenTelemetry SDK's exporters do: each request has a
// deadline (the SDK's 10 s timeout), a retryable refusal is sent again after
// the delay the server asked for. Tallies every answer by protocol and code,
// whether it was retryable the way OTLP defines it, and which requests were
// acknowledged, so the caller can read every acknowledged span back. The
// overload e2e test and the overload benchmark share it.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { rawTraceService } from '../../src/otlp/grpc-service.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { decodeExportResponse, decodeRpcStatus } from '../../src/pipeline/exporters/otlp/responses.js';
import { parseRetryAfter } from '../../src/pipeline/exporters/otlp/retry.js';
import { batchOf, newTraceId, span, str } from './spans.js';

export interface OverloadOptions {
  otlpHttpUrl: string;
  grpcAddr: string;
  httpClients: number;
  grpcClients: number;
  spansPerRequest: number;
  /** No request is started after this many milliseconds; those in flight finish. */
  durationMs: number;
  /** Most requests one client sends, retries included (bounds a test's load). */
  maxRequestsPerClient?: number;
  /** Each request's deadline, as an exporter's timeout (default 10 s, the OpenTelemetry SDK's). */
  timeoutMs?: number;
  /** The gRPC clients' deadline, when it differs from `timeoutMs`. */
  grpcDeadlineMs?: number;
  /** Tenant header on every request. */
  tenant?: string;
}

/** One kind of answer, e.g. `grpc OK`, `http 429`, `grpc DEADLINE_EXCEEDED`, `http timeout`. */
export interface AnswerCount {
  count: number;
  /** OTLP retryable as the issue demands: HTTP 429/503 with Retry-After, gRPC UNAVAILABLE, or RESOURCE_EXHAUSTED with RetryInfo. */
  retryable: boolean;
  sample: string;
}

export interface OverloadResult {
  /** Trace IDs (hex) of acknowledged requests, each one trace of `spansPerRequest` spans. */
  acknowledged: string[];
  acknowledgedSpans: number;
  /** Spans the server reported rejecting in a partial success (none expected: every span is valid). */
  partiallyRejected: number;
  requests: number;
  answers: Record<string, AnswerCount>;
}

type Answer =
  | { ok: true; rejected: number }
  | { ok: false; key: string; retryable: boolean; retryAfterMs: number | undefined; message: string };

/**
 * One trace of `spans` spans with attributes of a typical HTTP service, encoded
 * once. Each request is a copy with a fresh trace ID written over the
 * template's, so clients spend almost no CPU making requests.
 */
class RequestTemplate {
  private readonly body: Buffer;
  private readonly offsets: number[] = [];

  constructor(spans: number) {
    const traceId = newTraceId();
    const root = span({ traceId, name: 'GET /api/orders' });
    const all = [root];
    for (let i = 1; i < spans; i++) {
      all.push(
        span({
          traceId,
          parentSpanId: root.spanId,
          name: `SELECT orders ${i % 13}`,
          startUnixNano: root.startTimeUnixNano + BigInt(i) * 1000n,
          attributes: [
            str('http.request.method', 'GET'),
            str('http.route', `/api/orders/{id}/items/${i % 7}`),
            str('url.full', `https://shop.example.com/api/orders/${i}/items?page=${i % 5}`),
            str('db.system', 'postgresql'),
            str('db.statement', `SELECT * FROM order_items WHERE order_id = $1 AND shard = ${i % 16}`),
            str('user_agent.original', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36'),
          ],
        }),
      );
    }
    this.body = Buffer.from(encodeTracesData(batchOf('overload-client', all)));
    const id = Buffer.from(traceId);
    for (let at = this.body.indexOf(id); at !== -1; at = this.body.indexOf(id, at + id.length)) this.offsets.push(at);
  }

  get bytes(): number {
    return this.body.length;
  }

  make(): { traceId: string; body: Buffer } {
    const id = randomBytes(16);
    const body = Buffer.from(this.body);
    for (const at of this.offsets) id.copy(body, at);
    return { traceId: id.toString('hex'), body };
  }
}

const GrpcClient = grpc.makeGenericClientConstructor(rawTraceService, 'opentelemetry.proto.collector.trace.v1.TraceService');

function httpSender(url: string, timeoutMs: number, tenant: string | undefined): { send(body: Buffer): Promise<Answer>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(`${url}/v1/traces`);
  return {
    send: (body) =>
      new Promise((resolve) => {
        const req = http.request(
          {
            agent,
            method: 'POST',
            hostname: target.hostname,
            port: target.port,
            path: target.pathname,
            headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length, ...(tenant ? { 'x-scope-orgid': tenant } : {}) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', (err) => finish({ ok: false, key: `http ${err.message}`, retryable: false, retryAfterMs: undefined, message: err.message }));
            res.on('end', () => {
              const payload = Buffer.concat(chunks);
              const status = res.statusCode ?? 0;
              if (status === 200) return finish({ ok: true, rejected: decodeExportResponse(payload)?.rejectedSpans ?? 0 });
              const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
              finish({
                ok: false,
                key: `http ${status}`,
                retryable: (status === 429 || status === 503) && retryAfterMs !== undefined,
                retryAfterMs,
                message: decodeRpcStatus(payload)?.message ?? payload.toString('utf8').slice(0, 200),
              });
            });
          },
        );
        const timer = setTimeout(() => {
          finish({ ok: false, key: 'http timeout', retryable: false, retryAfterMs: undefined, message: `no answer within ${timeoutMs} ms` });
          req.destroy();
        }, timeoutMs);
        let done = false;
        const finish = (a: Answer) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(a);
        };
        req.on('error', (err) => finish({ ok: false, key: `http ${(err as { code?: string }).code ?? err.message}`, retryable: false, retryAfterMs: undefined, message: err.message }));
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** Connected before the load starts, so a short deadline is not spent setting up the connection. */
async function grpcSender(addr: string, timeoutMs: number, tenant: string | undefined): Promise<{ send(body: Buffer): Promise<Answer>; close(): void }> {
  // Its own subchannel pool: one HTTP/2 connection per client, as separate exporters would have.
  const client = new GrpcClient(addr, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 30_000, (err) => (err ? reject(err) : resolve())));
  const exportCall = client['Export'] as (
    req: Buffer,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ) => void;
  return {
    send: (body) =>
      new Promise((resolve) => {
        const md = new grpc.Metadata();
        if (tenant) md.set('x-scope-orgid', tenant);
        exportCall.call(client, body, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
          if (!err) return resolve({ ok: true, rejected: decodeExportResponse(res ?? Buffer.alloc(0))?.rejectedSpans ?? 0 });
          const details = err.metadata?.get('grpc-status-details-bin')[0];
          const retryAfterMs = Buffer.isBuffer(details) ? decodeRpcStatus(details)?.retryDelayMs : undefined;
          const code = grpc.status[err.code] ?? String(err.code);
          resolve({
            ok: false,
            key: `grpc ${code}`,
            retryable: err.code === grpc.status.UNAVAILABLE || (err.code === grpc.status.RESOURCE_EXHAUSTED && retryAfterMs !== undefined),
            retryAfterMs,
            message: err.details,
          });
        });
      }),
    close: () => client.close(),
  };
}

/** Runs the fleet until `durationMs` has passed (or each client has sent `maxRequestsPerClient`), then tallies. */
export async function overload(opts: OverloadOptions): Promise<OverloadResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const template = new RequestTemplate(opts.spansPerRequest);
  const result: OverloadResult = { acknowledged: [], acknowledgedSpans: 0, partiallyRejected: 0, requests: 0, answers: {} };
  const tally = (key: string, retryable: boolean, sample: string) => {
    const a = (result.answers[key] ??= { count: 0, retryable, sample });
    a.count++;
  };
  const grpcSenders = await Promise.all(Array.from({ length: opts.grpcClients }, () => grpcSender(opts.grpcAddr, opts.grpcDeadlineMs ?? timeoutMs, opts.tenant)));
  const stopAt = Date.now() + opts.durationMs;
  const client = async (sender: { send(body: Buffer): Promise<Answer>; close(): void }, protocol: string) => {
    let pending: { traceId: string; body: Buffer } | undefined;
    try {
      for (let sent = 0; Date.now() < stopAt && sent < (opts.maxRequestsPerClient ?? Infinity); sent++) {
        const req = (pending ??= template.make());
        result.requests++;
        const answer = await sender.send(req.body);
        if (answer.ok) {
          tally(`${protocol} OK`, true, '');
          result.acknowledged.push(req.traceId);
          result.acknowledgedSpans += opts.spansPerRequest - answer.rejected;
          result.partiallyRejected += answer.rejected;
          pending = undefined;
          continue;
        }
        tally(answer.key, answer.retryable, answer.message);
        // An exporter waits what the server asked (or a short backoff) and sends the same data again.
        const wait = Math.min(answer.retryAfterMs ?? 500, Math.max(0, stopAt - Date.now()));
        await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      sender.close();
    }
  };
  await Promise.all([
    ...Array.from({ length: opts.httpClients }, () => client(httpSender(opts.otlpHttpUrl, timeoutMs, opts.tenant), 'http')),
    ...grpcSenders.map((sender) => client(sender, 'grpc')),
  ]);
  return result;
}

/** Every answer that was not a success and not retryable, as `key ×count: sample`. */
export function nonRetryable(result: OverloadResult): string[] {
  return Object.entries(result.answers)
    .filter(([key, a]) => !a.retryable && !key.endsWith(' OK'))
    .map(([key, a]) => `${key} ×${a.count}: ${a.sample}`);
}

/**
 * Polls `paths` of the query API every `intervalMs` while it runs, each with a
 * deadline, and keeps each answer's latency in milliseconds (a request without
 * an answer by the deadline counts as the deadline, and as failed).
 */
export class LatencyProbe {
  readonly latencies = new Map<string, number[]>();
  readonly failures = new Map<string, number>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(apiUrl: string, paths: readonly string[], intervalMs = 250, timeoutMs = 5_000) {
    this.loops = paths.map(async (path) => {
      const seen: number[] = [];
      this.latencies.set(path, seen);
      while (this.running) {
        const started = performance.now();
        let ok = false;
        try {
          const res = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
          await res.arrayBuffer();
          ok = res.status === 200;
        } catch {
          // a timeout or a refused connection: counted below
        }
        seen.push(performance.now() - started);
        if (!ok) this.failures.set(path, (this.failures.get(path) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Request size of a template, for reports. */
export function requestBytes(spansPerRequest: number): number {
  return new RequestTemplate(spansPerRequest).bytes;
}
