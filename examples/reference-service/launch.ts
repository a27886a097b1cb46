// Starts the reference API and its backend as two processes (so every trace
// crosses a process boundary) and stops them. `npm run example` and the
// end-to-end tests both use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface ReferenceService {
  apiUrl: string;
  backendUrl: string;
  /** Every line each process printed so far. */
  logs: { api: string[]; backend: string[] };
  /** SIGTERM to both (they flush their spans) and their exit codes. */
  stop(): Promise<{ api: number | null; backend: number | null }>;
}

export interface LaunchOptions {
  /** 0 picks a free port. */
  apiPort?: number;
  backendPort?: number;
  /** Added to both processes' environment (OTEL_*, LOG_FORMAT …). */
  env?: Record<string, string>;
  /** Copy the processes' output to this process's. */
  echo?: boolean;
  timeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Child {
  process: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function start(script: string, env: Record<string, string>, echo: boolean, label: string): Child {
  const child = spawn(process.execPath, [join(HERE, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (echo) console.log(`[${label}] ${line}`);
    });
  }
  return { process: child, lines, exited };
}

async function waitHealthy(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${url}: the process exited with ${child.process.exitCode}:\n${child.lines.join('\n')}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/healthz did not answer within ${timeoutMs} ms:\n${child.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: Child): Promise<number | null> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return child.process.exitCode;
  child.process.kill('SIGTERM');
  return child.exited;
}

export async function launchReferenceService(opts: LaunchOptions = {}): Promise<ReferenceService> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const apiPort = opts.apiPort === 0 ? await freePort() : (opts.apiPort ?? 8080);
  const backendPort = opts.backendPort === 0 ? await freePort() : (opts.backendPort ?? 8081);
  const backendUrl = `http://127.0.0.1:${backendPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const env = opts.env ?? {};
  const backend = start('backend.js', { ...env, HOST: '127.0.0.1', PORT: String(backendPort) }, opts.echo ?? false, 'backend');
  let api: Child | undefined;
  try {
    await waitHealthy(backendUrl, backend, timeoutMs);
    api = start('api.js', { ...env, HOST: '127.0.0.1', PORT: String(apiPort), BACKEND_URL: backendUrl }, opts.echo ?? false, 'api');
    await waitHealthy(apiUrl, api, timeoutMs);
  } catch (err) {
    if (api) await stopChild(api);
    await stopChild(backend);
    throw err;
  }
  const a = api;
  return {
    apiUrl,
    backendUrl,
    logs: { api: a.lines, backend: backend.lines },
    async stop() {
      // The API first: its last requests may still be calling the backend.
      const apiCode = await stopChild(a);
      return { api: apiCode, backend: await stopChild(backend) };
    },
  };
}
