// Asks the other instances of a cluster for their part of a query: the store's
// RemoteSources (store/fetch/remote.ts), over the peers' internal API routes
// (api/routes/cluster-fetch.ts), in the messages of codec.ts.
//
// Every call is bounded by cluster.peer_query_timeout: for the answer to begin, and then
// for each next piece of a stream while it is being read (a stream nobody reads waits: its
// reader is busy elsewhere, and TCP holds the peer back). A peer that errs, breaks off or
// is too slow throws PeerError, which the store turns into a partial answer. A call ends
// when the query's signal aborts (its deadline, its client gone), and the peer is told the
// time the query has left, so it stops too.
//
// With cluster.tls (not insecure) the peers' API is asked over HTTPS, verified against
// ca_file (or the system's CAs), with cert_file and key_file as the client certificate.
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { formatDuration } from '../config/units.js';
import { Counter } from 'prom-client';
import { registry } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';
import { TENANT_HEADER } from '../lib/tenant.js';
import type { Pacer } from '../store/pacer.js';
import type {
  FetchAggregateRequest,
  FetchedTrace,
  FetchTagNamesRequest,
  FetchTagValuesRequest,
  FetchTracesRequest,
  TagNamesResult,
  TagValuesResult,
} from '../store/fetch/request.js';
import { PeerError, type PeerScope, type RemotePeer, type RemoteSources, type RemoteTrace, type RemoteTraces } from '../store/fetch/remote.js';
import {
  decodeSpans,
  decodeTagged,
  encodeTagged,
  readPeerTraceAnswer,
  readStreamLine,
  readTagNamesResult,
  readTagValuesResult,
  PEER_CONTENT_TYPE,
  PEER_FETCH_PATH,
  PEER_TRACE_PATH,
  type FetchData,
  type PeerFetch,
  type PeerTraceLookup,
} from './codec.js';
import { peerAuthorization, type Membership, type Peer } from './peer.js';

/** The longest line of a stream (one trace) or JSON answer read from a peer. */
const MAX_ANSWER_CHARS = 256 * 1024 * 1024;
/** Of an error answer, this much is kept for the message. */
const MAX_ERROR_CHARS = 1024;
/** Without a deadline of its own, a query gives its peers this long. */
const NO_DEADLINE_MS = 24 * 3600 * 1000;

const peerQueryFailures = new Counter({
  name: 'skein_cluster_peer_query_failures_total',
  help: "Query parts a peer did not answer (an error, a broken answer, or cluster.peer_query_timeout), by peer: the answers they belonged to were marked partial.",
  labelNames: ['peer', 'reason'],
  registers: [registry],
});

export interface PeerQueriesOptions {
  membership: Membership;
  /** cluster.peer_query_timeout, in milliseconds. */
  timeoutMs: number;
  /** auth.peer_token: how the peers' API listeners know this instance ('' while authentication is off). */
  peerToken: string;
  logger: Logger;
  /** HTTPS to the peers, with cluster.tls's files as read (readTlsFiles); plain HTTP without. */
  tls?: PeerTls | undefined;
}

export interface PeerTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** cluster.tls.insecure_skip_verify: encrypt, but accept any certificate. */
  skipVerify: boolean;
}

export class PeerQueries implements RemoteSources {
  private readonly agent: Agent;

  constructor(private readonly opts: PeerQueriesOptions) {
    const tls = opts.tls;
    this.agent = tls ? new HttpsAgent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.skipVerify }) : new Agent({ keepAlive: true });
  }

  peers(): RemotePeer[] {
    const self = this.opts.membership.self.id;
    return this.opts.membership
      .peers()
      .filter((p) => p.id !== self)
      .map((p) => new PeerClient(p, this.agent, this.opts));
  }

  /** Closes idle connections (calls in flight end with their queries). */
  close(): void {
    this.agent.destroy();
  }
}

/** The query ended (its deadline, or its client went away) while a peer was answering: not the peer's failure. */
class QueryEndedError extends Error {
  override name = 'QueryEndedError';
}

class PeerClient implements RemotePeer {
  readonly id: string;

  constructor(
    private readonly peer: Peer,
    private readonly agent: Agent,
    private readonly opts: PeerQueriesOptions,
  ) {
    this.id = peer.id;
  }

  traces(tenant: string, req: FetchTracesRequest, scope: PeerScope): RemoteTraces {
    return new PeerStream(this.start(PEER_FETCH_PATH, tenant, fetchBody(req, scope), req.pacer), req.overLimit);
  }

  headTraces(tenant: string, req: FetchAggregateRequest): RemoteTraces {
    return new PeerStream(this.start(PEER_FETCH_PATH, tenant, fetchBody(req, 'head'), req.pacer), req.overLimit);
  }

