// Sends pre-encoded export requests to a receiver over a fixed number of
// concurrent connections, as a fleet of exporters would, and tallies what the
// receiver accepted. Bodies are encoded before the clock starts: only the
// sending is timed, and the sender does as little work as it can, since on a
// small machine it shares the cores with the server.
import http from 'node:http';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { rawTraceService } from '../src/otlp/grpc-service.js';

export interface SendResult {
  wallSeconds: number;
  requests: number;
  acceptedSpans: number;
  /** Spans in requests that got a non-success answer, or that the receiver reported rejecting. */
  refusedSpans: number;
  refusedRequests: number;
  /** Answers other than success, by HTTP status or gRPC code name, with counts. */
  refusals: Record<string, number>;
  /** A sample of refusal messages, to tell why without rerunning. */
  refusalSamples: string[];
}

export interface Batch {
  bodies: readonly Uint8Array[];
  spansPerBody: readonly number[];
}

class Tally {
  acceptedSpans = 0;
  refusedSpans = 0;
  refusedRequests = 0;
  refusals: Record<string, number> = {};
  refusalSamples: string[] = [];

  accept(spans: number, rejectedByServer: number): void {
    this.acceptedSpans += spans - rejectedByServer;
    if (rejectedByServer > 0) {
      this.refusedSpans += rejectedByServer;
      this.note('partial_success', `partial success: ${rejectedByServer} spans rejected`);
    }
  }

  refuse(spans: number, reason: string, message: string): void {
    this.refusedSpans += spans;
    this.refusedRequests++;
    this.note(reason, message);
  }

  private note(reason: string, message: string): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    if (this.refusalSamples.length < 5) this.refusalSamples.push(`${reason}: ${message.slice(0, 300)}`);
  }

  result(requests: number, wallSeconds: number): SendResult {
    return { wallSeconds, requests, ...this };
  }
}

/** Runs `concurrency` workers that each take the next body until none is left. */
async function drain(count: number, concurrency: number, send: (index: number, worker: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = next++; i < count; i = next++) await send(i, worker);
    }),
  );
  return (performance.now() - start) / 1000;
}

function rejectedIn(body: Buffer, format: 'protobuf' | 'json'): number {
  if (body.length === 0) return 0;
  try {
    const res = (format === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer).deserializeResponse(body);
    return Number(res.partialSuccess?.rejectedSpans ?? 0) || 0;
  } catch {
    return 0;
  }
}

/** What a sender adds for a listener that authenticates or speaks TLS. */
export interface SendOptions {
  /** Body i goes to url `targetOf[i]` (several URLs: instances of a cluster); without it, url i mod n. */
  targetOf?: readonly number[];
  /** Sent with every request (e.g. authorization, x-scope-orgid). */
  headers?: Record<string, string>;
  /** The CA that signed an https:// receiver's certificate (gRPC: TLS when given). */
  ca?: Buffer;
}

/** POSTs every body to `url` over at most `concurrency` keep-alive connections in flight. */
export async function postAll(
  url: string | readonly string[],
  batch: Batch,
  format: 'protobuf' | 'json',
  concurrency: number,
  opts: SendOptions = {},
): Promise<SendResult> {
  const { targetOf } = opts;
  const targets = (typeof url === 'string' ? [url] : url).map((u) => new URL(u));
  if (targetOf !== undefined) {
    if (targetOf.length !== batch.bodies.length) throw new Error(`targetOf has ${targetOf.length} entries for ${batch.bodies.length} bodies`);
    const stray = targetOf.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= targets.length);
    if (stray !== -1) throw new Error(`targetOf[${stray}] is ${targetOf[stray]}, not the index of one of the ${targets.length} URLs`);
  }
  const agent =
    targets[0]!.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: concurrency, ...(opts.ca ? { ca: opts.ca } : {}) })
      : new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = { ...opts.headers, 'content-type': format === 'protobuf' ? 'application/x-protobuf' : 'application/json' };
  const tally = new Tally();
  try {
    const wall = await drain(batch.bodies.length, concurrency, async (i) => {
      const body = batch.bodies[i]!;
      const spans = batch.spansPerBody[i]!;
      try {
        const res = await postOnce(agent, targets[targetOf?.[i] ?? i % targets.length]!, headers, body);
        if (res.status === 200) tally.accept(spans, rejectedIn(res.body, format));
        else tally.refuse(spans, `http_${res.status}`, res.body.toString('utf8'));
      } catch (err) {
        tally.refuse(spans, 'network', (err as Error).message);
      }
    });
    return tally.result(batch.bodies.length, wall);
  } finally {
    agent.destroy();
  }
}

export function postOnce(
  agent: http.Agent | https.Agent,
  target: URL,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = (agent instanceof https.Agent ? https : http).request(
      { agent, protocol: target.protocol, method: 'POST', hostname: target.hostname, port: target.port, path: target.pathname, headers: { ...headers, 'content-length': body.byteLength } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The bodies are already ExportTraceServiceRequest bytes: pass them through untouched. */
const TraceServiceClient = grpc.makeGenericClientConstructor(rawTraceService, 'opentelemetry.proto.collector.trace.v1.TraceService');

/** Calls Export with every body, `concurrency` calls in flight, each worker on its own HTTP/2 connection. */
export async function exportAllGrpc(address: string, batch: Batch, concurrency: number, opts: SendOptions = {}): Promise<SendResult> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.headers ?? {})) metadata.set(k, v);
  // grpc-js shares one connection between channels with equal options unless
  // each uses its own subchannel pool: that is how we get N connections.
  const clients = Array.from(
    { length: concurrency },
    () =>
      new TraceServiceClient(address, opts.ca ? grpc.credentials.createSsl(opts.ca) : grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      }),
  );
  await Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())))));
  const tally = new Tally();
  try {
    const wall = await drain(batch.bodies.length, concurrency, async (i, worker) => {
      const body = batch.bodies[i]!;
      const spans = batch.spansPerBody[i]!;
      const client = clients[worker]!;
      await new Promise<void>((resolve) => {
        const payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        (client['Export'] as (req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void)(payload, metadata, (err, res) => {
          if (err) tally.refuse(spans, `grpc_${grpc.status[err.code] ?? err.code}`, err.details || err.message);
          else tally.accept(spans, rejectedIn(res ?? Buffer.alloc(0), 'protobuf'));
          resolve();
        });
      });
    });
    return tally.result(batch.bodies.length, wall);
  } finally {
    for (const c of clients) c.close();
  }
}
