// One otlp exporter per other peer, carrying the spans this instance received
// for traces that peer owns (docs/scale-out.md). Each is the pipeline's own
// OtlpExporter, configured through its schema: OTLP gRPC to the peer's
// otlp_grpc address, over TLS as cluster.tls says (plaintext by default),
// the batch's tenant in X-Scope-OrgID as always, marked x-skein-forwarded so
// the owner keeps it (believed only with auth.peer_token in Authorization when
// authentication is on), retried until delivered, and queued on disk under
// `<storage.path>/cluster/forward/<peer>` (cluster.forward_queue_batches at
// most; beyond that the router refuses, retryably). Uncompressed: inside a
// cluster CPU is dearer than bandwidth, and the owner then reads the bytes as sent.
//
// A peer that leaves the membership is retired: its exporter gets its
// shutdown (it sends what it can within its timeout), and then what is still
// queued for it is re-routed through the router, which hands each batch to
// the trace's owner under the new ring, as if it had just arrived: a peer
// that left for good (a scaled-down StatefulSet) strands nothing, and the
// spans still meet the rest of their trace on its new owner. Queues found at
// start for peers no longer in the membership are re-routed the same way. A
// peer that comes back while its queue is being re-routed stops that (what is
// left is delivered to it by its new exporter).
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SkeinConfig } from '../config/schema.js';
import { OverloadError } from '../lib/errors.js';
import { FORWARDED_HEADER, FORWARDED_VALUE } from '../lib/forwarded.js';
import type { ResourceSpans } from '../otlp/model.js';
import type { TracesConsumer } from '../pipeline/consumer.js';
import { OtlpExporter, otlpExporterSchema } from '../pipeline/exporters/otlp/index.js';
import type { QueueStats } from '../pipeline/exporters/otlp/metrics.js';
import { PersistentQueue } from '../pipeline/exporters/otlp/persistent-queue.js';
import { sleep } from '../pipeline/exporters/otlp/retry.js';
import type { Logger } from '../telemetry/logger.js';
import { peerAuthorization, type Peer } from './peer.js';

/** How long a re-routed batch the router refused waits before it is offered again. */
const REROUTE_RETRY_MS = 1000;

/** `<storage.path>/cluster/forward`: one folder per peer with spans queued for it. */
export function forwardQueuesDir(storagePath: string): string {
  return join(storagePath, 'cluster', 'forward');
}

/** A peer's queue folder: its id made a file name, reversibly, so two peers never share one. */
export function peerQueueDir(storagePath: string, peerId: string): string {
  return join(forwardQueuesDir(storagePath), encodeURIComponent(peerId));
}

/** The exporter name of a peer's forwarder, which labels the exporter metrics (queue size among them). */
export function forwarderName(peerId: string): string {
  return `cluster/${peerId}`;
}

export interface ForwardersOptions {
  config: SkeinConfig;
  /** This instance's id: never forwarded to. */
  self: string;
  logger: Logger;
}

class Forwarder {
  readonly exporter: OtlpExporter;
  private state: 'starting' | 'started' | { failed: string } = 'starting';
  readonly starting: Promise<void>;

  constructor(
    readonly peer: Peer,
    opts: ForwardersOptions,
    /** A retirement of the same peer still using its queue folder: the exporter opens it after that ends. */
    previous: Promise<void> | undefined,
  ) {
    const { config } = opts;
    const name = forwarderName(peer.id);
    const exporterConfig = otlpExporterSchema.parse({
      endpoint: peer.otlpGrpc,
      protocol: 'grpc',
      tls: config.cluster.tls,
      // With authentication on, the peer_token is what lets the owner believe the mark and the batch's tenant.
      headers: { [FORWARDED_HEADER]: FORWARDED_VALUE, ...peerAuthorization(config.auth.peer_token) },
      compression: 'none',
      // A peer restarting is back within seconds: look again soon, and never give a batch up.
      retry_on_failure: { initial_interval: '1s', max_interval: '10s', max_elapsed_time: 0 },
      sending_queue: { persistent: true, queue_size: config.cluster.forward_queue_batches },
    });
    const exporter = new OtlpExporter(
      exporterConfig,
      { name, logger: opts.logger, dataDir: config.storage.path },
      { queueDir: peerQueueDir(config.storage.path, peer.id) },
    );
    this.exporter = exporter;
    this.starting = (async () => {
      await previous;
      await exporter.start();
      this.state = 'started';
    })();
    this.starting.catch((err: unknown) => (this.state = { failed: err instanceof Error ? err.message : String(err) }));
  }

  consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    if (this.state === 'started') return this.exporter.consume(tenant, batch);
    // Not waited for: a batch re-routed from this peer's old queue may be what the start waits on.
    const why = this.state === 'starting' ? 'is starting' : `did not start (${this.state.failed})`;
    return Promise.reject(new OverloadError(`cluster: the forwarder to ${this.peer.id} ${why}`, 1));
  }
}

export class Forwarders {
  private readonly active = new Map<string, Forwarder>();
  /** Queues of peers that left, being re-routed, by peer id, with the way to stop each. */
  private readonly retiring = new Map<string, { done: Promise<void>; stop: AbortController }>();
  private reroute: TracesConsumer | undefined;
  private whenRerouting: () => void = () => undefined;
  private readonly rerouting = new Promise<void>((resolve) => (this.whenRerouting = resolve));
  private closing = false;
  private readonly logger: Logger;

