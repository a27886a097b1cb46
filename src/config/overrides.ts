// Per-tenant limits, Tempo's overrides. Each limit is resolved for a tenant from the
// per-tenant file (overrides.per_tenant_override_config, read again every
// per_tenant_override_period), then overrides.defaults, then the setting it has always been
// (limits.*, query.*, storage.retention, storage.max_bytes), so a Skein without overrides behaves as before.
// The receivers, the store and the query API each ask limitsFor(tenant) where they enforce
// one, and name the limit in their refusals as `named` gives it.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { SkeinConfig } from './schema.js';
import { tenantId, tenantLimitsSchema, type TenantLimitsConfig } from './security-schema.js';
import { formatDuration } from './units.js';
import { ConfigError } from './load.js';
import { watchedFile, type WatchedFile } from '../lib/watched-file.js';
import type { Logger } from '../telemetry/logger.js';

export type LimitName = keyof TenantLimitsConfig;

/** One tenant's limits, each resolved, and how a message names each as it applies to that tenant. */
export type TenantLimits = { readonly [K in LimitName]: number } & {
  /** `limits.max_attributes_per_span=256`, `overrides.defaults.max_traces_per_user=1000`, `max_traces_per_user=5 (override for tenant "a")`. */
  readonly named: { readonly [K in LimitName]: string };
};

/** The settings the limits default to. */
export type OverrideSettings = Pick<SkeinConfig, 'limits' | 'query' | 'storage' | 'overrides'>;

/** Tempo's runtime file: `overrides: { <tenant>: { <limit>: value } }`; `"*"` stands for every tenant not listed. */
const overridesFileSchema = z.strictObject({
  overrides: z
    .record(z.union([tenantId, z.literal('*')]), tenantLimitsSchema.nullable().transform((v) => v ?? {}))
    .nullable()
    .default({})
    .transform((v) => v ?? {}),
});
type PerTenant = Readonly<Record<string, TenantLimitsConfig>>;

const WILDCARD = '*';
const DURATIONS: ReadonlySet<LimitName> = new Set(['block_retention', 'max_search_duration']);
/** Limits where 0 means no limit: a query over several tenants takes the smallest other than 0. */
const ZERO_UNLIMITED: ReadonlySet<LimitName> = new Set([
  'ingestion_rate_limit_bytes',
  'ingestion_burst_size_bytes',
  'max_traces_per_user',
  'max_bytes_per_trace',
  'max_search_duration',
  'block_retention_bytes',
]);

/** Each limit's value and key when neither the file nor overrides.defaults sets it. */
function settingsOf(s: OverrideSettings): { [K in LimitName]: { value: number; key: string } } {
  return {
    ingestion_rate_limit_bytes: { value: 0, key: 'ingestion_rate_limit_bytes' },
    ingestion_burst_size_bytes: { value: 0, key: 'ingestion_burst_size_bytes' },
    max_traces_per_user: { value: 0, key: 'max_traces_per_user' },
    max_bytes_per_trace: { value: s.limits.max_bytes_per_trace, key: 'limits.max_bytes_per_trace' },
    max_attributes_per_span: { value: s.limits.max_attributes_per_span, key: 'limits.max_attributes_per_span' },
    max_attribute_value_length: { value: s.limits.max_attribute_value_length, key: 'limits.max_attribute_value_length' },
    block_retention: { value: s.storage.retention, key: 'storage.retention' },
    block_retention_bytes: { value: s.storage.max_bytes, key: 'storage.max_bytes' },
    max_search_duration: { value: s.query.max_search_duration, key: 'query.max_search_duration' },
    max_spans_per_span_set: { value: s.query.max_spss, key: 'query.max_spss' },
    max_concurrent_queries: { value: s.query.max_concurrent_queries, key: 'query.max_concurrent_queries' },
  };
}

function format(name: LimitName, value: number): string {
  return DURATIONS.has(name) ? formatDuration(value) : String(value);
}

export class Overrides {
  private readonly cache = new Map<string, TenantLimits>();
  /** The file's content the cache was resolved from: a reload empties the cache. */
  private cachedFrom: PerTenant | undefined;

  constructor(
    private readonly settings: OverrideSettings,
    private readonly file?: WatchedFile<PerTenant>,
  ) {}

