// How every `skein` command that asks a running Skein reaches its query API: one set of
// flags (server, tenant, token, TLS files), one request helper, and one way of saying
// what a refusal or a failed handshake means. node:https rather than fetch, because
// fetch takes no CA or client certificate without a dispatcher from a package of its own.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Option, type Command } from 'commander';
import { CliError } from './cli-error.js';

export interface ServerOptions {
  server: string;
  tenant?: string;
  token?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Adds the flags of ServerOptions to a command. */
export function withServerOptions(command: Command): Command {
  return command
    .option('--server <url>', 'Skein query API, http:// or https://', `http://${process.env['SKEIN_HTTP_ADDR'] ?? '127.0.0.1:3200'}`)
    .option('--tenant <id>', 'tenant (X-Scope-OrgID); a|b reads several where the credential allows each')
    .addOption(new Option('--token <token>', 'bearer token sent as Authorization: Bearer (the variable keeps it out of ps and shell history)').env('SKEIN_TOKEN'))
    .addOption(new Option('--ca-file <file>', "PEM file of the CA that signed an https:// server's certificate").env('SKEIN_CA_FILE'))
    .addOption(new Option('--cert-file <file>', 'PEM client certificate, for a server that asks for one (mTLS)').env('SKEIN_CERT_FILE'))
    .addOption(new Option('--key-file <file>', "the client certificate's PEM key").env('SKEIN_KEY_FILE'));
}

/** TLS handshake failures that mean "the server's CA is not trusted here". */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function baseUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError(`--server ${JSON.stringify(server)} is not a URL: expected e.g. http://127.0.0.1:3200`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server ${JSON.stringify(server)} is not an http:// or https:// URL`);
  return url;
}

/**
 * GETs a path of the query API with the options' tenant, token and TLS files. A status
 * other than 2xx (or one of `expected`), a refused credential and an unreachable server are
 * CliErrors saying so; none repeats the token.
 */
export async function getFromServer(opts: ServerOptions, path: string, expected: number[] = []): Promise<{ status: number; body: string }> {
  const server = opts.server.replace(/\/+$/, '');
  const url = new URL(`${baseUrl(server).href.replace(/\/+$/, '')}${path}`);
  const headers: Record<string, string> = {};
  if (opts.tenant) headers['x-scope-orgid'] = opts.tenant;
  if (opts.token) {
    if (!/^[\x21-\x7e]+$/.test(opts.token)) throw new CliError('--token (or SKEIN_TOKEN) must be printable ASCII without spaces: the token alone, without "Bearer"');
    headers['authorization'] = `Bearer ${opts.token}`;
  }
  if ((opts.certFile ? 1 : 0) + (opts.keyFile ? 1 : 0) === 1) throw new CliError('--cert-file and --key-file go together: a client certificate and its key');
  const https = url.protocol === 'https:';
  const tls = https ? { ca: readPem('--ca-file', opts.caFile), cert: readPem('--cert-file', opts.certFile), key: readPem('--key-file', opts.keyFile) } : {};

  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  }).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot reach ${server}: ${describeFailure(err)}`);
  });

  // Skein never quotes a credential back; a proxy in front of it might.
  const body = opts.token ? res.body.replaceAll(opts.token, '[redacted]') : res.body;
  const reason = body.trim();
  if (res.status === 401) {
    throw new CliError(
      opts.token
        ? `${server} refused the token (401)${reason ? `: ${reason}` : ''}`
        : `${server} refused the request: authentication required (401); pass --token or set SKEIN_TOKEN`,
    );
  }
  if (res.status === 403) throw new CliError(`${server} refused the request (403)${reason ? `: ${reason}` : ''}`);
  if ((res.status < 200 || res.status > 299) && !expected.includes(res.status)) throw new CliError(`${server} answered ${res.status}: ${body}`);
  return { status: res.status, body: res.body };
}

/** What went wrong reaching the server, with what to pass when it is a TLS setting of ours. */
function describeFailure(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (UNTRUSTED.has(code)) return `${err.message}; pass --ca-file (or set SKEIN_CA_FILE) with the CA that signed the server's certificate`;
  // OpenSSL's own text for these is a line of library internals.
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)) {
    return `the server refused the TLS handshake (${code}): it asks for a client certificate it trusts; pass --cert-file and --key-file`;
  }
  return err.message;
}
