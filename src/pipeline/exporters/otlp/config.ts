// Configuration of the `otlp` and `otlphttp` exporters, in the OpenTelemetry
// Collector's YAML syntax and with its defaults, so a collector config ports
// over. Skein extensions: `protocol` on `otlp` (gRPC, or OTLP/HTTP with
// protobuf or JSON bodies) and `sending_queue.persistent` (a queue on disk
// under the data directory, where the collector names a storage extension).
// Stricter than the collector where it silently accepts contradictions: TLS
// files with an http:// endpoint, `tls.insecure` with an https:// one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../../../config/units.js';
import { TENANT_HEADER } from '../../../lib/tenant.js';

/** A Go-style duration (`5s`, `50ms`) or a number of milliseconds, parsed to milliseconds. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === undefined || !(ms >= 0)) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (examples: 50ms, 5s, 1m)` });
    return z.NEVER;
  }
  return ms;
});

const positiveInt = z.number().int().positive();

/** RFC 9110 token: what a header name may consist of. */
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers the exporter sets itself, from the body it sends and the transport it speaks. */
const RESERVED_HEADERS = new Set(['content-type', 'content-encoding', 'content-length', 'transfer-encoding', 'connection', 'host', 'te', 'keep-alive', 'upgrade']);

const headers = z.record(z.string(), z.string()).superRefine((map, ctx) => {
  for (const [name, value] of Object.entries(map)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `invalid header name ${JSON.stringify(name)}` });
    else if (RESERVED_HEADERS.has(lower) || lower.startsWith('grpc-')) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is set by the exporter itself` });
    // A CR or LF would let a value smuggle in further headers.
    if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'a header value must not contain CR, LF or NUL' });
  }
});

/** How an OTLP client (an exporter, a cluster peer) connects over TLS. */
export const peerTlsSchema = z.strictObject({
  /** gRPC without an http(s):// scheme: true for plaintext. */
  insecure: z.boolean().default(false),
  /** Encrypt, but do not verify the server's certificate chain and name. */
  insecure_skip_verify: z.boolean().default(false),
  /** CA certificate(s), PEM, that verify the server (default: the system's). */
  ca_file: z.string().min(1).optional(),
  /** Client certificate for mutual TLS, PEM (with key_file). */
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
});

const retryOnFailure = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Wait after the first failure. */
    initial_interval: duration.prefault('5s'),
    /** Upper bound of the wait between attempts (before randomization). */
    max_interval: duration.prefault('30s'),
    /** Give a batch up once this much time has passed since its first attempt; 0: never. */
    max_elapsed_time: duration.prefault('300s'),
    multiplier: z.number().min(1).default(1.5),
    /** Each wait is the interval ± this fraction of it, at random. */
    randomization_factor: z.number().min(0).max(1).default(0.5),
  })
  .superRefine((r, ctx) => {
    if (!r.enabled || r.max_elapsed_time === 0) return;
    // The collector's own check: a budget smaller than one wait can never retry.
    if (r.max_elapsed_time < r.initial_interval) ctx.addIssue({ code: 'custom', path: ['max_elapsed_time'], message: 'must not be less than initial_interval (or 0 for no limit)' });
    if (r.max_elapsed_time < r.max_interval) ctx.addIssue({ code: 'custom', path: ['max_elapsed_time'], message: 'must not be less than max_interval (or 0 for no limit)' });
  });

const sendingQueue = z.strictObject({
  /** false: consume() sends (with retries) before it resolves. */
  enabled: z.boolean().default(true),
  /** Batches sent concurrently. */
  num_consumers: positiveInt.default(10),
  /** Most batches held, waiting or being sent; beyond it consume() refuses as overloaded. */
  queue_size: positiveInt.default(1000),
  /** Keep queued batches in a write-ahead log under <data dir>/exporter-queue/<name>/ so a restart resends them. */
  persistent: z.boolean().default(false),
  storage: z
    .never({ error: 'Skein has no storage extensions: set `persistent: true` to keep the queue on disk under the data directory' })
    .optional(),
});

const common = {
  /** gRPC: host:port, http://host:port or https://host:port. HTTP: base URL; /v1/traces is appended. */
  endpoint: z.string().min(1).optional(),
  /** HTTP only: the full URL to POST traces to (takes precedence over endpoint). */
  traces_endpoint: z.string().min(1).optional(),
  tls: peerTlsSchema.prefault({}),
  /** Sent with every request; an X-Scope-OrgID here overrides the batch's tenant. Values are never logged. */
  headers: headers.default({}),
  compression: z.enum(['gzip', 'none']).default('gzip'),
  retry_on_failure: retryOnFailure.prefault({}),
  sending_queue: sendingQueue.prefault({}),
};

const otlpObject = z.strictObject({
  ...common,
  /** Skein extension: how `otlp` sends (the collector's `otlp` is gRPC only, `otlphttp` is HTTP). */
  protocol: z.enum(['grpc', 'http/protobuf', 'http/json']).default('grpc'),
  /** Time limit of each attempt. */
  timeout: duration.prefault('5s'),
});

const otlpHttpObject = z.strictObject({
  ...common,
  /** The collector's otlphttp body encoding. */
  encoding: z.enum(['proto', 'json']).default('proto'),
  /** Time limit of each attempt (the collector's otlphttp default). */
  timeout: duration.prefault('30s'),
});

export type OtlpExporterConfig = z.output<typeof otlpObject>;

function checkTarget(config: OtlpExporterConfig, ctx: z.RefinementCtx): void {
  const target = resolveTarget(config);
  if ('error' in target) ctx.addIssue({ code: 'custom', path: target.path, message: target.error });
}

/** The `otlp` exporter: gRPC by default, or OTLP/HTTP with `protocol`. */
export const otlpExporterSchema: z.ZodType<OtlpExporterConfig, unknown> = otlpObject.superRefine(checkTarget);

/** The `otlphttp` exporter: OTLP/HTTP, protobuf or (encoding: json) JSON bodies. */
export const otlpHttpExporterSchema: z.ZodType<OtlpExporterConfig, unknown> = otlpHttpObject
  .transform(({ encoding, ...rest }): OtlpExporterConfig => ({ ...rest, protocol: encoding === 'json' ? 'http/json' : 'http/protobuf' }))
  .superRefine(checkTarget);

export type TlsSettings = z.output<typeof peerTlsSchema>;

export type ExportTarget =
  | {
      protocol: 'grpc';
      /** host:port as grpc-js dials it. */
      address: string;
      /** Shown in logs and errors: the endpoint as configured. */
      display: string;
      secure: boolean;
    }
  | {
      protocol: 'http/protobuf' | 'http/json';
      url: URL;
      display: string;
      secure: boolean;
    };

type TargetResult = ExportTarget | { error: string; path: string[] };

/** Where and how the exporter connects; an error names the offending key. */
export function resolveTarget(config: OtlpExporterConfig): TargetResult {
  const result = config.protocol === 'grpc' ? grpcTarget(config) : httpTarget(config);
  if ('error' in result) return result;
  const t = config.tls;
  const tlsFiles = t.ca_file !== undefined || t.cert_file !== undefined || t.key_file !== undefined || t.insecure_skip_verify;
  if (!result.secure && tlsFiles) {
    return { error: 'TLS settings (ca_file, cert_file, key_file, insecure_skip_verify) need a TLS connection, but the endpoint is plaintext', path: ['tls'] };
  }
  if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
    return { error: 'cert_file and key_file go together (mutual TLS needs both)', path: ['tls', t.cert_file === undefined ? 'cert_file' : 'key_file'] };
  }
  return result;
}

function grpcTarget(config: OtlpExporterConfig): TargetResult {
  if (config.traces_endpoint !== undefined) return { error: 'traces_endpoint is for OTLP/HTTP; gRPC takes endpoint', path: ['traces_endpoint'] };
  const endpoint = config.endpoint;
  if (endpoint === undefined) return { error: 'endpoint is required (host:port)', path: ['endpoint'] };
  let address = endpoint;
  let secure = !config.tls.insecure;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme === 'https' || scheme === 'http') {
    // The scheme says what the connection is; a contradicting `insecure` is a mistake worth naming.
    if (scheme === 'https' && config.tls.insecure) return { error: 'tls.insecure: true contradicts the https:// endpoint', path: ['tls', 'insecure'] };
    secure = scheme === 'https';
    address = endpoint.slice(scheme.length + 3).replace(/\/+$/, '');
  } else if (/^dns:(\/\/\/?)?/i.test(endpoint)) {
    address = endpoint.replace(/^dns:(\/\/\/?)?/i, '');
  } else if (scheme !== undefined) {
    return { error: `unsupported scheme ${scheme}:// (use host:port, http://host:port or https://host:port)`, path: ['endpoint'] };
  }
  const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+):(\d{1,5})$/.exec(address);
  if (!hostPort || Number(hostPort[2]) > 65535) return { error: `endpoint ${JSON.stringify(endpoint)} is not host:port`, path: ['endpoint'] };
  return { protocol: 'grpc', address, display: endpoint, secure };
}

