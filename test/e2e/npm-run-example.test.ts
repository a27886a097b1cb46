// `npm run example` as a newcomer runs it beside a Skein started with `npm start` from the same
// dist/: it starts what is built without building it again (no UI build replacing the assets
// Skein serves, no compile when nothing changed), and its hint and its exporter follow the
// address Skein is configured with (SKEIN_HTTP_ADDR, SKEIN_OTLP_*_ADDR), not a fixed 127.0.0.1:3200.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { reservePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/poll.js';

// dist/test/e2e → repository root.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `npm run example`'s command, run from the repository root with `env` over this environment. */
function runExample(env: Record<string, string | undefined>): Run {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['example']!;
  const [command, ...args] = script.split(' ');
  assert.equal(command, 'node', script);
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return run.exited;
    },
  };
  createInterface({ input: child.stdout! }).on('line', (l) => run.stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => run.stderr.push(l));
  return run;
}

async function hint(run: Run): Promise<string> {
  return waitFor('the example\'s hint', async () => {
    if ((await Promise.race([run.exited, Promise.resolve('running')])) !== 'running') {
      throw new Error(`npm run example exited:\n${[...run.stdout, ...run.stderr].join('\n')}`);
    }
    return run.stdout.find((l) => l.includes('find the traces in Skein'));
  }, 150_000);
}

test('npm run example: runs what is built without rebuilding it, and points at the configured Skein', async () => {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['example']!;
  assert.ok(!script.includes('npm run build'), `scripts.example builds everything: ${script}`);
  // The UI Skein serves from dist/ui must not be rebuilt under it.
  const uiIndex = join(ROOT, 'dist', 'ui', 'index.html');
  const uiBefore = existsSync(uiIndex) ? statSync(uiIndex).mtimeMs : undefined;

  const [api, grpc, http] = await reservePorts(3);
  const common = { API_PORT: '0', BACKEND_PORT: '0', SKEIN_CONFIG: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: undefined };

  // The first run may compile, if the sources changed since the last build.
  const first = runExample({ ...common, SKEIN_HTTP_ADDR: `0.0.0.0:${api}`, SKEIN_OTLP_GRPC_ADDR: `127.0.0.1:${grpc}`, OTEL_EXPORTER_OTLP_PROTOCOL: undefined });
  try {
    const line = await hint(first);
    assert.ok(line.includes(`spans go to http://127.0.0.1:${grpc}; `), line);
    assert.ok(line.includes(`find the traces in Skein: http://127.0.0.1:${api}/ `), line);
  } finally {
    assert.equal(await first.stop(), 0, first.stderr.join('\n'));
  }

  // Built now: the second run compiles nothing. Over OTLP/HTTP, the HTTP receiver's address.
  const second = runExample({ ...common, SKEIN_HTTP_ADDR: `127.0.0.1:${api}`, SKEIN_OTLP_HTTP_ADDR: `127.0.0.1:${http}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
  try {
    const line = await hint(second);
    assert.ok(line.includes(`spans go to http://127.0.0.1:${http}; `), line);
    assert.deepEqual(second.stderr.filter((l) => l.startsWith('compiling')), [], 'nothing compiled when nothing changed');
  } finally {
    assert.equal(await second.stop(), 0, second.stderr.join('\n'));
  }
  assert.equal(existsSync(uiIndex) ? statSync(uiIndex).mtimeMs : undefined, uiBefore, 'dist/ui was not rebuilt');
});
