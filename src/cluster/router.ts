// The router: the pipeline stage where a cluster splits each batch by trace
// owner (docs/scale-out.md). It stands right before the first tail_sampling
// processor, or after the last processor when none, before the connectors
// observe: so memory_limiter and redaction run where spans arrive (only
// redacted spans are queued and forwarded), while sampling decisions and span
// metrics are made once per trace, on its owner.
//
// Spans of a ResourceSpans/ScopeSpans are grouped per owner under their own
// resource and scope; this instance's share goes on to `owned` (the rest of
// the pipeline), every other share to its owner's forwarder (a durable
// queue). The batch is accepted once every share is; if one is refused the
// whole batch is refused, retryably, and the client's retry may deliver the
// accepted shares twice (OTLP is at-least-once; the store and the sampler
// take a span they already have without harm).
import { Counter } from 'prom-client';
import { OverloadError } from '../lib/errors.js';
import type { RefusedSpans } from '../lib/refused.js';
import type { ResourceSpans, Span } from '../otlp/model.js';
import { countSpans, sameBytes } from '../otlp/model.js';
import type { TracesConsumer } from '../pipeline/consumer.js';
import { BatchSubset } from '../pipeline/processors/tail-sampling/batch-subset.js';
import { registry } from '../telemetry/metrics.js';
import type { Peer } from './peer.js';
import { Ring } from './ring.js';

const routedSpans = new Counter({
  name: 'skein_cluster_routed_spans_total',
  help: 'Spans the router handed on, by owner: `owned` stay on this instance, `forwarded` are queued for the peer that owns their trace.',
  labelNames: ['decision', 'peer'],
  registers: [registry],
});

/** What the router forwards through: a consumer per other peer (src/cluster/forwarders.ts). */
export interface ForwarderSource {
  forwarderFor(peerId: string): TracesConsumer | undefined;
}

export interface RouterOptions {
  /** This instance's peer id. */
  self: string;
  peers: readonly Peer[];
  /** The rest of the pipeline: spans of the traces this instance owns. */
  owned: TracesConsumer;
  forwarders: ForwarderSource;
}

export class Router implements TracesConsumer {
  private ring: Ring;

  constructor(private readonly opts: RouterOptions) {
    this.ring = new Ring(opts.peers.map((p) => p.id));
  }

  /** The membership changed: traces are owned under the new ring from the next batch on. */
  setPeers(peers: readonly Peer[]): void {
    this.ring = new Ring(peers.map((p) => p.id));
  }

  /** Resolves to what this instance's store refused of its own share: forwarded shares are answered to the forwarder, which the client never hears of. */
  async consume(tenant: string, batch: ResourceSpans[]): Promise<RefusedSpans | void> {
    const shares = splitByOwner(batch, this.ring, this.opts.self);
    const deliveries: Array<Promise<void>> = [];
    let ownRefusal: RefusedSpans | void = undefined;
    for (const [owner, share] of shares) {
      const spans = countSpans(share);
      if (owner === this.opts.self) {
        deliveries.push(
          this.opts.owned.consume(tenant, share).then((refused) => {
            ownRefusal = refused;
            routedSpans.inc({ decision: 'owned', peer: owner }, spans);
          }),
        );
        continue;
      }
      const forwarder = this.opts.forwarders.forwarderFor(owner);
      deliveries.push(
        forwarder
          ? forwarder.consume(tenant, share).then(() => void routedSpans.inc({ decision: 'forwarded', peer: owner }, spans))
          : Promise.reject(new OverloadError(`cluster: no forwarder to ${owner}, which owns some of these traces`, 1)),
      );
    }
    // Every share settles before the answer, so a refusal never leaves one still being written.
    const outcomes = await Promise.allSettled(deliveries);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (refused) throw refused.reason;
    return ownRefusal;
  }
}

/**
 * The batch's spans grouped by the peer owning their trace. A batch owned
 * whole by one peer is handed on as it is, keeping its wire form; shares are
 * new arrays (without one) over the batch's own resource and scope objects.
 */
export function splitByOwner(batch: ResourceSpans[], ring: Ring, fallback: string): Map<string, ResourceSpans[]> {
  let first: string | undefined;
  let subsets: Map<string, BatchSubset> | undefined;
  let lastTraceId: Uint8Array | undefined;
  let lastOwner = fallback;
  for (const rs of batch) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        // Spans of one trace usually come together: hash each run once.
        if (lastTraceId === undefined || !sameBytes(span.traceId, lastTraceId)) {
          lastTraceId = span.traceId;
          lastOwner = ring.owner(span.traceId) ?? fallback;
        }
        if (subsets === undefined) {
          if (first === undefined) first = lastOwner;
          if (lastOwner === first) continue;
          subsets = regroupUpTo(batch, span, first);
        }
        let subset = subsets.get(lastOwner);
        if (!subset) subsets.set(lastOwner, (subset = new BatchSubset()));
        subset.add(rs, ss, span);
      }
    }
  }
  if (subsets === undefined) return new Map(first === undefined ? [] : [[first, batch]]);
  return new Map([...subsets].map(([owner, subset]) => [owner, subset.batch]));
}

/** The spans before `stop` (all owned by `owner`) as `owner`'s subset: the batch turned out to have several owners. */
function regroupUpTo(batch: ResourceSpans[], stop: Span, owner: string): Map<string, BatchSubset> {
  const subset = new BatchSubset();
  for (const rs of batch) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        if (span === stop) return new Map([[owner, subset]]);
        subset.add(rs, ss, span);
      }
    }
  }
  return new Map([[owner, subset]]);
}
