// How every `skein` command that asks a running Skein reaches its query API: one set of
// flags (server, tenant, token, TLS files, timeout), one request helper, and one way of
// saying what went wrong, always naming the server: "cannot reach" (nothing answered: refused,
// no such host, no connection in time, a failed handshake) apart from what the server answered
// (a refusal, a 404, an answer that is not Skein's). node:https rather than fetch, because
// fetch takes no CA or client certificate without a dispatcher from a package of its own.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Option, type Command } from 'commander';
import { formatDuration, parseDuration } from '../config/units.js';
import { CliError } from './cli-error.js';
import { LOCAL_API_HELP, localSkein } from './local-server.js';

/**
 * How long a TCP connection may take. A host that drops the SYN would otherwise keep the
 * command waiting for the kernel's retries (minutes); one that is up answers in far less.
 */
const CONNECT_TIMEOUT_MS = 5000;

export interface ServerOptions {
  /** None: the local Skein (local-server.ts). */
  server?: string;
  /** How long to wait for the answer once connected, e.g. `30s`. */
  timeout: string;
  tenant?: string;
  token?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Adds the flags of ServerOptions to a command. */
export function withServerOptions(command: Command): Command {
  return command
    .option('--server <url>', `Skein query API, http:// or https:// (default: ${LOCAL_API_HELP})`)
    .option('--timeout <duration>', 'how long to wait for the answer once connected', '30s')
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

/** Why a request was given up by us rather than failed by the network. */
class GaveUp extends Error {
  constructor(readonly phase: 'connect' | 'answer') {
    super(phase);
  }
}

/** The server the options name, without trailing slashes: what every message calls it. */
function serverOf(opts: ServerOptions): string {
  return (opts.server ?? localSkein().api).replace(/\/+$/, '');
}

/**
 * GETs a path of the query API with the options' tenant, token and TLS files. A status
 * other than 2xx (or one of `expected`), a refused credential and an unreachable server are
 * CliErrors saying so and naming the server; none repeats the token. `server` in the result
 * is that name, for the caller's own messages.
 */
export async function getFromServer(opts: ServerOptions, path: string, expected: number[] = []): Promise<{ server: string; status: number; body: string }> {
  const server = serverOf(opts);
  const url = new URL(`${baseUrl(server).href.replace(/\/+$/, '')}${path}`);
  const timeoutMs = parseDuration(opts.timeout);
  if (timeoutMs === undefined || timeoutMs <= 0) throw new CliError(`invalid --timeout ${JSON.stringify(opts.timeout)}: expected a duration such as 30s or 2m`);
  const headers: Record<string, string> = {};
  if (opts.tenant) headers['x-scope-orgid'] = opts.tenant;
  if (opts.token) {
    if (!/^[\x21-\x7e]+$/.test(opts.token)) throw new CliError('--token (or SKEIN_TOKEN) must be printable ASCII without spaces: the token alone, without "Bearer"');
    headers['authorization'] = `Bearer ${opts.token}`;
  }
  if ((opts.certFile ? 1 : 0) + (opts.keyFile ? 1 : 0) === 1) throw new CliError('--cert-file and --key-file go together: a client certificate and its key');
  const https = url.protocol === 'https:';
  const tls = https ? { ca: readPem('--ca-file', opts.caFile), cert: readPem('--cert-file', opts.certFile), key: readPem('--key-file', opts.keyFile) } : {};

  // Set when a deadline passed: the error the request then fails with (its own, or a response's "aborted") is ours.
  let gaveUp: GaveUp | undefined;
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = (req: ClientRequest, phase: GaveUp['phase'], ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        gaveUp = new GaveUp(phase);
        req.destroy(gaveUp);
      }, ms);
    };
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    giveUp(req, 'connect', CONNECT_TIMEOUT_MS);
    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => giveUp(req, 'answer', timeoutMs));
      else giveUp(req, 'answer', timeoutMs);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  }).catch((err: NodeJS.ErrnoException) => {
    if (gaveUp?.phase === 'answer') {
      throw new CliError(`${server} did not answer GET ${url.pathname} within ${formatDuration(timeoutMs)}; pass a longer --timeout if it is busy`);
    }
    throw new CliError(`cannot reach ${server}: ${describeFailure(gaveUp ?? err, url)}`);
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
  if ((res.status < 200 || res.status > 299) && !expected.includes(res.status)) {
    // Skein's own refusals (a bad query …) explain themselves; a 404 or a bare status may be another server's.
    if (res.status === 404 || reason === '') throw new CliError(`${server} answered ${res.status} to GET ${url.pathname}: ${reason || 'an empty body'}; ${NOT_SKEIN}`);
    throw new CliError(`${server} answered ${res.status}: ${reason}`);
  }
  return { server, status: res.status, body };
}

/** What a message adds when the answer does not look like Skein's. */
export const NOT_SKEIN = "is it Skein's query API? pass --server or set SKEIN_HTTP_ADDR";

/** GETs a path that answers JSON; an answer that is not JSON is a CliError naming the server. */
export async function getJsonFromServer<T>(opts: ServerOptions, path: string): Promise<{ server: string; answer: T; body: string }> {
  const { server, body } = await getFromServer(opts, path);
  try {
    return { server, answer: JSON.parse(body) as T, body };
  } catch {
    const excerpt = body.trim().slice(0, 80);
    throw new CliError(`${server} answered GET ${path.split('?')[0]} with something that is not JSON (${excerpt === '' ? 'an empty body' : JSON.stringify(excerpt)}): ${NOT_SKEIN}`);
  }
}

/** Failures that mean "nothing answered at that address", in the user's words. */
const UNREACHABLE: Record<string, (url: URL) => string> = {
  ECONNREFUSED: (u) => `connection refused: nothing listens on ${u.host}; is Skein running there?`,
  ENOTFOUND: (u) => `the host name ${u.hostname} does not resolve (DNS)`,
  EAI_AGAIN: (u) => `the host name ${u.hostname} could not be resolved now (DNS: EAI_AGAIN)`,
  EHOSTUNREACH: (u) => `no route to ${u.hostname} (EHOSTUNREACH)`,
  ENETUNREACH: (u) => `no route to ${u.hostname} (ENETUNREACH)`,
};

/** What went wrong reaching the server, with what to pass when it is a TLS setting of ours. */
function describeFailure(err: NodeJS.ErrnoException, url: URL): string {
  if (err instanceof GaveUp) return `no connection to ${url.host} within ${formatDuration(CONNECT_TIMEOUT_MS)}`;
  const code = err.code ?? '';
  const unreachable = UNREACHABLE[code];
  if (unreachable) return unreachable(url);
  if (UNTRUSTED.has(code)) return `${err.message}; pass --ca-file (or set SKEIN_CA_FILE) with the CA that signed the server's certificate`;
  // OpenSSL's own text for these is a line of library internals.
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)) {
    return `the server refused the TLS handshake (${code}): it asks for a client certificate it trusts; pass --cert-file and --key-file`;
  }
  return err.message;
}
