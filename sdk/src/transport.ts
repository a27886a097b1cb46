// The OTLP exporter the kit sends with, and the credentials the code gives it:
// headers (gRPC metadata) and TLS files. The standard variables
// (OTEL_EXPORTER_OTLP_HEADERS, …_CERTIFICATE, …_CLIENT_CERTIFICATE,
// …_CLIENT_KEY) are read by the exporters themselves; the kit passes only what
// the code gave, which wins over them as the exporters' own precedence says.
import { readFileSync } from 'node:fs';
import { credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { ExportSettings } from './config.js';

/** PEM files for TLS to an https:// endpoint. */
export interface ExportTls {
  /** The CA that signed the collector's certificate, when the system's CAs do not. */
  caFile?: string;
  /** A client certificate and its key, for a collector that asks for one (mTLS); both or neither. */
  certFile?: string;
  keyFile?: string;
}

/** What goes with every export besides the spans. */
export interface ExportCredentials {
  headers: Readonly<Record<string, string>>;
  /** Undefined: the exporter's own TLS settings (system CAs, or the OTEL_EXPORTER_OTLP_* files). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** The header naming the tenant: not a secret, and the name a refusal quotes back. */
const TENANT_HEADER = 'x-scope-orgid';

/**
 * The credentials of the code's options; a header or file the exporter could not use is left
 * out with one message in `problems` that names it (never a header's value).
 */
export function exportCredentials(
  target: ExportSettings,
  headers: Readonly<Record<string, string>> = {},
  tls: ExportTls | undefined,
  problems: string[],
): ExportCredentials {
  const usable: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // gRPC metadata is stricter than HTTP/1.1 headers; one check for both keeps the kit's behaviour the same over either.
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.toLowerCase().endsWith('-bin')) {
      problems.push(`headers: ${JSON.stringify(name)} is not a header name the exporter can send (letters, digits, - _ .); left out`);
    } else if (!/^[\x20-\x7e]*$/.test(value)) {
      problems.push(`headers: the value of ${JSON.stringify(name)} has characters a header cannot carry (printable ASCII only); left out`);
    } else {
      usable[name.toLowerCase()] = value;
    }
  }
  if (tls === undefined) return { headers: usable };
  if (!target.url.startsWith('https:')) {
    problems.push(`tls is set but the endpoint ${target.url} is not https://: spans are sent without TLS`);
    return { headers: usable };
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    problems.push('tls: certFile and keyFile go together (a client certificate and its key); neither is used');
    return { headers: usable, tls: { ca: pem('tls.caFile', tls.caFile, problems) } };
  }
  return {
    headers: usable,
    tls: { ca: pem('tls.caFile', tls.caFile, problems), cert: pem('tls.certFile', tls.certFile, problems), key: pem('tls.keyFile', tls.keyFile, problems) },
  };
}

function pem(what: string, path: string | undefined, problems: string[]): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    problems.push(`${what}=${JSON.stringify(path)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); exporting without it`);
    return undefined;
  }
}

export function otlpExporter(target: ExportSettings, creds: ExportCredentials): SpanExporter {
  const base = { url: target.url, timeoutMillis: target.timeoutMillis };
  const { tls } = creds;
  const hasHeaders = Object.keys(creds.headers).length > 0;
  switch (target.protocol) {
    case 'grpc': {
      let metadata: Metadata | undefined;
      if (hasHeaders) {
        metadata = new Metadata();
        for (const [name, value] of Object.entries(creds.headers)) metadata.set(name, value);
      }
      const credentials = tls ? grpcCredentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null) : undefined;
      return new GrpcExporter({ ...base, metadata, credentials });
    }
    case 'http/protobuf':
    case 'http/json': {
      const config = {
        ...base,
        headers: hasHeaders ? { ...creds.headers } : undefined,
        // Given here, these replace the agent the exporter would build from the environment.
        httpAgentOptions: tls ? { keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key } : undefined,
      };
      return target.protocol === 'http/protobuf' ? new ProtoExporter(config) : new JsonExporter(config);
    }
  }
}

/**
 * Every header value a log line must not show: those of the code's headers and of
 * OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_TRACES_HEADERS in each of `envs` (the
 * exporter reads process.env whatever the kit's `env` option says), and the credential after
 * an `Authorization` scheme (a server may quote the token alone). The tenant header is not
 * secret, and refusals name the tenant.
 */
export function headerSecrets(headers: Readonly<Record<string, string>>, envs: readonly NodeJS.ProcessEnv[]): string[] {
  const pairs = [
    ...envs.flatMap((env) => [
      ...Object.entries(parseKeyPairsIntoRecord(env['OTEL_EXPORTER_OTLP_HEADERS'])),
      ...Object.entries(parseKeyPairsIntoRecord(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'])),
    ]),
    ...Object.entries(headers),
  ];
  const secrets = new Set<string>();
  for (const [name, value] of pairs) {
    if (name.toLowerCase() === TENANT_HEADER) continue;
    const v = value.trim();
    if (v === '') continue;
    secrets.add(v);
    const credential = /^[A-Za-z][\w-]*\s+(\S.*)$/.exec(v)?.[1];
    if (credential !== undefined) secrets.add(credential);
  }
  // Longest first, so a whole "Bearer …" is replaced before the token inside it.
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.replaceAll(s, '[redacted]');
  return out;
}