  async tagNames(tenant: string, req: FetchTagNamesRequest, scope: PeerScope): Promise<TagNamesResult> {
    return this.start(PEER_FETCH_PATH, tenant, fetchBody(req, scope), req.pacer).json(readTagNamesResult);
  }

  async tagValues(tenant: string, req: FetchTagValuesRequest, scope: PeerScope): Promise<TagValuesResult> {
    return this.start(PEER_FETCH_PATH, tenant, fetchBody(req, scope), req.pacer).json(readTagValuesResult);
  }

  async findTrace(tenant: string, traceIdHex: string, range: { startUnixSec?: number | undefined; endUnixSec?: number | undefined }, scope: PeerScope): Promise<RemoteTrace> {
    const lookup: PeerTraceLookup = { scope, traceId: traceIdHex, startUnixSec: range.startUnixSec, endUnixSec: range.endUnixSec };
    const call = this.start(PEER_TRACE_PATH, tenant, encodeTagged(lookup), undefined);
    const answer = await call.json(readPeerTraceAnswer);
    return { spans: call.read(() => decodeSpans(answer.spans)), inspectedBytes: answer.inspectedBytes };
  }

  private start(path: string, tenant: string, body: string, pacer: Pacer | undefined): PeerCall {
    return new PeerCall(this.peer, this.agent, this.opts, path, tenant, body, pacer?.signal);
  }
}

/** The body of a fetch call: the request's data, its scope, and the time its query has left. */
function fetchBody(req: FetchTracesRequest | FetchAggregateRequest | FetchTagNamesRequest | FetchTagValuesRequest, scope: PeerScope): string {
  // The closures stay here: the peer makes its own pacer and limit error from the data, and
  // keyFloor's part is played by reading the peer's stream lazily and leaving it at the floor.
  const { pacer, overLimit: _overLimit, keyFloor: _keyFloor, ...data } = req as FetchTracesRequest;
  const deadlineMs = pacer?.deadlineMs;
  const timeoutMs = deadlineMs === undefined || !Number.isFinite(deadlineMs) ? NO_DEADLINE_MS : Math.min(NO_DEADLINE_MS, Math.max(1, Math.ceil(deadlineMs - Date.now())));
  const message: PeerFetch = { scope, timeoutMs, request: data as FetchData };
  return encodeTagged(message);
}

/** One peer's traces stream (NDJSON of codec.ts StreamLine), read as it is iterated. */
class PeerStream implements RemoteTraces {
  readonly stats = { inspectedBytes: 0, inspectedTraces: 0 };
  private readonly lines: AsyncGenerator<string>;
  private done = false;

  constructor(
    private readonly call: PeerCall,
    private readonly overLimit: (bytes: number, planned?: boolean) => Error,
  ) {
    this.lines = call.lines();
  }

