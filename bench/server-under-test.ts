// A fresh Skein server per measurement run, in its own temporary data
// directory, removed afterwards. Servers still running when the bench is
// interrupted are killed, so that none outlive it. A server runs this build,
// or another commit's built tree: a baseline measured in the same run.
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commitOf, REPO_ROOT } from './machine.js';
import { startSkein, tempDir, type SkeinProcess, type StartOptions } from '../test/helpers/skein-process.js';
import { startCluster, type Cluster, type ClusterOptions } from '../test/helpers/cluster.js';

const running = new Set<SkeinProcess>();

export interface ServerUnderTest {
  proc: SkeinProcess;
  pid: number;
}

/** Which Skein a server runs: the CLI of a built tree (`npm run build` in a checkout of some commit). */
export interface ServerBuild {
  name: 'current' | 'baseline';
  dir: string;
  /** Its dist/src/cli/main.js; undefined for this build (startSkein's own CLI_PATH). */
  cliPath?: string;
  /** The commit checked out there, when the tree is a git checkout. */
  commit: string | undefined;
}

export function currentBuild(): ServerBuild {
  return { name: 'current', dir: REPO_ROOT, commit: commitOf(REPO_ROOT) };
}

/**
 * Another build to measure against, e.g. `git worktree add --detach /tmp/base <commit>`,
 * node_modules copied or linked in, `npm run build` there. Its server is started with
 * the same options as this build's.
 */
export function baselineBuild(dir: string): ServerBuild {
  const root = resolve(dir);
  const cliPath = join(root, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(cliPath)) throw new Error(`--baseline ${dir}: no ${cliPath}; build that tree first (npm ci or link node_modules, then npm run build there)`);
  if (!existsSync(join(root, 'node_modules'))) throw new Error(`--baseline ${dir}: no node_modules there; its server cannot load its dependencies`);
  return { name: 'baseline', dir: root, cliPath, commit: commitOf(root) };
}

export async function startFreshServer(opts: StartOptions = {}): Promise<ServerUnderTest> {
  const dataDir = tempDir('skein-bench-');
  let proc: SkeinProcess;
  try {
    proc = await startSkein({ timeoutMs: 60_000, ...opts, dataDir });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  running.add(proc);
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error('skein started without a pid');
  return { proc, pid };
}

export async function stopServer(server: ServerUnderTest): Promise<void> {
  try {
    await server.proc.stop();
  } finally {
    running.delete(server.proc);
    rmSync(server.proc.dataDir, { recursive: true, force: true });
  }
}

/** Stops and cleans up after `fn`, whatever it does. */
export async function withFreshServer<T>(fn: (server: ServerUnderTest) => Promise<T>, opts: StartOptions = {}): Promise<T> {
  const server = await startFreshServer(opts);
  try {
    return await fn(server);
  } finally {
    await stopServer(server);
  }
}

/** A fresh cluster (test/helpers/cluster.ts) whose processes the signal handlers kill too. */
export async function startFreshCluster(opts: ClusterOptions): Promise<Cluster> {
  const cluster = await startCluster({ timeoutMs: 60_000, ...opts });
  for (const inst of cluster.instances) running.add(inst.proc!);
  return cluster;
}

/** Stops every instance and removes their data directories. */
export async function stopCluster(cluster: Cluster): Promise<void> {
  const procs = cluster.instances.map((inst) => inst.proc).filter((p) => p !== undefined);
  try {
    await cluster.close();
  } finally {
    for (const proc of procs) {
      running.delete(proc);
      rmSync(proc.dataDir, { recursive: true, force: true });
    }
  }
}

/** For signal handlers: kill whatever this process started (and only that). */
export function killStartedServers(): void {
  for (const proc of running) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    rmSync(proc.dataDir, { recursive: true, force: true });
  }
  running.clear();
}