  /** Starts a forwarder for every peer but this instance (each replays what its queue kept from the last run). */
  static async start(opts: ForwardersOptions, peers: readonly Peer[]): Promise<Forwarders> {
    const forwarders = new Forwarders(opts);
    try {
      forwarders.update(peers);
      // A queue that cannot be opened fails the start, naming its folder.
      await Promise.all([...forwarders.active.values()].map((f) => f.starting));
      await forwarders.retireLeftovers();
    } catch (err) {
      await forwarders.close();
      throw err;
    }
    return forwarders;
  }

  private constructor(private readonly opts: ForwardersOptions) {
    this.logger = opts.logger.child({ component: 'cluster' });
  }

  /** The consumer of spans for `peerId`'s traces; undefined for this instance and for peers not known. */
  forwarderFor(peerId: string): TracesConsumer | undefined {
    return this.active.get(peerId);
  }

  /** Queue sizes of the forwarders, by peer id. */
  queues(): Map<string, QueueStats> {
    return new Map([...this.active].map(([id, f]) => [id, f.exporter.queueStats()]));
  }

  /**
   * From now on, queues of peers that left are handed to `router` (the pipeline
   * must be running: re-routed batches may be this instance's own).
   */
  rerouteThrough(router: TracesConsumer): void {
    this.reroute = router;
    this.whenRerouting();
  }

  /** Starts forwarders for peers that joined and retires those of peers that left. */
  update(peers: readonly Peer[]): void {
    if (this.closing) return;
    const wanted = new Map(peers.filter((p) => p.id !== this.opts.self).map((p) => [p.id, p]));
    for (const [id, forwarder] of this.active) {
      if (wanted.has(id)) continue;
      this.active.delete(id);
      this.retire(id, forwarder);
    }
    for (const [id, peer] of wanted) {
      if (this.active.has(id)) continue;
      const retiring = this.retiring.get(id);
      // Back before its old queue was re-routed: stop that; the new exporter delivers the rest.
      retiring?.stop.abort();
      let forwarder: Forwarder;
      try {
        forwarder = new Forwarder(peer, this.opts, retiring?.done);
      } catch (err) {
        this.logger.error({ err, peer: id }, 'cluster: no forwarder for this peer; spans for it are refused');
        continue;
      }
      forwarder.starting.catch((err: unknown) => this.logger.error({ err, peer: id }, 'cluster: the forwarder to a peer did not start; spans for it are refused'));
      this.active.set(id, forwarder);
    }
  }

  /** Stops re-routing (what is left stays queued on disk for the next start); before the pipeline shuts down. */
  async stopRerouting(): Promise<void> {
    this.closing = true;
    this.whenRerouting();
    for (const { stop } of this.retiring.values()) stop.abort();
    await Promise.all([...this.retiring.values()].map((r) => r.done));
  }

  /** Shuts every forwarder down (persistent queues keep what was not delivered); after the pipeline. */
  async close(): Promise<void> {
    await this.stopRerouting();
    const forwarders = [...this.active.values()];
    this.active.clear();
    await Promise.all(forwarders.map((f) => f.exporter.shutdown().catch((err: unknown) => this.logger.error({ err, peer: f.peer.id }, 'cluster: forwarder shutdown failed'))));
  }

  private retire(id: string, forwarder: Forwarder | undefined): void {
    const stop = new AbortController();
    const done = (async () => {
      await forwarder?.starting.catch(() => undefined);
      await forwarder?.exporter.shutdown();
      await this.rerouteQueue(id, stop.signal);
    })()
      .catch((err: unknown) => this.logger.error({ err, peer: id }, 'cluster: re-routing the queue of a peer that left failed; it stays on disk for the next start'))
      .finally(() => {
        if (this.retiring.get(id)?.done === done) this.retiring.delete(id);
      });
    this.retiring.set(id, { done, stop });
  }

  /** Queue folders a previous run left for peers that are no longer members. */
  private async retireLeftovers(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(forwardQueuesDir(this.opts.config.storage.path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      let id: string;
      try {
        id = decodeURIComponent(name);
      } catch {
        continue;
      }
      if (!this.active.has(id) && !this.retiring.has(id) && encodeURIComponent(id) === name) this.retire(id, undefined);
    }
  }

  private async rerouteQueue(id: string, signal: AbortSignal): Promise<void> {
    await this.rerouting;
    if (signal.aborted || !this.reroute) return;
    const router = this.reroute;
    const dir = peerQueueDir(this.opts.config.storage.path, id);
    const logger = this.logger.child({ peer: id });
    const queue = new PersistentQueue({ dir, capacity: this.opts.config.cluster.forward_queue_batches, logger, walLabel: `exporter:${forwarderName(id)}` });
    await queue.open();
    queue.stopIntake();
    const queued = { batches: queue.size, spans: queue.spans };
    if (queued.batches > 0) logger.info(queued, 'cluster: re-routing the spans queued for a peer that left the cluster');
    let done = 0;
    for (let entry = await queue.take(); entry && !signal.aborted; entry = await queue.take()) {
      while (!signal.aborted) {
        try {
          await router.consume(entry.tenant, entry.batch);
          queue.done(entry);
          done++;
          break;
        } catch (err) {
          if (!(err instanceof OverloadError)) logger.warn({ err }, 'cluster: a re-routed batch was refused; offering it again');
          await sleep(REROUTE_RETRY_MS, signal);
        }
      }
    }
    const left = queue.size;
    await queue.close();
    if (left === 0) {
      await rm(dir, { recursive: true, force: true });
      if (queued.batches > 0) logger.info({ batches: done }, 'cluster: the queue of a peer that left is re-routed');
    } else {
      logger.info({ batches: left }, 'cluster: re-routing stopped; the rest stays queued');
    }
  }
}
