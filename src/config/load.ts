// Loading configuration: YAML file, then environment overrides, then the schema.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type SkeinConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables that override one key each (value `host:port` or a path). */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: readonly string[] }> = [
  { env: 'SKEIN_DATA_DIR', path: ['storage', 'path'] },
  { env: 'SKEIN_OTLP_GRPC_ADDR', path: ['receivers', 'otlp', 'protocols', 'grpc', 'endpoint'] },
  { env: 'SKEIN_OTLP_HTTP_ADDR', path: ['receivers', 'otlp', 'protocols', 'http', 'endpoint'] },
  { env: 'SKEIN_HTTP_ADDR', path: ['server', 'http_listen_address'] },
  { env: 'SKEIN_LOG_LEVEL', path: ['server', 'log_level'] },
  { env: 'SKEIN_S3_BUCKET', path: ['storage', 's3', 'bucket'] },
  { env: 'SKEIN_S3_ENDPOINT', path: ['storage', 's3', 'endpoint'] },
  { env: 'SKEIN_CLUSTER_ADVERTISE_HOST', path: ['cluster', 'advertise_host'] },
  { env: 'SKEIN_CLUSTER_DNS_NAME', path: ['cluster', 'dns', 'name'] },
];

export interface LoadOptions {
  /** Path of the YAML file; none means embedded defaults only. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Overrides from command-line flags, applied last (e.g. `--data-dir`). */
  overrides?: ReadonlyArray<{ path: readonly string[]; value: unknown }>;
}

export function loadConfig(opts: LoadOptions = {}): SkeinConfig {
  const env = opts.env ?? process.env;
  let raw: unknown = {};
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config: cannot read ${opts.file}: ${(err as Error).message}`);
    }
    raw = parseYamlText(text, opts.file);
  }
  const doc = (raw ?? {}) as Record<string, unknown>;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`config: ${opts.file}: the document must be a mapping of sections`);
  }
  for (const { env: name, path } of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(doc, path, value);
  }
  for (const { path, value } of opts.overrides ?? []) setPath(doc, path, value);
  return validateConfig(doc, opts.file);
}

export function parseYamlText(text: string, source = 'config'): unknown {
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config: ${source}: invalid YAML: ${(err as Error).message}`);
  }
}

export function validateConfig(doc: unknown, source?: string): SkeinConfig {
  const result = configSchema.safeParse(doc);
  if (result.success) return result.data;
  throw new ConfigError(formatIssues(result.error.issues, source));
}

function formatIssues(issues: z.core.$ZodIssue[], source?: string): string {
  const lines = issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
      return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''}`;
    }
    return `${path || '(root)'}: ${issue.message}`;
  });
  return `config${source ? ` ${source}` : ''} is invalid:\n  ${lines.join('\n  ')}`;
}

function setPath(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = doc;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) {
      node[key] = {};
    } else if (typeof next !== 'object') {
      throw new ConfigError(`config: ${key} must be a mapping to set ${path.join('.')}`);
    }
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