  [Symbol.asyncIterator](): AsyncIterator<FetchedTrace> {
    return {
      next: () => this.next(),
      // Ends the call at once, even while a read waits (an async generator would wait for it).
      return: async () => {
        this.finish();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<FetchedTrace>> {
    if (this.done) return { done: true, value: undefined };
    const r = await this.lines.next();
    if (this.done) return { done: true, value: undefined };
    if (r.done === true) {
      this.finish();
      throw this.call.peerError(`ended its answer before its last line`);
    }
    const line = this.call.read(() => readStreamLine(decodeTagged(r.value)));
    if ('trace' in line) {
      const { traceId, key, spans } = line.trace;
      return { done: false, value: { traceId, key, spans: this.call.read(() => decodeSpans(spans)) } };
    }
    this.finish();
    if ('end' in line) {
      this.stats.inspectedBytes = line.end.inspectedBytes;
      this.stats.inspectedTraces = line.end.inspectedTraces;
      return { done: true, value: undefined };
    }
    const over = line.error.overLimit;
    // The request's own limit, reached on the peer: the query's error, as if it had read the bytes here.
    if (over) throw this.overLimit(over.bytes, over.planned);
    throw this.call.peerError(`failed its part: ${line.error.message}`);
  }

  private finish(): void {
    this.done = true;
    this.call.close();
  }
}

/** One HTTP call to a peer: its response, read as JSON or as a stream of lines, within the timeouts. */
class PeerCall {
  private readonly req: ClientRequest;
  private readonly response: Promise<IncomingMessage>;
  /** Why the call was ended early, once it was. */
  private ended: Error | undefined;
  private closed = false;
  private failed: PeerError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.end(new QueryEndedError(`the query ended while peer ${this.peer.id} was answering`));

  constructor(
    private readonly peer: Peer,
    agent: Agent,
    private readonly opts: PeerQueriesOptions,
    path: string,
    tenant: string,
    body: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    const secure = opts.tls !== undefined;
    const url = new URL(`${secure ? 'https' : 'http'}://${peer.http}`);
    this.req = (secure ? httpsRequest : httpRequest)({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path,
      method: 'POST',
      agent,
      headers: { 'content-type': PEER_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), [TENANT_HEADER]: tenant, ...peerAuthorization(opts.peerToken) },
    });
    this.response = new Promise<IncomingMessage>((resolve, reject) => {
      this.req.once('response', resolve);
      this.req.once('error', reject);
    }).then(
      async (res) => {
        // The answer has begun: from here each piece of it is timed as it is read.
        this.disarm();
        if (res.statusCode === 200) return res;
        const text = await this.readAll(res, MAX_ERROR_CHARS).catch(() => '');
        throw this.peerError(`answered ${res.statusCode}: ${text.trim().slice(0, MAX_ERROR_CHARS)}`);
      },
      (err: unknown) => {
        throw this.failure(err, 'could not be reached');
      },
    );
    // Its failure is read by whoever reads the answer; unread, it must not surface as unhandled.
    this.response.catch(() => undefined);
    this.arm();
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
    this.req.end(body);
  }

  /** The whole answer, tagged JSON checked by `read`. */
  async json<T>(read: (value: unknown) => T): Promise<T> {
    try {
      const res = await this.response;
      const text = await this.readAll(res, MAX_ANSWER_CHARS);
      return this.read(() => read(decodeTagged(text)));
    } catch (err) {
      throw this.failure(err, 'broke off its answer');
    } finally {
      this.close();
    }
  }

  /** The answer's lines as they come. */
  async *lines(): AsyncGenerator<string> {
    let res: IncomingMessage;
    try {
      res = await this.response;
    } catch (err) {
      throw this.failure(err, 'could not be reached');
    }
    const decoder = new TextDecoder();
    let buffered = '';
    const chunks = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          yield buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf('\n');
        }
        if (buffered.length > MAX_ANSWER_CHARS) throw this.peerError(`sent a line longer than ${MAX_ANSWER_CHARS} characters`);
        this.arm();
        const chunk = await chunks.next();
        this.disarm();
        if (chunk.done === true) {
          buffered += decoder.decode();
          if (buffered !== '') yield buffered;
          return;
        }
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    } catch (err) {
      if (this.closed && this.ended === undefined) return;
      throw this.failure(err, 'broke off its answer');
    } finally {
      this.close();
    }
  }

  /** Runs a decoder of the peer's answer: what it cannot read is the peer's failure. */
  read<T>(decode: () => T): T {
    try {
      return decode();
    } catch (err) {
      throw this.peerError(`sent an answer that cannot be read: ${(err as Error).message}`);
    }
  }

  /** The peer's failure (`what` it did), counted and logged once per call. */
  peerError(what: string): PeerError {
    if (this.failed) return this.failed;
    const err = (this.failed = new PeerError(this.peer.id, `peer ${this.peer.id} ${what}`));
    peerQueryFailures.inc({ peer: this.peer.id, reason: what.includes('peer_query_timeout') ? 'timeout' : 'error' });
    this.opts.logger.warn({ peer: this.peer.id, err: err.message }, 'a peer did not answer its part of a query; the answer is partial');
    return err;
  }

  /** Ends the call without an error (its reader has what it wants, or has left). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.req.destroy();
  }

  private end(err: Error): void {
    if (this.closed || this.ended) return;
    this.ended = err;
    this.disarm();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.req.destroy(err);
  }

  /** Starts the clock for the next piece of the answer. */
  private arm(): void {
    this.disarm();
    this.timer = setTimeout(() => this.end(this.peerError(`did not answer within cluster.peer_query_timeout=${formatDuration(this.opts.timeoutMs)}`)), this.opts.timeoutMs);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** What an error of the call means: the reason it was ended for, or the peer's failure (`what` it did). */
  private failure(err: unknown, what: string): Error {
    const why = this.ended ?? err;
    if (why instanceof QueryEndedError || why instanceof PeerError) return why;
    return this.peerError(`${what}: ${(why as Error).message}`);
  }

  private async readAll(res: IncomingMessage, max: number): Promise<string> {
    const decoder = new TextDecoder();
    let text = '';
    this.arm();
    for await (const chunk of res as AsyncIterable<Buffer>) {
      this.arm();
      text += decoder.decode(chunk, { stream: true });
      if (text.length > max) throw this.peerError(`sent an answer longer than ${max} characters`);
    }
    this.disarm();
    return text + decoder.decode();
  }
}
