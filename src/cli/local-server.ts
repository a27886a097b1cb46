// Where the Skein on this machine listens, as `skein serve` would be configured in the same
// shell: the file SKEIN_CONFIG names, with the SKEIN_*_ADDR variables over it. The commands
// that ask a server default to it, and `npm run example` points its hint and its exporter at it,
// so a changed address is followed everywhere instead of `127.0.0.1:3200` being assumed.
import { loadConfig } from '../config/load.js';
import { joinHostPort, splitHostPort } from '../net/http-server.js';
import type { SkeinConfig } from '../config/schema.js';
import { CliError } from './cli-error.js';

export interface LocalSkein {
  /** The query API and web UI, e.g. `http://127.0.0.1:3200`. */
  api: string;
  /** The OTLP receivers, as an OpenTelemetry SDK's OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpGrpc: string;
  otlpHttp: string;
}

/** A listen address as a client on the same host dials it: a wildcard host means loopback. */
function dialable(listen: string, tls: boolean): string {
  const { host, port } = splitHostPort(listen);
  const local = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${tls ? 'https' : 'http'}://${joinHostPort(local, port)}`;
}

/** From a loaded configuration (the caller decides where it came from). */
export function localSkeinOf(config: SkeinConfig): LocalSkein {
  const { grpc, http } = config.receivers.otlp.protocols;
  return {
    api: dialable(config.server.http_listen_address, config.server.tls !== undefined),
    otlpGrpc: dialable(grpc.endpoint, grpc.tls !== undefined),
    otlpHttp: dialable(http.endpoint, http.tls !== undefined),
  };
}

/**
 * The addresses of the Skein `skein serve` would run in this environment. A configuration
 * that does not load is a CliError saying so: the user gave no --server to use instead.
 */
export function localSkein(env: NodeJS.ProcessEnv = process.env): LocalSkein {
  try {
    return localSkeinOf(loadConfig({ file: env['SKEIN_CONFIG'], env }));
  } catch (err) {
    throw new CliError(`cannot tell where the local Skein listens (${(err as Error).message}); pass its URL instead`);
  }
}

/** How the flags' help names the default. */
export const LOCAL_API_HELP = 'the address SKEIN_HTTP_ADDR or the file SKEIN_CONFIG gives, else http://127.0.0.1:3200';