  /**
   * The limits of `config`, with the per-tenant file read now (throwing a ConfigError-style
   * message naming the file, the tenant and the key when it is bad, so start-up stops) and
   * watched from then on: a later bad edit is logged and the previous limits stay.
   */
  static open(config: OverrideSettings, logger: Logger): Overrides {
    const { per_tenant_override_config: path, per_tenant_override_period: intervalMs } = config.overrides;
    if (path === '') return new Overrides(config);
    try {
      return new Overrides(config, watchedFile(path, parseOverridesFile, { intervalMs, logger, what: 'overrides.per_tenant_override_config' }));
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }

  limitsFor(tenant: string): TenantLimits {
    const perTenant = this.file?.current();
    if (perTenant !== this.cachedFrom) {
      this.cache.clear();
      this.cachedFrom = perTenant;
    }
    let limits = this.cache.get(tenant);
    if (!limits) {
      limits = this.resolve(tenant, perTenant);
      this.cache.set(tenant, limits);
    }
    return limits;
  }

  /** For a query over several tenants: each limit the strictest of theirs. */
  strictest(tenants: readonly string[]): TenantLimits {
    const all = tenants.map((t) => this.limitsFor(t));
    if (all.length === 1) return all[0]!;
    const values = {} as Record<LimitName, number>;
    const named = {} as Record<LimitName, string>;
    for (const name of Object.keys(all[0]!.named) as LimitName[]) {
      let pick = all[0]!;
      for (const l of all.slice(1)) {
        const a = l[name];
        const b = pick[name];
        const stricter = ZERO_UNLIMITED.has(name) ? a !== 0 && (b === 0 || a < b) : a < b;
        if (stricter) pick = l;
      }
      values[name] = pick[name];
      named[name] = pick.named[name];
    }
    return { ...values, named };
  }

  close(): void {
    this.file?.close();
  }

  private resolve(tenant: string, perTenant: PerTenant | undefined): TenantLimits {
    const own = perTenant?.[tenant];
    const fileEntry = own ?? perTenant?.[WILDCARD];
    const fileTenant = own ? tenant : WILDCARD;
    const defaults = this.settings.overrides.defaults;
    const settings = settingsOf(this.settings);
    const values = {} as Record<LimitName, number>;
    const named = {} as Record<LimitName, string>;
    for (const name of Object.keys(settings) as LimitName[]) {
      const fromFile = fileEntry?.[name];
      const fromDefaults = defaults[name];
      // A block_retention of 0 is Tempo's "unset", never "delete everything".
      const unset = (v: number | undefined) => v === undefined || (name === 'block_retention' && v === 0);
      let value: number;
      if (!unset(fromFile)) {
        value = fromFile!;
        named[name] = `${name}=${format(name, value)} (override for tenant ${JSON.stringify(fileTenant)})`;
      } else if (!unset(fromDefaults)) {
        value = fromDefaults!;
        named[name] = `overrides.defaults.${name}=${format(name, value)}`;
      } else {
        value = settings[name].value;
        named[name] = `${settings[name].key}=${format(name, value)}`;
      }
      values[name] = value;
    }
    // A rate without a burst: the bucket holds a second of it, or one request of the largest size accepted.
    if (values.ingestion_rate_limit_bytes > 0 && values.ingestion_burst_size_bytes === 0) {
      values.ingestion_burst_size_bytes = Math.max(values.ingestion_rate_limit_bytes, this.settings.limits.max_request_bytes);
      named.ingestion_burst_size_bytes = `ingestion_burst_size_bytes=${values.ingestion_burst_size_bytes} (unset: the larger of ingestion_rate_limit_bytes and limits.max_request_bytes)`;
    }
    return { ...values, named };
  }
}

/** The per-tenant file's content; throws a message naming each bad tenant and key. */
export function parseOverridesFile(text: string): PerTenant {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new Error(`invalid YAML: ${(err as Error).message}`);
  }
  const parsed = overridesFileSchema.safeParse(doc);
  if (parsed.success) return parsed.data.overrides;
  const problems = parsed.error.issues.map((issue) => {
    const [top, tenant, key] = issue.path.map(String);
    const where = top === 'overrides' && tenant !== undefined ? `tenant ${JSON.stringify(tenant)}` : top === undefined ? '(root)' : top;
    if (issue.code === 'unrecognized_keys') {
      const known = tenant === undefined ? 'overrides' : Object.keys(tenantLimitsSchema.shape).join(', ');
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (known: ${known})`;
    }
    if (issue.code === 'invalid_key') return `tenant ${JSON.stringify(tenant)}: not a tenant ID (1–150 characters of A-Z a-z 0-9 ! - _ . * ' ( ))`;
    return `${where}${key === undefined ? '' : `: ${key}`}: ${issue.message}`;
  });
  throw new Error(`invalid overrides:\n  ${problems.join('\n  ')}`);
}
