// What of Skein's own metrics a caller restricted to some tenants may read (/metrics with
// auth.metrics: read, /api/skein/ingest-stats): a series labelled `tenant` only when it
// names one of them; a series of no tenant (the process, receivers, queues, queries)
// always, except the connectors' series without a tenant label, which add every tenant's
// spans up under their services' and operations' names (include_tenant_label gives each
// tenant its own), and the Tempo and collector names that sum tenants' series up. The
// registry's metric objects are filtered and prom-client renders them, so the text is
// exactly what an unrestricted scrape would show of those series.
import { Registry, type Metric } from 'prom-client';
import { registry } from '../telemetry/metrics.js';
import { CompatView } from '../telemetry/compat-metrics.js';
import { SharedFamily } from '../pipeline/connectors/shared/families.js';

type Labels = Readonly<Record<string, string | number | undefined>>;

/** One sample as a metric object's get() gives it (a histogram's label set is in sharedLabels until splayed). */
interface Sample {
  value: number;
  labels?: Labels;
  sharedLabels?: Labels;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Sample[];
}

/** The reading side of a metric object, as prom-client's registry calls it. */
interface Readable {
  getForPromString?: () => Promise<MetricData>;
  get(): Promise<MetricData>;
}

/** Whether a series with these labels belongs to the tenants; `mixed`: its metric adds tenants' data up in series without a tenant label. */
export function seriesOfTenants(labels: Labels, tenants: readonly string[], mixed: boolean): boolean {
  const tenant = labels['tenant'];
  return tenant === undefined ? !mixed : tenants.includes(String(tenant));
}

/**
 * Whether a metric of the registry holds tenant data in series without a tenant label: the
 * connectors', and the Tempo and collector names that add tenants up (compat-metrics.ts).
 */
export function mixesTenants(metric: unknown): boolean {
  return metric instanceof SharedFamily || (metric instanceof CompatView && metric.mixesTenants);
}

/** The registry's exposition text, of the series the tenants may read. */
export async function metricsTextFor(tenants: readonly string[]): Promise<string> {
  const visible = new Registry();
  for (const metric of registry.getMetricsAsArray()) {
    const mixed = mixesTenants(metric);
    const source = metric as unknown as Readable;
    const read = source.getForPromString ? () => source.getForPromString!.call(metric) : () => source.get.call(metric);
    const filtered = {
      name: metric.name,
      help: metric.help,
      type: metric.type,
      aggregator: metric.aggregator,
      get: async (): Promise<MetricData> => {
        const data = await read();
        return { ...data, values: data.values.filter((v) => seriesOfTenants({ ...v.sharedLabels, ...v.labels }, tenants, mixed)) };
      },
    };
    visible.registerMetric(filtered as unknown as Metric);
  }
  return visible.metrics();
}
