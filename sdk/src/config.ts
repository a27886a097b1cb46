// What the kit reads from the environment (docs/env-variables.md lists every
// variable). A bad value never stops the service: the OpenTelemetry
// specification asks SDKs to fall back to the default, and the kit says
// which variable was wrong and what it used instead.
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

export interface ExportSettings {
  protocol: OtlpProtocol;
  /** Where spans are sent: host:port URL for gRPC, full /v1/traces URL for HTTP. */
  url: string;
  timeoutMillis: number;
}

export interface TracingSettings {
  disabled: boolean;
  serviceName: string;
  sampleRatio: number;
  export: ExportSettings;
  scheduledDelayMillis: number;
  maxExportBatchSize: number;
  maxQueueSize: number;
  /** One message per variable that was set but unusable. */
  problems: string[];
}

export interface SettingsInput {
  serviceName: string;
  sampleRatio?: number;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** Default endpoints of the OTLP specification, which are also Skein's default ports. */
export const DEFAULT_GRPC_ENDPOINT = 'http://localhost:4317';
export const DEFAULT_HTTP_ENDPOINT = 'http://localhost:4318';

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function isTruthy(v: string | undefined): boolean {
  return v?.trim().toLowerCase() === 'true';
}

function numberVar(env: NodeJS.ProcessEnv, name: string, fallback: number, ok: (n: number) => boolean, what: string, problems: string[]): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isFinite(n) && ok(n)) return n;
  problems.push(`${name}=${JSON.stringify(raw)} is not ${what}; using ${fallback}`);
  return fallback;
}

function urlVar(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return raw;
  } catch {
    // reported below
  }
  problems.push(`${name}=${JSON.stringify(raw)} is not an http:// or https:// URL; ignored`);
  return undefined;
}

/** The signal-specific variable when set, else the generic one (the exporters' order). */
function tracesVar(env: NodeJS.ProcessEnv, suffix: string): { name: string; value: string | undefined } {
  const specific = `OTEL_EXPORTER_OTLP_TRACES_${suffix}`;
  const name = nonEmpty(env, specific) !== undefined ? specific : `OTEL_EXPORTER_OTLP_${suffix}`;
  return { name, value: nonEmpty(env, name) };
}

/**
 * The exporters read the certificate variables themselves, and one they cannot use is only
 * reported to OpenTelemetry's diagnostic logger, silent by default: the kit says so instead.
 */
function checkTlsFiles(env: NodeJS.ProcessEnv, url: string, problems: string[]): void {
  const files = ['CERTIFICATE', 'CLIENT_CERTIFICATE', 'CLIENT_KEY'].map((suffix) => tracesVar(env, suffix));
  for (const { name, value } of files) {
    if (value === undefined) continue;
    if (!url.startsWith('https:')) {
      problems.push(`${name} is set but the endpoint ${url} is not https://; it has no effect`);
      continue;
    }
    try {
      accessSync(resolve(value), constants.R_OK);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(value)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); the exporter sends without it`);
    }
  }
  const [, cert, key] = files;
  if (url.startsWith('https:') && (cert!.value === undefined) !== (key!.value === undefined)) {
    const [given, missing] = cert!.value === undefined ? [key!, cert!] : [cert!, key!];
    problems.push(`${given.name} is set without ${missing.name}: a client certificate needs both`);
  }
}

export function settingsFromEnv(input: SettingsInput, env: NodeJS.ProcessEnv = process.env): TracingSettings {
  const problems: string[] = [];
  const protocolName = nonEmpty(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const rawProtocol = nonEmpty(env, protocolName);
  let protocol: OtlpProtocol = 'grpc';
  if (rawProtocol !== undefined) {
    if ((PROTOCOLS as readonly string[]).includes(rawProtocol)) protocol = rawProtocol as OtlpProtocol;
    else problems.push(`${protocolName}=${JSON.stringify(rawProtocol)} is not one of ${PROTOCOLS.join(', ')}; using grpc`);
  }
  const http = protocol !== 'grpc';
  // The signal-specific variable is used as is; the generic one is a base to which HTTP adds /v1/traces (OTLP exporter specification).
  const tracesEndpoint = urlVar(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', problems);
  const endpoint = urlVar(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', problems);
  let url: string;
  if (tracesEndpoint !== undefined) url = tracesEndpoint;
  else if (endpoint !== undefined) url = http ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : endpoint;
  else url = http ? `${DEFAULT_HTTP_ENDPOINT}/v1/traces` : DEFAULT_GRPC_ENDPOINT;

  const timeoutMillis = numberVar(
    env,
    nonEmpty(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT',
    10_000,
    (n) => Number.isInteger(n) && n > 0,
    'a positive whole number of milliseconds',
    problems,
  );
  checkTlsFiles(env, url, problems);
  const ratioFallback = input.sampleRatio ?? 1;
  const sampleRatio = numberVar(env, 'OTEL_TRACES_SAMPLER_ARG', ratioFallback, (n) => n >= 0 && n <= 1, 'a ratio between 0 and 1', problems);
  const scheduledDelayMillis = numberVar(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, (n) => Number.isInteger(n) && n > 0, 'a positive whole number of milliseconds', problems);
  const maxQueueSize = numberVar(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, (n) => Number.isInteger(n) && n > 0, 'a positive whole number', problems);
  let maxExportBatchSize = numberVar(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, (n) => Number.isInteger(n) && n > 0, 'a positive whole number', problems);
  if (maxExportBatchSize > maxQueueSize) {
    problems.push(`OTEL_BSP_MAX_EXPORT_BATCH_SIZE=${maxExportBatchSize} is larger than the queue (${maxQueueSize}); using ${maxQueueSize}`);
    maxExportBatchSize = maxQueueSize;
  }
  return {
    disabled: isTruthy(env['OTEL_SDK_DISABLED']),
    serviceName: nonEmpty(env, 'OTEL_SERVICE_NAME') ?? input.serviceName,
    sampleRatio,
    export: { protocol, url, timeoutMillis },
    scheduledDelayMillis,
    maxExportBatchSize,
    maxQueueSize,
    problems,
  };
}
