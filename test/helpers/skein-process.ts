// Starts a real Skein server as a child process (the built CLI), on free
// loopback ports, and waits until it reports that it is ready. Tests and
// benchmarks share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { get as httpsGet } from 'node:https';

/** dist/src/cli/main.js, found from this file's compiled location (dist/test/helpers). */
export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface SkeinProcess {
  child: ChildProcess;
  dataDir: string;
  /** Base URL of the query API, e.g. http://127.0.0.1:41234 (https:// when it speaks TLS). */
  url: string;
  /** host:port of the OTLP gRPC receiver. */
  grpcAddr: string;
  /** Base URL of the OTLP HTTP receiver (https:// when it speaks TLS). */
  otlpHttpUrl: string;
  /** Base URL of the Zipkin receiver, when it is enabled. */
  zipkinUrl: string | undefined;
  /** The listeners the ready line says speak TLS (`http`, `otlpGrpc`, `otlpHttp`, `zipkin`). */
  tls: string[];
  /** Every log line the process printed, parsed (non-JSON lines as {raw}). */
  logs: Array<Record<string, unknown>>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit (crash simulation). */
  kill(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  /** YAML text written to a config file passed with --config. */
  configYaml?: string;
  env?: Record<string, string>;
  args?: string[];
  /** Wait for /ready as well as for the ready log line (default true). */
  waitReady?: boolean;
  timeoutMs?: number;
  /** A command that runs the server (e.g. `unshare … sh -c '…; exec "$@"' sh`): the node command line is appended to it. */
  wrap?: string[];
  /** When the API speaks TLS: the CA (PEM) /ready is asked trusting, and a client certificate if it wants one. */
  tls?: ReadyTls;
  /** The CLI to run instead of this build's CLI_PATH: another build's, for a benchmark's baseline. */
  cliPath?: string;
}

export interface ReadyTls {
  ca: string;
  cert?: string;
  key?: string;
}

export function tempDir(prefix = 'skein-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startSkein(opts: StartOptions = {}): Promise<SkeinProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const args = [opts.cliPath ?? CLI_PATH, 'serve', '--data-dir', dataDir, ...(opts.args ?? [])];
  if (opts.configYaml !== undefined) {
    const file = join(tempDir('skein-config-'), 'skein.yaml');
    writeFileSync(file, opts.configYaml);
    args.push('--config', file);
  }
  const [command, ...commandArgs] = [...(opts.wrap ?? []), process.execPath, ...args];
  const child = spawn(command!, commandArgs, {
    env: {
      ...process.env,
      SKEIN_HTTP_ADDR: '127.0.0.1:0',
      SKEIN_OTLP_GRPC_ADDR: '127.0.0.1:0',
      SKEIN_OTLP_HTTP_ADDR: '127.0.0.1:0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const onLine = (line: string) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { raw: line };
      }
      logs.push(rec);
      if (rec['msg'] === 'skein ready') resolve(rec);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) =>
      reject(new Error(`skein exited with ${code} before it was ready:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`)),
    );
  });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const rec = await Promise.race([
    ready,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`skein not ready after ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const tls = Array.isArray(rec['tls']) ? (rec['tls'] as string[]) : [];
  const base = (listener: string) => `${tls.includes(listener) ? 'https' : 'http'}://${String(rec[listener])}`;
  const proc: SkeinProcess = {
    child,
    dataDir,
    url: base('http'),
    grpcAddr: String(rec['otlpGrpc']),
    otlpHttpUrl: base('otlpHttp'),
    zipkinUrl: rec['zipkin'] === undefined ? undefined : base('zipkin'),
    tls,
    logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  if (opts.waitReady !== false) await waitForReady(proc.url, timeoutMs, opts.tls);
  return proc;
}

/** Polls `<url>/ready` until it answers 200; an https:// URL is asked as `tls` says. */
export async function waitForReady(url: string, timeoutMs = 30_000, tls?: ReadyTls): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const status = (): Promise<number> =>
    url.startsWith('https:')
      ? new Promise((resolve, reject) => {
          httpsGet(`${url}/ready`, { ...tls, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        })
      : fetch(`${url}/ready`).then((res) => res.status);
  for (;;) {
    try {
      if ((await status()) === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/ready did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
