// Configuration of the `servicegraph` connector, in the OpenTelemetry
// Collector's YAML syntax and with its defaults (store, peer attributes), the
// metric buckets Tempo's metrics-generator uses, and Skein's keys for tenants,
// cardinality and the UI aggregate. docs/metrics-generator.md is the
// user-facing version.
//
// ```yaml
// connectors:
//   servicegraph:
//     latency_histogram_buckets: [100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 6400ms, 12800ms]  # Tempo's
//     dimensions: []                 # attribute names → labels client_<name>, server_<name>
//     store:
//       ttl: 2s                      # how long a half-edge waits for its other half
//       max_items: 1000              # half-edges held; when full, a new span is dropped
//     store_expiration_loop: 2s      # how often expired half-edges are swept
//     cache_loop: 1m                 # how often stale series are swept
//     virtual_node_peer_attributes: [peer.service, db.name, db.system]
//     virtual_node_extra_label: false  # adds virtual_node="client"|"server" to virtual edges
//     database_name_attributes: [db.name]  # a CLIENT span with one is a complete database edge
//     # --- Skein's extensions ---
//     include_tenant_label: false
//     max_label_sets: 10000
//     metrics_expiration: 15m
//     ui_window_retention: 1h
//     ui_window_resolution: 1m
// ```
import { z } from 'zod';
import { bucketList, checkUiWindow, connectorSchema, positiveDuration, skeinConnectorKeys } from '../shared/config.js';
import { SERVICE_GRAPH_BUCKETS } from '../shared/histogram.js';
import { identifierDimensionProblem, sanitizeLabelName } from '../shared/labels.js';

/** The collector's default virtual_node_peer_attributes (semconv peer.service, db.name, db.system). */
export const DEFAULT_PEER_ATTRIBUTES = ['peer.service', 'db.name', 'db.system'] as const;
/** The collector's default database_name_attributes. */
export const DEFAULT_DATABASE_NAME_ATTRIBUTES = ['db.name'] as const;

const attributeName = z.string().min(1, 'attribute names must not be empty');

const options = z
  .strictObject({
    latency_histogram_buckets: bucketList.default(() => [...SERVICE_GRAPH_BUCKETS]),
    dimensions: z.array(attributeName).default(() => []),
    store: z
      .strictObject({
        ttl: positiveDuration.default(2_000),
        max_items: z.number().int().positive().default(1_000),
      })
      .default({ ttl: 2_000, max_items: 1_000 }),
    store_expiration_loop: positiveDuration.default(2_000),
    cache_loop: positiveDuration.default(60_000),
    virtual_node_peer_attributes: z.array(attributeName).default(() => [...DEFAULT_PEER_ATTRIBUTES]),
    virtual_node_extra_label: z.boolean().default(false),
    database_name_attributes: z
      .array(attributeName)
      .min(1, 'name at least one attribute')
      .default(() => [...DEFAULT_DATABASE_NAME_ATTRIBUTES]),
    ...skeinConnectorKeys,
  })
  .superRefine((c, ctx) => {
    checkUiWindow(c, ctx);
    const labels = new Map<string, string>();
    c.dimensions.forEach((dim, i) => {
      const problem = identifierDimensionProblem(dim);
      if (problem) ctx.addIssue({ code: 'custom', path: ['dimensions', i], message: problem });
      const label = sanitizeLabelName(dim);
      const clash = labels.get(label);
      if (clash !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['dimensions', i],
          message: `${JSON.stringify(dim)} and ${JSON.stringify(clash)} both become the labels client_${label} and server_${label}`,
        });
      }
      labels.set(label, dim);
    });
  });

export type ServiceGraphConfig = z.output<typeof options>;

const UNSUPPORTED = {
  metrics_flush_interval: "Skein's metrics are scraped from /metrics, there is nothing to flush",
  metrics_exporter: 'deprecated in the collector; metrics are served on /metrics',
  metrics_timestamp_offset: 'scraped metrics carry the scrape time',
  exponential_histogram_max_size: "classic histograms only (Tempo's metric names and buckets)",
  database_name_attribute: 'deprecated in the collector; use database_name_attributes',
};

/** The connector's schema; an empty `servicegraph:` entry (YAML null) means all defaults. */
export const serviceGraphConfigSchema = connectorSchema(options, UNSUPPORTED);
