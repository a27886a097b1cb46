// A fresh Skein server per measurement run, in its own temporary data
// directory, removed afterwards. Servers still running when the bench is
// interrupted are killed, so that none outlive it.
import { rmSync } from 'node:fs';
import { startSkein, tempDir, type SkeinProcess, type StartOptions } from '../test/helpers/skein-process.js';
import { startCluster, type Cluster, type ClusterOptions } from '../test/helpers/cluster.js';

const running = new Set<SkeinProcess>();

export interface ServerUnderTest {
  proc: SkeinProcess;
  pid: number;
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
