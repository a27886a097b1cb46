// What the API routes need from the running process.
import type { SkeinConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { ServiceGraphConnector } from '../pipeline/connectors/servicegraph/index.js';
import type { SpanMetricsConnector } from '../pipeline/connectors/spanmetrics/index.js';
import type { Target } from '../config/targets.js';
import type { Membership } from '../cluster/peer.js';
import type { QueueStats } from '../pipeline/exporters/otlp/metrics.js';
import type { Auth } from '../auth/authenticator.js';
import type { Overrides } from '../config/overrides.js';

export interface ApiContext {
  config: SkeinConfig;
  logger: Logger;
  target: Target;
  /** Who may call which route (src/auth/access.ts). */
  auth: Auth;
  /** Each tenant's limits (config/overrides.ts): search, trace by ID and query admission ask it. */
  overrides: Overrides;
  /** Unset until WAL replay has finished, and always with `--target collector`. */
  store: Store | undefined;
  /** True once every receiver listens (then /ready turns 200). */
  ready: boolean;
  serviceGraph: ServiceGraphConnector | undefined;
  spanMetrics: SpanMetricsConnector | undefined;
  /** Set when this instance is part of a cluster (cluster.peers or cluster.dns.name). */
  cluster?: {
    membership: Membership;
    /** The forwarders' queues by peer id, on an instance that routes spans (not a querier). */
    forwardQueues?: () => ReadonlyMap<string, QueueStats>;
  };
}
