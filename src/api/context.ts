// What the API routes need from the running process.
import type { SkeinConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { ServiceGraphConnector } from '../pipeline/connectors/servicegraph/index.js';
import type { SpanMetricsConnector } from '../pipeline/connectors/spanmetrics/index.js';
import type { Target } from '../config/targets.js';

export interface ApiContext {
  config: SkeinConfig;
  logger: Logger;
  target: Target;
  /** Unset until WAL replay has finished, and always with `--target collector`. */
  store: Store | undefined;
  /** True once every receiver listens (then /ready turns 200). */
  ready: boolean;
  serviceGraph: ServiceGraphConnector | undefined;
  spanMetrics: SpanMetricsConnector | undefined;
}