function httpTarget(config: OtlpExporterConfig): TargetResult {
  const protocol = config.protocol === 'http/json' ? 'http/json' : 'http/protobuf';
  const key = config.traces_endpoint !== undefined ? 'traces_endpoint' : 'endpoint';
  const raw = config.traces_endpoint ?? config.endpoint;
  if (raw === undefined) return { error: 'endpoint (base URL) or traces_endpoint is required', path: ['endpoint'] };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: `${JSON.stringify(raw)} is not a URL`, path: [key] };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `the URL must be http:// or https://, got ${url.protocol}//`, path: [key] };
  if (url.username || url.password) return { error: 'put credentials in headers, not in the URL (URLs end up in logs)', path: [key] };
  if (config.tls.insecure && url.protocol === 'https:') {
    return { error: 'tls.insecure: true contradicts the https:// URL (use http:// for plaintext, insecure_skip_verify to skip verification)', path: ['tls', 'insecure'] };
  }
  if (key === 'endpoint') url = new URL(`${raw.replace(/\/+$/, '')}/v1/traces`);
  // Shown in logs: without the query, which some gateways use for API keys.
  return { protocol, url, display: `${url.origin}${url.pathname}`, secure: url.protocol === 'https:' };
}

/**
 * The headers of a request carrying `tenant`'s spans, names in lower case:
 * the configured ones, plus X-Scope-OrgID with the tenant unless the
 * configuration sets it.
 */
export function requestHeaders(configured: Record<string, string>, tenant: string): Record<string, string> {
  const out: Record<string, string> = { [TENANT_HEADER]: tenant };
  for (const [name, value] of Object.entries(configured)) out[name.toLowerCase()] = value;
  return out;
}

/** `<dataDir>/exporter-queue/<name with / replaced by _>`: one persistent queue per configured exporter. */
export function persistentQueueDir(dataDir: string, exporterName: string): string {
  return join(dataDir, 'exporter-queue', exporterName.replaceAll('/', '_'));
}

/** The PEM files the TLS settings name, read (at start, so a missing file fails the start with its path); `what` names the settings' owner in the error. */
export async function readTlsFiles(tls: TlsSettings, what = 'otlp exporter'): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const read = async (path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      throw new Error(`${what}: cannot read TLS file ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const [ca, cert, key] = await Promise.all([read(tls.ca_file), read(tls.cert_file), read(tls.key_file)]);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}
