// The `servicegraph` connector: the collector's type name, its config schema
// and the connector builder (metrics on Skein's registry, edges()/nodes() for
// the UI's service graph).
import type { Logger } from '../../../telemetry/logger.js';
import { serviceGraphConfigSchema, type ServiceGraphConfig } from './config.js';
import { createServiceGraph, type ServiceGraphConnector, type ServiceGraphOptions } from './servicegraph.js';

export { serviceGraphConfigSchema, type ServiceGraphConfig } from './config.js';
export type { ServiceGraphConnector, ServiceGraphOptions } from './servicegraph.js';
export type { ServiceGraphEdge, ServiceGraphNode } from './ui-window.js';
export type { ConnectionType } from './store.js';
export { METRIC as SERVICE_GRAPH_METRICS } from './metrics.js';

export const type = 'servicegraph';
export const schema = serviceGraphConfigSchema;

export function create(config: ServiceGraphConfig, ctx: { name: string; logger: Logger }, options?: ServiceGraphOptions): ServiceGraphConnector {
  return createServiceGraph(config, ctx, options);
}

export const serviceGraphFactory = { type, schema, create } as const;
